"""`genomesh dac ...` for the code of conduct: the data-use register, publications, findings,
and communities (`genomesh dac community ...`). All over HTTP, like the rest of `genomesh dac`.

    genomesh dac data-use NODE/DATASET                 the public data-use register
    genomesh dac publication APP --title T --doi D     report a publication
    genomesh dac flag-finding --application N --dataset NODE/DS --individual ID --category C --summary S
    genomesh dac finding-status NODE ID / finding-confirm NODE ID --evidence E
    genomesh dac community create|add-member|mark|list|applications|decide|report
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from genomesh.cli.apps import dac_app
from genomesh.cli.dac_commands import DEFAULT_HUB, HubOpt, JsonOpt, TokenOpt, utc_text
from genomesh.cli.dac_session import call, console, print_json, session_token
from genomesh.cli.layout import print_rows
from genomesh.cli.query_commands import escape

community_app = typer.Typer(
    help="Communities that govern their members' data (data sovereignty).", no_args_is_help=True
)
dac_app.add_typer(community_app, name="community")


def _ref(text: str) -> dict[str, Any]:
    from genomesh.hub.dac.datasets import DatasetRef

    return DatasetRef.parse(text).model_dump(exclude_none=True)


@dac_app.command("data-use")
def data_use(dataset: str, hub: HubOpt = DEFAULT_HUB, as_json: JsonOpt = False) -> None:
    """The public data-use register of a dataset (NODE/DATASET_ID): approved projects."""
    ref = _ref(dataset)
    if "url" in ref:
        from genomesh.core.errors import InvalidInputError

        raise InvalidInputError("give the dataset as NODE/DATASET_ID", field="dataset")
    out = call(hub, "GET", f"/dac/data-use-register/{ref['node']}/{ref['dataset_id']}")
    if as_json:
        print_json(out)
        return
    print_rows(
        console,
        [
            "id",
            "title",
            "institution",
            "purpose",
            "status",
            "approved",
            "until",
            "review",
            "publications",
        ],
        [
            [
                str(p["application"]),
                p["title"],
                p["institution"] or "-",
                ", ".join(t["id"] for t in p["purpose"]),
                p["status"],
                utc_text(p["approved_at"]),
                utc_text(p["approved_until"]),
                p["review"],
                "\n".join(x.get("doi") or x.get("url") or "" for x in p["publications"]) or "-",
            ]
            for p in out["projects"]
        ],
        title=f"data-use register of {out['node']}/{out['dataset_id']} ({out['count']} projects)",
        keep=["id", "status", "review"],
    )
    for p in out["projects"]:
        if p["lay_summary"]:
            console.print(escape(f"{p['application']}: {p['lay_summary']}"))


@dac_app.command("publication")
def publication(
    application: int,
    title: Annotated[str, typer.Option(help="the publication's title")],
    doi: Annotated[str | None, typer.Option(help="its DOI, e.g. 10.1234/abc")] = None,
    url: Annotated[str | None, typer.Option(help="its URL")] = None,
    year: int | None = None,
    hub: HubOpt = DEFAULT_HUB,
    token: TokenOpt = None,
) -> None:
    """Report a publication from your approved project (shown in the data-use register)."""
    body = {"title": title, "doi": doi, "url": url, "year": year}
    call(
        hub, "POST", f"/dac/applications/{application}/publications", token=session_token(hub, token),
        json_body={k: v for k, v in body.items() if v is not None},
    )  # fmt: skip
    console.print(escape(f"publication reported for application {application}"))


@dac_app.command("flag-finding")
def flag_finding(
    application: Annotated[int, typer.Option(help="your approved application")],
    dataset: Annotated[str, typer.Option(help="NODE/DATASET_ID")],
    individual: Annotated[str, typer.Option(help="the participant's id in that dataset")],
    category: Annotated[
        str, typer.Option(help="medically_actionable, carrier_status, pharmacogenomic, vus, other")
    ],
    summary: Annotated[str, typer.Option(help="the finding in words")],
    gene: str | None = None,
    variant: str | None = None,
    evidence: str = "",
    hub: HubOpt = DEFAULT_HUB,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Flag a finding about a participant: sent through the hub to the custodian only."""
    body = {
        "application": application, "dataset": _ref(dataset), "individual_id": individual,
        "category": category, "summary": summary, "gene": gene, "variant": variant,
        "evidence": evidence,
    }  # fmt: skip
    out = call(hub, "POST", "/dac/findings", token=session_token(hub, token), json_body=body)
    if as_json:
        print_json(out)
        return
    console.print(
        escape(
            f"finding {out['id']} at node {out['node']}: {out['state']} (the custodian reviews it)"
        )
    )


