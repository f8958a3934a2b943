"""`genomesh node withdraw|access-report|export|participant-token`: participant rights at a node."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from genomesh.cli.apps import node_app
from genomesh.cli.layout import print_rows
from genomesh.cli.shared import open_gate, utc_iso

NodeDir = Annotated[Path, typer.Argument(help="the node folder")]
Individual = Annotated[str, typer.Option("--individual", help="the participant's individual id")]


@node_app.command("withdraw")
def withdraw(
    node_dir: NodeDir,
    dataset: Annotated[str, typer.Option("--dataset", help="the dataset id")],
    individual: Individual,
    reason: Annotated[str | None, typer.Option("--reason", help="why (kept at the node)")] = None,
) -> None:
    """Withdraw a participant: excluded from every later answer; earlier recipients notified."""
    from genomesh.participants.withdrawal import withdraw as withdraw_participant

    gate = open_gate(node_dir)
    report = withdraw_participant(
        gate.state,
        settings=gate.settings,
        node=gate.node,
        dataset_id=dataset,
        individual_id=individual,
        reason=reason,
    )
    console = Console()
    console.print(
        Text.assemble(
            "withdrew ",
            (individual, "bold"),
            " from ",
            (dataset, "bold"),
            f" at {report.withdrawn_at}",
        )
    )
    delivered = report.hub_delivery == "delivered"
    heading = {
        "delivered": "earlier recipients (notified through the hub)",
        "none": "earlier recipients (none)",
    }.get(report.hub_delivery, "earlier recipients (NOT notified)")
    rows = []
    for r in report.recipients:
        who = (
            "anonymous callers"
            if r.recipient_key.startswith("anonymous|")
            else str(r.recipient_subject or r.recipient_key)
        )
        rows.append([who, ",".join(r.kinds), str(r.n_answers), utc_iso(r.last_at)])
    print_rows(console, ["recipient", "kinds", "answers", "last"], rows, title=heading)
    console.print(
        Text(
            f"notices: {len(report.notification_ids)} recorded; hub delivery: "
            f"{report.hub_delivery}; earlier answers now flagged: "
            f"{len(report.flagged_audit_entries)}"
        )
    )
    if report.notification_ids and not delivered:
        from genomesh.core.errors import UpstreamError

        why = report.hub_detail or (
            "no hub_url in genomesh.toml" if report.hub_delivery == "local_only" else "unknown"
        )
        # the withdrawal itself is recorded and in force; only the telling failed
        raise UpstreamError(
            f"the withdrawal is recorded and in force, but its {len(report.notification_ids)} "
            f"notice(s) did not reach the hub ({why}); fix the node's link to the hub "
            "(hub_url, and the node secret from `genomesh dac node-secret NODE` or its "
            f"registered key), then run `genomesh node notifications {node_dir} --retry`"
        )


@node_app.command("access-report")
def report(
    node_dir: NodeDir,
    individual: Individual,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Who received data derived from this participant, per dataset."""
    from genomesh.participants.rights import access_report

    data = access_report(open_gate(node_dir), individual)
    if as_json:
        print(json.dumps(data, indent=2))
        return
    console = Console(emoji=False)
    console.print(
        Text(f"access report for {individual} (audit entry {data['audit_id']})", style="bold")
    )

    def short(iso: str | None) -> str:  # to the second, in UTC, like every other table
        return "–" if not iso else utc_iso(datetime.fromisoformat(iso).timestamp())

    for ds in data["datasets"]:
        withdrawn = short(ds["withdrawn_at"]) if ds["withdrawn_at"] else "no"
        console.print(Text(f"\ndataset {ds['dataset_id']}  withdrawn: {withdrawn}"))
        anon = ds["anonymous_answers"]
        rows = [
            [
                r["recipient"] or r["identity"],
                ",".join(r["kinds"]),
                str(r["answers"]),
                r["first"],
                r["last"],
            ]
            for r in ds["recipients"]
        ]
        if anon["answers"]:
            rows.append(
                [
                    "anonymous callers",
                    "",
                    str(anon["answers"]),
                    short(anon["first"]),
                    short(anon["last"]),
                ]
            )
        if not rows:
            console.print(Text("  nobody has received data derived from this participant"))
            continue
        print_rows(
            console,
            ["recipient", "kinds", "answers", "first", "last"],
            rows,
            keep=["recipient", "answers", "first", "last"],
        )


