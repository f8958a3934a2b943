"""Reading the audit records as a custodian does: search the log, see each entry's
verification status, and who received data derived from which dataset.

`search_audit` filters on the indexed columns (who, surface, outcome, time) in SQL and on
the dataset and free text inside the hashed body, newest first, a page at a time.
`entry_status` turns one `check_log` verdict into a status per entry:

    anchored     the chain verifies up to this entry and a hub acknowledged a head at or after it
    chained      the chain verifies up to this entry; no anchor covers it yet
    unverified   at or after the first entry the chain check found wrong

`recipients_summary` groups the disclosure ledger by recipient and dataset: how many answers,
of which kind (aggregate or record), about how many people at most, first and last time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, func, select

from genomesh.audit.records import AuditEntry
from genomesh.audit.state import NodeState
from genomesh.audit.tables import AuditRow, LedgerRow
from genomesh.audit.verification import AuditCheck
from genomesh.core.errors import InvalidInputError

MAX_PAGE = 200


@dataclass(frozen=True)
class AuditQuery:
    """What to look for; None / empty means any."""

    who: str | None = None  # part of the identity key or subject
    surface: str | None = None  # beacon, analysis, matchmaker, participants ...
    outcome: str | None = None
    dataset: str | None = None
    text: str | None = None  # anywhere in the entry's JSON body
    since: float | None = None  # UNIX seconds
    until: float | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    total: int
    query: AuditQuery


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_audit(state: NodeState, query: AuditQuery) -> AuditPage:
    """Entries matching `query`, newest first (`limit` at most MAX_PAGE), and how many match."""
    if not 1 <= query.limit <= MAX_PAGE:
        raise InvalidInputError(f"limit must be 1 to {MAX_PAGE}", field="limit")
    if query.offset < 0:
        raise InvalidInputError("offset must be ≥ 0", field="offset")
    if query.since is not None and query.until is not None and query.since > query.until:
        raise InvalidInputError("the start of the period is after its end", field="since")
    t = _table(AuditRow)
    where: list[ColumnElement[bool]] = []
    if query.who:
        where.append(t.c.identity_key.like(_like(query.who.strip()), escape="\\"))
    if query.surface:
        where.append(t.c.surface == query.surface.strip())
    if query.outcome:
        where.append(t.c.outcome == query.outcome.strip())
    if query.since is not None:
        where.append(t.c.created_at >= query.since)
    if query.until is not None:
        where.append(t.c.created_at <= query.until)
    if query.dataset:  # the body's canonical JSON names it as {"id":"..."}
        needle = json.dumps(
            {"id": query.dataset.strip()}, separators=(",", ":"), ensure_ascii=False
        )[1:-1]
        where.append(t.c.body.like(_like(needle), escape="\\"))
    if query.text:
        where.append(t.c.body.like(_like(query.text.strip()), escape="\\"))
    with state.engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(t).where(*where)).scalar_one())
        rows = conn.execute(
            select(t.c.seq, t.c.hash, t.c.prev_hash, t.c.created_at, t.c.body)
            .where(*where)
            .order_by(t.c.seq.desc())
            .limit(query.limit)
            .offset(query.offset)
        ).all()
    entries = [
        AuditEntry(r.seq, r.hash, r.prev_hash, r.created_at, json.loads(r.body)) for r in rows
    ]
    return AuditPage(entries, total, query)


def surfaces(state: NodeState) -> list[str]:
    """The surfaces that appear in the log (for a search form's choices)."""
    t = _table(AuditRow)
    with state.engine.connect() as conn:
        return sorted(str(s) for s in conn.execute(select(t.c.surface).distinct()).scalars())


def outcomes(state: NodeState) -> list[str]:
    """The outcomes that appear in the log (answered, refused, recorded, error ...)."""
    t = _table(AuditRow)
    with state.engine.connect() as conn:
        return sorted(str(s) for s in conn.execute(select(t.c.outcome).distinct()).scalars())


def entry_status(check: AuditCheck, seq: int) -> str:
    """anchored | chained | unverified (see the module docstring)."""
    chain = check.chain
    if not chain.ok and chain.first_bad_seq is not None and seq >= chain.first_bad_seq:
        return "unverified"
    if check.problems and chain.ok:  # the chain holds but an anchor or the ledger disagrees
        return "unverified"
    if check.anchor is not None and seq <= check.anchor.entries:
        return "anchored"
    return "chained"


def recipients_summary(state: NodeState, *, dataset_id: str | None = None) -> list[dict[str, Any]]:
    """Who received what: one row per recipient, dataset and kind, most recent first."""
    t = _table(LedgerRow)
    q = select(
        t.c.recipient_key,
        t.c.recipient_subject,
        t.c.dataset_id,
        t.c.kind,
        func.count(func.distinct(t.c.audit_seq)).label("answers"),
        func.max(t.c.n_members).label("max_people"),
        func.min(t.c.created_at).label("first_at"),
        func.max(t.c.created_at).label("last_at"),
    ).group_by(t.c.recipient_key, t.c.recipient_subject, t.c.dataset_id, t.c.kind)
    if dataset_id:
        q = q.where(t.c.dataset_id == dataset_id)
    with state.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(q)]
    rows.sort(key=lambda r: (-float(r["last_at"]), r["recipient_key"], r["dataset_id"]))
    return rows


__all__ = [
    "MAX_PAGE",
    "AuditPage",
    "AuditQuery",
    "entry_status",
    "outcomes",
    "recipients_summary",
    "search_audit",
    "surfaces",
]
