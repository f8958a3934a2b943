"""Anchors: audit heads the node signed and a hub acknowledged, and the check of a log against them.

A node's audit chain proves that no entry *inside* it was changed, but not that its newest
entries still exist: someone able to write the database can delete the tail and roll the head
row back, and what remains verifies. An anchor is a head (`entries`, `hash`) the node signed
and sent to its hub, which keeps it append-only (`genomesh.hub.anchors`). Checking a log
against an anchor then shows a cut tail (fewer entries than anchored), a wiped log, or a
rewritten chain (entry `entries` no longer hashes to the anchored head).

This module keeps the node's own record of the anchors it sent (`gs_audit_anchor`, one row per
hub and head, claimed before sending so that several workers send each head once) and holds
the checks; signing and sending are the node's (`genomesh.node.anchor`). The node's record
lives in the same database as the log, so whoever can cut the log can delete it too: an
auditor checks against the hub's copy (`genomesh audit verify DIR --hub URL`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Table, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from genomesh.audit.tables import AuditAnchorRow, AuditRow, LedgerRow

SENDING, ACKNOWLEDGED, REFUSED, FAILED = "sending", "acknowledged", "refused", "failed"


@dataclass(frozen=True)
class Anchor:
    """A head of the log vouched for outside it: `entries` entries, the last hashing to `hash`."""

    entries: int
    hash: str
    signed_at: float
    source: str  # where it came from, for messages ("the hub at URL", "this node's record")
    status: str = ACKNOWLEDGED
    detail: str | None = None
    id: int | None = None
    settled_at: float | None = None

    def describe(self) -> str:
        at = datetime.fromtimestamp(self.signed_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"{self.entries}:{self.hash[:12]}... (anchored {at}, {self.source})"


class AnchorRecords:
    """The node's record of the heads it sent to hubs (table `gs_audit_anchor`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        table = AuditAnchorRow.__table__
        assert isinstance(table, Table)
        self._t = table

    def claim(
        self, *, hub_url: str, entries: int, hash: str, envelope: str, retry_after: float
    ) -> int | None:
        """Claim the sending of this head to this hub; the row id, or None if another
        sender has it (or it was acknowledged or refused already). A failed send may be
        claimed again once `retry_after` seconds have passed since it failed."""
        t, now = self._t, time.time()
        row = {
            "hub_url": hub_url, "entries": entries, "hash": hash, "signed_at": now,
            "envelope": envelope, "status": SENDING, "detail": None, "settled_at": None,
        }  # fmt: skip
        try:
            with self.engine.begin() as conn:
                key = conn.execute(insert(t).values(**row)).inserted_primary_key
                return int(key[0]) if key is not None else None
        except IntegrityError:
            pass
        with self.engine.begin() as conn:  # retry a failed send (compare-and-set on its status)
            found = conn.execute(
                select(t.c.id, t.c.status, t.c.settled_at, t.c.hash).where(
                    t.c.hub_url == hub_url, t.c.entries == entries
                )
            ).first()
            if found is None or found.status != FAILED or found.hash != hash:
                return None
            if (found.settled_at or 0) > now - retry_after:
                return None
            done = conn.execute(
                update(t)
                .where(t.c.id == found.id, t.c.status == FAILED)
                .values(status=SENDING, signed_at=now, envelope=envelope, settled_at=None)
            )
            return int(found.id) if done.rowcount == 1 else None

    def settle(self, row_id: int, *, status: str, detail: str | None = None) -> None:
        """Record the hub's reply to a claimed send."""
        with self.engine.begin() as conn:
            conn.execute(
                update(self._t)
                .where(self._t.c.id == row_id)
                .values(status=status, detail=detail, settled_at=time.time())
            )

    def all(self, *, hub_url: str | None = None) -> list[Anchor]:
        """Every recorded send (oldest first)."""
        q = select(self._t).order_by(self._t.c.id)
        if hub_url is not None:
            q = q.where(self._t.c.hub_url == hub_url)
        return self._read(q)

    def _read(self, query: Any) -> list[Anchor]:
        with self.engine.connect() as conn:
            return [
                Anchor(
                    r.entries,
                    r.hash,
                    r.signed_at,
                    f"sent to {r.hub_url}",
                    r.status,
                    r.detail,
                    r.id,
                    r.settled_at,
                )
                for r in conn.execute(query)
            ]

    def acknowledged(self) -> list[Anchor]:
        """The heads a hub acknowledged, as this node recorded them (oldest first)."""
        t = self._t
        rows = self._read(select(t).where(t.c.status == ACKNOWLEDGED).order_by(t.c.id))
        source = "acknowledged by the hub, node's record"
        return [Anchor(a.entries, a.hash, a.signed_at, source) for a in rows]

    def latest_attempt(self, *, hub_url: str) -> Anchor | None:
        """The most recent send to this hub (any status)."""
        t = self._t
        rows = self._read(select(t).where(t.c.hub_url == hub_url).order_by(t.c.id.desc()).limit(1))
        return rows[0] if rows else None

    def latest_acknowledged(self, *, hub_url: str) -> Anchor | None:
        """The newest head this hub acknowledged."""
        t = self._t
        mine = (t.c.hub_url == hub_url, t.c.status == ACKNOWLEDGED)
        rows = self._read(select(t).where(*mine).order_by(t.c.entries.desc()).limit(1))
        return rows[0] if rows else None


