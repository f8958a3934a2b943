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
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

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
    hub: Annotated[
        str | None,
        typer.Option(
            "--hub",
            help="also check against the heads this hub holds for the node "
            "(GET HUB/nodes/NAME/audit-heads); they survive a rewrite of the node's database",
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="the node's name at the hub (default: its name)")
    ] = None,
) -> None:
    """Recompute the hash chain, check it against the anchored heads and the ledger against the
    entries; exit non-zero naming what is wrong (an edited entry, a cut tail, a wiped log)."""
    expected = _parse_head(head)
    from genomesh.audit.anchor import AnchorRecords
    from genomesh.audit.verification import check_log
    from genomesh.core.settings import NodeSettings
    from genomesh.node.anchor import fetch_hub_anchors
    from genomesh.node.dialout import NODE_KEY_FILE
    from genomesh.node.state import NodeState

    settings = NodeSettings.load(node_dir)
    console = Console(stderr=True, soft_wrap=True)
    with NodeState.open(settings) as state:
        anchors = AnchorRecords(state.engine).acknowledged()
        if hub:
            public_key = _node_public_key(node_dir)
            hub_anchors, warnings = fetch_hub_anchors(
                hub, name or settings.name, public_key=public_key
            )
            if public_key is None:
                warnings.append(
                    f"no signing key in {node_dir / NODE_KEY_FILE}: the hub's heads are taken "
                    "without checking the node's signature on them"
                )
            anchors += hub_anchors
            for warning in warnings:
                console.print(Text(f"warning: {warning}", style="yellow"))
        check = check_log(state, anchors=anchors, expected_head=expected)
    for note in check.notes:
        console.print(Text(f"note: {note}"))
    if not check.ok:
        raise StoreError(
            check.describe(),
            details={
                "first_bad_entry": check.chain.first_bad_seq,
                "problems": list(check.problems),
            },
        )
    Console(soft_wrap=True).print(Text.assemble(("OK", "green"), f" {check.describe()}"))


def _node_public_key(node_dir: Path) -> Ed25519PublicKey | None:
    """The node's own signing key (to check the hub's copies of its heads), if it has one."""
    from genomesh.node.dialout import NODE_KEY_FILE, node_key

    path = node_dir / NODE_KEY_FILE
    return node_key(node_dir).public_key() if path.is_file() else None


@audit_app.command("show")
def show(
    node_dir: Annotated[Path, typer.Argument(help="the node folder")],
    last: Annotated[int, typer.Option("--last", min=1, help="how many of the newest entries")] = 20,
    as_json: Annotated[
        bool, typer.Option("--json", help="print the entries as JSON lines")
    ] = False,
) -> None:
    """Show the newest audit entries (who, what, datasets, granularity, individuals, outcome)."""
    from genomesh.audit.anchor import ACKNOWLEDGED, REFUSED, AnchorRecords, latest

    with _open(node_dir) as state:
        entries = state.audit_entries(last=last)
        flagged = state.flagged_audit_seqs()
        head = state.head()
        sent = AnchorRecords(state.engine).all()
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
    anchored = latest(a for a in sent if a.status == ACKNOWLEDGED)
    console.print(
        Text(f"anchored: {anchored.describe()}" if anchored else "anchored: never (no hub_url?)")
    )
    for a in sent:
        if a.status == REFUSED:
            console.print(Text(f"REFUSED by the hub: head {a.describe()}: {a.detail}", "bold red"))
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
