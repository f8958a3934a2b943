"""`genomesh audit verify|show`: check and read a node's hash-chained audit log."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.text import Text

from genomesh.cli.apps import audit_app
from genomesh.cli.layout import print_rows
from genomesh.core.errors import InvalidInputError, StoreError

if TYPE_CHECKING:  # imported where used: `genomesh --help` must not load the audit store
    from genomesh.node.state import NodeState


def _open(node_dir: Path) -> NodeState:
    from genomesh.core.settings import NodeSettings
    from genomesh.node.state import NodeState

    return NodeState.open(NodeSettings.load(node_dir))


def _parse_head(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    seq, sep, digest = value.partition(":")
    if not sep or not seq.isdigit() or len(digest) != 64:
        raise InvalidInputError(
            "expected SEQ:SHA256 as printed by `genomesh audit show`", field="--head"
        )
    return int(seq), digest


@audit_app.command("verify")
def verify(
    node_dir: Annotated[Path, typer.Argument(help="the node folder")],
    head: Annotated[
        str | None, typer.Option("--head", help="a published head SEQ:HASH to check against")
    ] = None,
) -> None:
    """Recompute the hash chain; exit non-zero naming the first bad entry if anything was changed."""
    expected = _parse_head(head)
    with _open(node_dir) as state:
        result = state.verify(expected_head=expected)
    if not result.ok:
        raise StoreError(result.describe(), details={"first_bad_entry": result.first_bad_seq})
    Console().print(f"[green]OK[/] {result.describe()}", highlight=False)


@audit_app.command("show")
def show(
    node_dir: Annotated[Path, typer.Argument(help="the node folder")],
    last: Annotated[int, typer.Option("--last", min=1, help="how many of the newest entries")] = 20,
    as_json: Annotated[
        bool, typer.Option("--json", help="print the entries as JSON lines")
    ] = False,
) -> None:
    """Show the newest audit entries (who, what, datasets, granularity, individuals, outcome)."""
    with _open(node_dir) as state:
        entries = state.audit_entries(last=last)
        flagged = state.flagged_audit_seqs()
        head = state.head()
    console = Console()
    if as_json:
        for e in entries:
            print(
                json.dumps(
                    {"seq": e.seq, "hash": e.hash, "includes_withdrawn": e.seq in flagged, **e.body}
                )
            )
        return
    console.print(f"head {head[0]}:{head[1]}  (publish this to anchor the log)", highlight=False)
    rows = []
    for e in entries:
        b = e.body
        who, what = b.get("who", {}), b.get("what", {})
        datasets = ", ".join(str(d.get("id")) for d in b.get("datasets", []))
        outcome = Text(str(b.get("outcome")))
        if e.seq in flagged:
            outcome.append(" (includes withdrawn)", style="yellow")
        # Cells are Text, never markup: addresses, subjects and dataset ids come from callers.
        rows.append(
            [
                Text(str(e.seq)),
                Text(datetime.fromtimestamp(e.created_at, UTC).strftime("%Y-%m-%d %H:%M:%S")),
                Text(str(who.get("subject") or who.get("identity_key"))),
                Text(str(who.get("tier"))),
                Text(f"{what.get('surface')}/{what.get('operation')}"),
                Text(datasets),
                Text(str(b.get("granularity"))),
                Text(str(b.get("n_individuals"))),
                outcome,
            ]
        )
    columns = ["#", "time (UTC)", "who", "tier", "what", "datasets", "gran.", "indiv.", "outcome"]
    # a table where it fits, else one block per entry: never `answe…` (issue 10)
    print_rows(console, columns, rows, title=Text(f"audit log of {node_dir}"), keep=columns)