@dac_app.command("finding-status")
def finding_status(
    node: str, finding: int, hub: HubOpt = DEFAULT_HUB, token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """The state of a finding you flagged, with the custodian's comments."""
    out = call(hub, "GET", f"/dac/findings/{node}/{finding}", token=session_token(hub, token))
    if as_json:
        print_json(out)
        return
    console.print(escape(f"finding {out['id']} at node {out['node']}: {out['state']}"))
    for step in out["history"]:
        console.print(
            escape(f"  {utc_text(step['at'])} {step['action']} {step.get('comment') or ''}")
        )


@dac_app.command("finding-confirm")
def finding_confirm(
    node: str,
    finding: int,
    evidence: Annotated[str, typer.Option(help="how the finding was confirmed")],
    hub: HubOpt = DEFAULT_HUB,
    token: TokenOpt = None,
) -> None:
    """Send the confirmation the custodian asked for (the finding returns to their queue)."""
    out = call(
        hub, "POST", f"/dac/findings/{node}/{finding}/confirmation", token=session_token(hub, token),
        json_body={"evidence": evidence},
    )  # fmt: skip
    console.print(escape(f"finding {out['id']} at node {out['node']}: {out['state']}"))


@community_app.command("create")
def create(
    slug: str,
    name: Annotated[str, typer.Option(help="the community's name")],
    governance_body: Annotated[str, typer.Option(help="e.g. its research ethics board")] = "",
    contact: str = "",
    hub: HubOpt = DEFAULT_HUB,
    token: TokenOpt = None,
) -> None:
    """Hub admin: register a community."""
    body = {"slug": slug, "name": name, "governance_body": governance_body, "contact": contact}
    call(hub, "POST", "/dac/communities", token=session_token(hub, token), json_body=body)
    console.print(escape(f"community {slug} registered"))


@community_app.command("add-member")
def add_member(slug: str, username: str, hub: HubOpt = DEFAULT_HUB, token: TokenOpt = None) -> None:
    """Hub admin: add an account to the community's governance body."""
    out = call(
        hub, "POST", f"/dac/communities/{slug}/members", token=session_token(hub, token),
        json_body={"username": username},
    )  # fmt: skip
    console.print(escape(f"governance body of {slug}: {', '.join(out['members'])}"))


@community_app.command("mark")
def mark(
    slug: str,
    dataset: Annotated[str, typer.Option(help="NODE/DATASET_ID")],
    group: Annotated[str, typer.Option(help="participant group at the node; none = all")] = "",
    label: Annotated[list[str] | None, typer.Option(help="a BC Label or Notice; repeat")] = None,
    hub: HubOpt = DEFAULT_HUB,
    token: TokenOpt = None,
) -> None:
    """Hub admin: mark a dataset (or a group of its participants) as the community's."""
    body = {"dataset": _ref(dataset), "group": group, "labels": list(label or [])}
    call(
        hub,
        "POST",
        f"/dac/communities/{slug}/data",
        token=session_token(hub, token),
        json_body=body,
    )
    console.print(escape(f"{dataset} {group or '(all)'} marked as {slug}'s"))


@community_app.command("list")
def list_communities(hub: HubOpt = DEFAULT_HUB, as_json: JsonOpt = False) -> None:
    """Registered communities, their governance bodies and their data (public)."""
    out = call(hub, "GET", "/dac/communities")
    if as_json:
        print_json(out)
        return
    print_rows(
        console,
        ["community", "name", "governance body", "data", "labels"],
        [
            [
                c["slug"],
                c["name"],
                c["governance_body"] or "-",
                "\n".join(f"{d['dataset']} {d['group'] or '(all)'}" for d in c["data"]) or "-",
                "\n".join(", ".join(lb["label"] for lb in d["labels"]) for d in c["data"]) or "-",
            ]
            for c in out
        ],
        title="communities",
        keep=["community", "data"],
    )


@community_app.command("applications")
def applications(
    slug: str, hub: HubOpt = DEFAULT_HUB, token: TokenOpt = None, as_json: JsonOpt = False
) -> None:
    """Governance body: the applications touching the community's data."""
    out = call(hub, "GET", f"/dac/communities/{slug}/applications", token=session_token(hub, token))
    if as_json:
        print_json(out)
        return
    print_rows(
        console,
        ["id", "title", "applicant", "institution", "committee", "community"],
        [
            [
                str(a["application"]),
                a["title"],
                a["applicant"],
                a["institution"] or "-",
                a["committee_state"],
                a["community_decision"]["state"],
            ]
            for a in out
        ],
        title=f"applications touching the data of {slug}",
        keep=["id", "committee", "community"],
    )


@community_app.command("decide")
def decide(
    slug: str,
    application: int,
    decision: Annotated[
        str, typer.Option(help="approve or decline a request; withdraw an approval given")
    ],
    comment: Annotated[str, typer.Option(help="why (needed to decline or withdraw)")] = "",
    hub: HubOpt = DEFAULT_HUB,
    token: TokenOpt = None,
) -> None:
    """Governance body: approve or decline an application for the community, or withdraw
    the community's approval (its visa is revoked)."""
    out = call(
        hub, "POST", f"/dac/communities/{slug}/applications/{application}/decision",
        token=session_token(hub, token), json_body={"decision": decision, "comment": comment},
    )  # fmt: skip
    console.print(
        escape(f"application {application}: {out['community_decision']['state']} by {slug}")
    )


@community_app.command("report")
def report(slug: str, hub: HubOpt = DEFAULT_HUB, token: TokenOpt = None) -> None:
    """Governance body: every project and every answer that used the community's data."""
    print_json(call(hub, "GET", f"/dac/communities/{slug}/report", token=session_token(hub, token)))


__all__ = ["community_app"]
