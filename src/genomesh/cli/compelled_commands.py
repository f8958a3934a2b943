"""`genomesh node compelled ...`: the custodian's register of compelled-disclosure requests.

    genomesh node compelled record DIR --requester ... --kind court --legal-basis ... \\
        --dataset D --individual ID --purpose ... --received 2026-05-01 [--deadline ...] \\
        [--protection ...] [--gag-until 2027-01-01 | --gagged]
    genomesh node compelled list DIR [--json]
    genomesh node compelled decide DIR REQUEST_ID --decision refused|contested|... [--reason ...]
    genomesh node compelled gag DIR REQUEST_ID (--until DATE | --no-gag)
    genomesh node compelled disclose DIR REQUEST_ID --individual ID --item phenotypes --out F
    genomesh node compelled transparency DIR --year 2026 [--json]
    genomesh node admin-token DIR
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
from genomesh.cli.shared import open_gate

compelled_app = typer.Typer(
    help="Compelled-disclosure requests (court, government, police): register, decisions, "
    "disclosures, transparency report.",
    no_args_is_help=True,
)
node_app.add_typer(compelled_app, name="compelled")

NodeDir = Annotated[Path, typer.Argument(help="the node folder")]
RequestId = Annotated[str, typer.Argument(help="the request's id (cr-...)")]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON")]


def _show(data: dict[str, Any], as_json: bool, line: str) -> None:
    if as_json:
        print(json.dumps(data, indent=2))
    else:
        Console(emoji=False).print(Text(line), highlight=False)


@compelled_app.command("record")
def record(
    node_dir: NodeDir,
    requester: Annotated[str, typer.Option("--requester", help="who asked (court, agency)")],
    kind: Annotated[str, typer.Option("--kind", help="court | government | police | other")],
    legal_basis: Annotated[str, typer.Option("--legal-basis", help="law, order or warrant")],
    dataset: Annotated[str, typer.Option("--dataset", help="the dataset holding the data")],
    individual: Annotated[
        list[str], typer.Option("--individual", help="a participant it is about (repeatable)")
    ],
    purpose: Annotated[str, typer.Option("--purpose", help="what the data is wanted for")],
    received: Annotated[str, typer.Option("--received", help="date received, YYYY-MM-DD")],
    deadline: Annotated[str | None, typer.Option("--deadline", help="YYYY-MM-DD")] = None,
    protection: Annotated[
        list[str] | None,
        typer.Option("--protection", help="a protection invoked (repeatable)"),
    ] = None,
    gag_until: Annotated[
        str | None,
        typer.Option("--gag-until", help="gag order: participants may be told from this date"),
    ] = None,
    gagged: Annotated[
        bool, typer.Option("--gagged", help="a gag order with no end date yet")
    ] = False,
    notes: Annotated[str | None, typer.Option("--notes")] = None,
    as_json: AsJson = False,
) -> None:
    """Record a compelled-disclosure request in the node's hash-chained audit log."""
    from genomesh.participants.compelled import record_request

    req = record_request(
        open_gate(node_dir), requester=requester, requester_kind=kind, legal_basis=legal_basis,
        dataset_id=dataset, individual_ids=individual, purpose=purpose, received=received,
        deadline=deadline, protections=protection or (), gag_until=gag_until, gagged=gagged,
        notes=notes,
    )  # fmt: skip
    _show(
        req.public(), as_json, f"recorded request {req.request_id} (audit entry {req.recorded_seq})"
    )


@compelled_app.command("list")
def list_requests(node_dir: NodeDir, as_json: AsJson = False) -> None:
    """The register: every request, its decision, gag and disclosures."""
    from genomesh.participants.compelled import register

    gate = open_gate(node_dir)
    requests = list(register(gate.state).values())
    if as_json:
        print(json.dumps([r.public() for r in requests], indent=2))
        return
    print_rows(
        Console(emoji=False),
        [
            "request",
            "received",
            "kind",
            "requester",
            "people",
            "decision",
            "gag until",
            "disclosed",
        ],
        [
            [
                r.request_id,
                r.received,
                r.requester_kind,
                r.requester,
                str(len(r.individual_pseudonyms)),
                r.decision,
                (r.gag_until or "no end set") if r.gagged else "–",
                str(len(r.disclosures)),
            ]
            for r in requests
        ],
        title="compelled-disclosure requests",
        keep=["request", "received", "decision", "disclosed"],
    )