@node_app.command("export")
def export(
    node_dir: NodeDir,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="the file to write: .zip or .tar.gz for the archive of Phenopackets, VCF, "
            "README and manifest; .json for the JSON copy",
        ),
    ],
    individual: Annotated[
        list[str] | None,
        typer.Option("--individual", help="a participant's individual id (repeatable)"),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option("--dataset", help="export every participant of this dataset (not withdrawn)"),
    ] = None,
    recipient: Annotated[
        str | None,
        typer.Option(
            "--recipient",
            help="who the copy is for (passport subject): listed in the disclosure ledger, "
            "told on a withdrawal",
        ),
    ] = None,
) -> None:
    """Export participants' data: an archive in standard formats (or a JSON copy)."""
    people = list(individual or [])
    if str(out).lower().endswith(".json"):
        from genomesh.core.errors import InvalidInputError
        from genomesh.participants.rights import export_data

        if len(people) != 1 or dataset is not None or recipient is not None:
            raise InvalidInputError(
                "a .json copy is of one participant: pass one --individual (archives: .zip, "
                ".tar.gz)",
                field="--out",
            )
        data = export_data(open_gate(node_dir), people[0])
        out.write_text(json.dumps(data, indent=2))
        Console().print(Text(f"wrote {out} ({len(data['datasets'])} datasets)"))
        return
    from genomesh.participants.portable import custodian_export

    manifest = custodian_export(
        open_gate(node_dir), out, dataset_id=dataset, individual_ids=people, recipient=recipient
    )
    n = sum(len(d["individuals"]) for d in manifest["datasets"])
    Console().print(
        Text(
            f"wrote {out}: {n} individual(s) in {len(manifest['datasets'])} dataset(s), "
            f"{len(manifest['files'])} files (checksums in manifest.json; audit entry "
            f"{manifest['audit_id']})"
        ),
        highlight=False,
    )


@node_app.command("participant-token")
def participant_token(
    node_dir: NodeDir,
    individual: Individual,
    revoke: Annotated[
        bool, typer.Option("--revoke", help="revoke this participant's tokens")
    ] = False,
) -> None:
    """Issue an API token for a participant (printed once; only its hash is stored)."""
    gate = open_gate(node_dir)
    if revoke:
        n = gate.state.revoke_participant_tokens(individual)
        Console().print(Text(f"revoked {n} token(s) of {individual}"))
        return
    if not any(individual in gate.guard.facts(ds).individuals for ds in gate.node.datasets()):
        from genomesh.core.errors import NotFoundError

        raise NotFoundError(
            f"no dataset at this node has individual {individual!r}", field="--individual"
        )
    print(gate.state.issue_participant_token(individual))


@node_app.command("notifications")
def notifications(
    node_dir: NodeDir,
    retry: Annotated[
        bool, typer.Option("--retry", help="re-send notices the hub did not get")
    ] = False,
) -> None:
    """List withdrawal notices and their delivery to the hub; --retry re-sends failed ones."""
    from genomesh.core.settings import NodeSettings
    from genomesh.node.state import NodeState
    from genomesh.participants.withdrawal import redeliver_pending

    settings = NodeSettings.load(node_dir)
    with NodeState.open(settings) as state:
        if retry:
            sent = redeliver_pending(state, settings=settings)
            Console().print(f"re-sent: {sent} notice(s) delivered", highlight=False)
        rows = state.notifications()
    print_rows(  # whole pseudonyms and details: both get pasted into the next command
        Console(emoji=False),
        ["#", "dataset", "participant (pseudonym)", "recipient", "delivery", "detail"],
        [
            [
                str(n.id),
                n.dataset_id,
                n.individual_pseudonym,
                "anonymous callers"
                if n.recipient_key.startswith("anonymous|")
                else str(n.recipient_subject),
                n.delivery,
                n.delivery_detail or "",
            ]
            for n in rows
        ],
        title="withdrawal notifications",
        keep=["#", "dataset", "participant (pseudonym)", "recipient", "delivery"],
    )
