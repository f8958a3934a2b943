"""`genomesh node findings ...`: the custodian's side of the return of individual findings,
and the community report, working on the node folder directly (as the admin API does over
HTTP; see genomesh.node.findings_routes).

    genomesh node findings DIR [--state pending_review]      the queue
    genomesh node finding-review DIR ID --decision accept|decline|ask_confirmation [--comment]
    genomesh node finding-deliver DIR ID [--message]
    genomesh node findings-preferences DIR --individual ID --category C ... [--via] [--contact]
    genomesh node community-report DIR COMMUNITY
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from genomesh.cli.apps import node_app
from genomesh.cli.layout import print_rows
from genomesh.cli.shared import open_gate, utc_iso

NodeDir = Annotated[Path, typer.Argument(help="the node folder")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print the raw JSON")]
console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)


def _queue(node_dir: Path) -> tuple[Any, Any]:
    from genomesh.participants.findings import Findings

    gate = open_gate(node_dir)
    settings = gate.settings
    return gate, Findings(
        gate.state,
        custodian_contact=settings.custodian_contact,
        genetic_counselling=settings.genetic_counselling,
    )


def _tell_researcher(settings: Any, view: dict[str, Any]) -> None:
    """Tell the flagging researcher through the hub, as the node's API does; a failure is
    reported (the review stands) with how to reach them."""
    from genomesh.participants.findings_notice import tell_hub

    outcome = tell_hub(settings, view)
    if outcome == "delivered":
        console.print("the researcher was told in their hub inbox")
    elif outcome == "local_only":
        console.print("no hub configured (GENOMESH_HUB_URL): the researcher was not told")
    elif outcome != "none":
        err_console.print(f"the researcher was NOT told: {outcome}")


def _show(finding: dict[str, Any]) -> None:
    console.print(
        Text(
            f"finding {finding['id']}: {finding['state']} ({finding['category']}, "
            f"{finding['dataset_id']}/{finding['individual_id']})"
        )
    )


@node_app.command("findings")
def findings(
    node_dir: NodeDir,
    state: Annotated[str | None, typer.Option(help="only findings in this state")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The findings researchers flagged, for the custodian's review."""
    _, queue = _queue(node_dir)
    rows = queue.queue(state=state)
    if as_json:
        console.print_json(json.dumps(rows, default=str))
        return
    print_rows(
        console,
        ["id", "state", "dataset", "individual", "category", "summary", "from", "flagged"],
        [
            [
                str(r["id"]),
                r["state"],
                r["dataset_id"],
                r["individual_id"],
                r["category"],
                r["summary"],
                f"{r['sender']['username']} ({r['sender']['institution'] or '-'})",
                utc_iso(r["created_at"]),
            ]
            for r in rows
        ],
        title="findings",
        keep=["id", "state", "dataset", "individual", "category"],
    )


@node_app.command("finding-review")
def finding_review(
    node_dir: NodeDir,
    finding_id: Annotated[int, typer.Argument(min=1)],
    decision: Annotated[str, typer.Option(help="accept, decline or ask_confirmation")],
    comment: Annotated[str, typer.Option(help="why (needed to decline or ask)")] = "",
    by: Annotated[str, typer.Option(help="who reviews (recorded)")] = "custodian",
) -> None:
    """Accept, decline or ask the researcher to confirm a flagged finding."""
    from genomesh.core.errors import InvalidInputError

    if decision not in ("accept", "decline", "ask_confirmation"):
        raise InvalidInputError(
            f"--decision {decision!r}: accept, decline or ask_confirmation", field="--decision"
        )
    gate, queue = _queue(node_dir)
    out = queue.review(finding_id, decision, by=by, comment=comment)  # type: ignore[arg-type]
    _show(out)
    _tell_researcher(gate.settings, out)


@node_app.command("finding-deliver")
def finding_deliver(
    node_dir: NodeDir,
    finding_id: Annotated[int, typer.Argument(min=1)],
    message: Annotated[str, typer.Option(help="a note to the participant")] = "",
    by: Annotated[str, typer.Option(help="who delivers (recorded)")] = "custodian",
) -> None:
    """Deliver an accepted finding to the participant's page (with the counselling offer)."""
    gate, queue = _queue(node_dir)
    row = queue.get(finding_id)
    withdrawn = row.individual_id in gate.state.withdrawn(row.dataset_id)
    out = queue.deliver(finding_id, by=by, withdrawn=withdrawn, message=message)
    _show(out)
    _tell_researcher(gate.settings, out)


@node_app.command("findings-preferences")
def findings_preferences(
    node_dir: NodeDir,
    individual: Annotated[str, typer.Option("--individual", help="the participant")],
    category: Annotated[
        list[str] | None,
        typer.Option(
            help="medically_actionable, carrier_status, pharmacogenomic, vus, other; repeat"
        ),
    ] = None,
    via: Annotated[
        str, typer.Option(help="custodian, clinician or genetic_counsellor")
    ] = "custodian",
    contact: Annotated[str, typer.Option(help="the named clinician or counsellor")] = "",
) -> None:
    """Record a participant's preferences for the return of findings (from the consent form);
    no --category: return nothing."""
    from pydantic import ValidationError

    from genomesh.core.consent import FindingsPreferences
    from genomesh.core.errors import InvalidInputError, NotFoundError

    try:
        prefs = FindingsPreferences(categories=tuple(category or ()), via=via, contact=contact)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        where = "--" + str(error["loc"][0]).replace("categories", "category")
        raise InvalidInputError(f"{error['msg']}: {error.get('input')!r}", field=where) from None
    gate, queue = _queue(node_dir)
    datasets = [
        f.dataset_id
        for f in (gate.guard.facts(ds) for ds in gate.node.datasets())
        if individual in f.individuals
    ]
    if not datasets:
        raise NotFoundError(
            f"no dataset at this node has individual {individual!r}", field="--individual"
        )
    queue.set_preferences(individual, prefs, set_by="custodian", datasets=datasets)
    wanted = ", ".join(prefs.categories) or "nothing"
    console.print(Text(f"{individual}: return {wanted}, through the {prefs.via}"))


@node_app.command("community-report")
def community_report(node_dir: NodeDir, community: str, as_json: JsonOpt = False) -> None:
    """Every answer that used a community's participants, per recipient (no one named)."""
    from genomesh.participants.community_report import community_usage

    gate = open_gate(node_dir)
    report = community_usage(
        gate.state, gate.settings, list(gate.node.dataset_ids()),
        lambda d: gate.guard.facts(gate.node.dataset(d)).individuals, community,
    )  # fmt: skip
    if as_json:
        console.print_json(json.dumps(report, default=str))
        return
    rows = [
        [g["dataset_id"], g["group"] or "(all)", r["recipient"], ", ".join(r["what"]),
         str(r["answers"]), str(r["participants"]), r["first"], r["last"]]
        for g in report["groups"]
        for r in g["results"]
    ]  # fmt: skip
    print_rows(
        console,
        ["dataset", "group", "recipient", "what", "answers", "participants", "first", "last"],
        rows,
        title=f"answers that used the data of community {community}",
        keep=["dataset", "group", "recipient", "answers"],
    )


__all__ = ["findings"]