@compelled_app.command("decide")
def decide(
    node_dir: NodeDir,
    request_id: RequestId,
    decision: Annotated[
        str, typer.Option("--decision", help="refused | contested | partly_disclosed | disclosed")
    ],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    as_json: AsJson = False,
) -> None:
    """Record the decision on a request (a later decision supersedes)."""
    from genomesh.participants.compelled import decide as record_decision

    req = record_decision(open_gate(node_dir), request_id, decision=decision, reason=reason)
    _show(req.public(), as_json, f"request {request_id}: {req.decision}")


@compelled_app.command("gag")
def gag(
    node_dir: NodeDir,
    request_id: RequestId,
    until: Annotated[
        str | None, typer.Option("--until", help="the gag order's end date, YYYY-MM-DD")
    ] = None,
    no_gag: Annotated[bool, typer.Option("--no-gag", help="there is no gag order")] = False,
    as_json: AsJson = False,
) -> None:
    """Record when a gag order ends (participants see the disclosure from that date)."""
    from genomesh.participants.compelled import set_gag

    req = set_gag(open_gate(node_dir), request_id, until=until, gagged=not no_gag)
    state = f"gagged until {req.gag_until}" if req.gag_until else (
        "gagged, no end date" if req.gagged else "no gag order"
    )  # fmt: skip
    _show(req.public(), as_json, f"request {request_id}: {state}")


@compelled_app.command("disclose")
def disclose(
    node_dir: NodeDir,
    request_id: RequestId,
    individual: Annotated[
        list[str], typer.Option("--individual", help="a participant named by the request")
    ],
    item: Annotated[
        list[str], typer.Option("--item", help="phenotypes | genotypes | consent | identity")
    ],
    out: Annotated[Path, typer.Option("--out", help="where to write what is disclosed (JSON)")],
) -> None:
    """Disclose exactly these items under a decided request (through the gate, audited)."""
    from genomesh.participants.compelled import disclose as run

    result = run(open_gate(node_dir), request_id, individual_ids=individual, items=item)
    out.write_text(json.dumps(result, indent=2))
    Console().print(
        Text(
            f"disclosed {', '.join(result['items'])} of {len(result['records'])} participant(s) "
            f"under {request_id} to {out} (sha256 {result['sha256'][:16]}…, audit entry "
            f"{result['audit_id']})"
        ),
        highlight=False,
    )


@compelled_app.command("transparency")
def transparency(
    node_dir: NodeDir,
    year: Annotated[int, typer.Option("--year", help="the calendar year")],
    as_json: AsJson = False,
) -> None:
    """This node's transparency report for a year: counts only, no names."""
    from genomesh.participants.compelled import transparency_report

    gate = open_gate(node_dir)
    report = transparency_report(gate.state, year, node=gate.settings.name)
    if as_json:
        print(json.dumps(report, indent=2))
        return
    console = Console(emoji=False)
    console.print(Text(f"{report['node']}: {report['requests']} request(s) in {year}"))
    print_rows(console, ["kind", "requests"], [[k, str(v)] for k, v in report["by_kind"].items()])
    print_rows(
        console, ["decision", "requests"], [[k, str(v)] for k, v in report["by_decision"].items()]
    )


@node_app.command("admin-token")
def admin_token(node_dir: NodeDir) -> None:
    """Print the node's admin API token (created on first use, kept in NODE_DIR/admin.token)."""
    from genomesh.core.settings import NodeSettings
    from genomesh.node.admin import node_admin_token

    print(node_admin_token(NodeSettings.load(node_dir)))
