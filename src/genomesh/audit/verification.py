"""The whole check of a node's audit records: chain, anchored heads, ledger, empty log.

`check_log(state, anchors=...)` is what `genomesh audit verify` runs:

1. the hash chain and its head row (`NodeState.verify`): an edited, deleted, reordered or
   inserted entry, or a head row that disagrees with the last entry;
2. the anchored heads (`genomesh.audit.anchor`): fewer entries than the latest anchor says
   ("tail cut", or "log wiped" when none are left), or an anchored entry that no longer
   hashes to its anchored head ("log rewritten");
3. the disclosure ledger against the entries: ledger rows pointing at a missing entry;
4. an empty log says so, and whether an anchor says it should not be empty.

The log is OK only if every step finds nothing. Without any anchor the result says that a
cut tail could not have been seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select

from genomesh.audit.anchor import (
    Anchor,
    check_against_anchors,
    hashes_at,
    latest,
    orphan_ledger_rows,
)
from genomesh.audit.chain import VerifyResult
from genomesh.audit.state import NodeState
from genomesh.audit.tables import AuditRow


@dataclass(frozen=True)
class AuditCheck:
    """The outcome of `check_log`: `ok`, the problems found, and notes for the reader."""

    chain: VerifyResult
    n_entries: int
    anchor: Anchor | None
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.problems

    def describe(self) -> str:
        """One line for the verdict (the problems joined, or the intact log and its anchor)."""
        if self.problems:
            return "; ".join(self.problems)
        empty = "audit log is empty: 0 entries"
        what = empty if self.n_entries == 0 else self.chain.describe()
        if self.anchor is None:
            return what
        return f"{what}; matches the anchored head {self.anchor.describe()}"


def _format_orphans(orphans: list[tuple[int, int]]) -> str:
    rows = sum(n for _, n in orphans)
    seqs = [seq for seq, _ in orphans]
    shown = ", ".join(str(s) for s in seqs[:10]) + (", ..." if len(seqs) > 10 else "")
    return (
        f"ledger rows point at missing audit entries: {rows} ledger row(s) name "
        f"{len(seqs)} entr{'y' if len(seqs) == 1 else 'ies'} that the log does not hold ({shown})"
    )


def check_log(
    state: NodeState,
    *,
    anchors: Sequence[Anchor] = (),
    expected_head: tuple[int, str] | None = None,
) -> AuditCheck:
    """Check chain, anchors and ledger of `state` (see the module docstring)."""
    chain = state.verify(expected_head=expected_head)
    problems: list[str] = [] if chain.ok else [chain.describe()]
    if chain.ok:
        last_seq, n_entries = chain.head_seq, chain.n_entries
    else:  # the chain is broken; judge the anchors against what is stored
        with state.engine.connect() as conn:
            top, n = conn.execute(
                select(func.coalesce(func.max(AuditRow.seq), 0), func.count()).select_from(AuditRow)
            ).one()
        last_seq, n_entries = int(top), int(n)
    problems += check_against_anchors(
        anchors, last_seq=last_seq, hash_at=hashes_at(state.engine, (a.entries for a in anchors))
    )
    orphans = orphan_ledger_rows(state.engine)
    if orphans:
        problems.append(_format_orphans(orphans))
    notes: list[str] = []
    top_anchor = latest(anchors)
    if top_anchor is None:
        notes.append(
            "no anchored head to check against (none in this node's record; check against the "
            "hub's copy with --hub URL): entries deleted from the end, with the head row rolled "
            "back, would not show"
        )
    elif n_entries == 0 and top_anchor.entries == 0:
        notes.append("no anchor says it should hold entries")
    if top_anchor is not None and last_seq > top_anchor.entries and not problems:
        notes.append(
            f"entries {top_anchor.entries + 1}..{last_seq} were written after the latest "
            "anchor: only the chain vouches for them"
        )
    return AuditCheck(chain, n_entries, top_anchor, tuple(problems), tuple(notes))


__all__ = ["AuditCheck", "check_log"]
