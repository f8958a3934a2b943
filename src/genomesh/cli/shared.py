"""Helpers the node-folder commands share (participant rights, findings, compelled
disclosure): opening a node folder's gate, and printing an audit time.

Kept light: `genomesh --help` imports every command module, so the store, the gate and the
node state are imported only when a command opens a folder.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from genomesh.gate import Gate


def utc_iso(epoch_seconds: float) -> str:
    """An audit time (epoch seconds) as ISO 8601 UTC (`2026-11-23T08:03:00Z`), the way every
    other table prints it."""
    return (
        datetime.fromtimestamp(epoch_seconds, UTC)
        .isoformat(timespec="seconds")
        .replace("+00:00", "Z")
    )


def open_gate(node_dir: Path) -> Gate:
    """The gate of the node in `node_dir` (its store, settings and state), as the node app
    would build it: commands that act on a node folder go through the same outflow."""
    from genomesh.core.settings import NodeSettings
    from genomesh.gate import Gate
    from genomesh.node.state import NodeState
    from genomesh.store import open_node

    node = open_node(node_dir)
    settings = NodeSettings.load(node_dir)
    return Gate(settings=settings, node=node, state=NodeState.open(settings))


__all__ = ["open_gate", "utc_iso"]