def latest(anchors: Iterable[Anchor]) -> Anchor | None:
    """The anchor with the most entries."""
    return max(anchors, key=lambda a: (a.entries, a.signed_at), default=None)


def check_against_anchors(
    anchors: Sequence[Anchor], *, last_seq: int, hash_at: dict[int, str]
) -> list[str]:
    """Problems of a log (its last entry `last_seq`; `hash_at` = the stored hash of each
    anchored entry present) against anchored heads: a cut tail, a wiped log, a rewritten chain.

    An empty list means every anchor is consistent with the log."""
    problems: list[str] = []
    top = latest(anchors)
    if top is not None and top.entries > last_seq:
        if last_seq == 0:
            problems.append(
                f"log wiped: it is empty, but it had {top.entries} entries at the anchored "
                f"head {top.describe()}"
            )
        else:
            problems.append(
                f"tail cut: {top.entries - last_seq} entries missing after entry {last_seq}: "
                f"the log ends there, but it had {top.entries} entries at the anchored head "
                f"{top.describe()}"
            )
    for anchor in sorted(anchors, key=lambda a: a.entries):
        stored = hash_at.get(anchor.entries)
        if anchor.entries <= last_seq and anchor.entries > 0 and stored != anchor.hash:
            problems.append(
                f"log rewritten: entry {anchor.entries} does not hash to the head "
                f"{anchor.describe()}"
            )
            break  # the first disagreement says it; later anchors would repeat it
    return problems


def orphan_ledger_rows(engine: Engine) -> list[tuple[int, int]]:
    """Ledger rows whose audit entry is missing: (audit_seq, rows), by audit_seq.

    Every ledger row is written in the same transaction as its entry, so a row pointing at a
    missing entry means the entry was deleted afterwards."""
    ledger, audit = LedgerRow.__table__, AuditRow.__table__
    present = select(audit.c.seq).where(audit.c.seq == ledger.c.audit_seq).exists()
    q = (
        select(ledger.c.audit_seq, func.count())
        .where(~present)
        .group_by(ledger.c.audit_seq)
        .order_by(ledger.c.audit_seq)
    )
    with engine.connect() as conn:
        return [(int(seq), int(n)) for seq, n in conn.execute(q)]


def hashes_at(engine: Engine, seqs: Iterable[int]) -> dict[int, str]:
    """The stored hash of each of these entries that exists."""
    wanted = sorted({s for s in seqs if s > 0})
    audit, out = AuditRow.__table__, {}
    with engine.connect() as conn:
        for start in range(0, len(wanted), 500):  # bounded IN lists
            chunk = wanted[start : start + 500]
            rows = conn.execute(select(audit.c.seq, audit.c.hash).where(audit.c.seq.in_(chunk)))
            out.update({int(seq): str(digest) for seq, digest in rows})
    return out


__all__ = [
    "ACKNOWLEDGED",
    "FAILED",
    "REFUSED",
    "SENDING",
    "Anchor",
    "AnchorRecords",
    "check_against_anchors",
    "hashes_at",
    "latest",
    "orphan_ledger_rows",
]
