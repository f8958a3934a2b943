"""NodeState: the node's mutable state behind one interface (SQLite default, PostgreSQL).

Holds the hash-chained audit log, the disclosure ledger, query-budget charges,
withdrawals, withdrawal notifications and participant tokens. The same SQLAlchemy code
runs on SQLite (`sqlite:///NODE_DIR/state.sqlite`) and PostgreSQL (`postgresql+psycopg://`);
one contract test suite checks both. `genomesh.node.state` re-exports it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import (
    Engine,
    Table,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from genomesh.audit.chain import GENESIS, VerifyResult, canonical_json, entry_hash, verify_rows
from genomesh.audit.driver import DriverStatement, driver_cursor
from genomesh.audit.exposure import ExposureCharge, ExposureStore
from genomesh.audit.exposure import tables as exposure_tables
from genomesh.audit.ledger import Rosters, decode, encode, group, has_bit
from genomesh.audit.records import (
    AuditEntry,
    Contribution,
    Disclosure,
    FlaggedResult,
    LedgerEntry,
    Notification,
    Recipient,
    Withdrawal,
)
from genomesh.audit.schema import ensure_schema
from genomesh.audit.tables import (
    AuditHeadRow,
    AuditRow,
    Base,
    BudgetRow,
    LedgerRow,
    NotificationRow,
    ParticipantTokenRow,
    RosterRow,
    WithdrawalRow,
)
from genomesh.core.errors import BudgetExhaustedError, ConflictError
from genomesh.core.settings import NodeSettings

TOKEN_PREFIX = "gsp_"
_AUDIT_COLUMNS = (
    "seq", "created_at", "identity_key", "surface", "operation", "outcome", "body", "prev_hash",
    "hash",
)  # fmt: skip
_LEDGER_COLUMNS = (
    "audit_seq", "dataset_id", "roster_id", "recipient_key", "recipient_subject", "kind", "exact",
    "created_at", "n_members", "members",
)  # fmt: skip


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")  # first: the WAL switch below may wait
    cursor.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL: a commit survives a crash of the process; only an OS crash or power loss
    # can lose the newest transactions (never corrupt the chain). See docs/audit.md.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class NodeState:
    """The node state database. Open with `NodeState.open(settings)` or `NodeState.from_url(url)`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._append_lock = threading.Lock()
        head, audit, budget, wd = (
            _table(AuditHeadRow),
            _table(AuditRow),
            _table(BudgetRow),
            _table(WithdrawalRow),
        )
        ledger = _table(LedgerRow)
        # The per-answer statements, built once as Core and run as driver SQL (audit.driver).
        # Bumping the head's seq takes the write lock (SQLite) / row lock (PostgreSQL) and,
        # with RETURNING, reads the new seq and the previous hash in the same statement.
        self._d_next_seq = DriverStatement(
            update(head).where(head.c.id == 1).values(seq=head.c.seq + 1)
            .returning(head.c.seq, head.c.hash),
            engine,
        )  # fmt: skip
        self._d_set_head = DriverStatement(
            update(head).where(head.c.id == 1).values(hash=bindparam("new_hash")), engine
        )
        self._d_add_entry = DriverStatement(audit.insert(), engine, columns=_AUDIT_COLUMNS)
        self._d_add_ledger = DriverStatement(ledger.insert(), engine, columns=_LEDGER_COLUMNS)
        mine = budget.c.identity_key == bindparam("k")
        self._d_used = DriverStatement(
            select(func.count()).select_from(budget)
            .where(mine, budget.c.created_at > bindparam("since")),
            engine,
        )  # fmt: skip
        self._d_charge = DriverStatement(
            budget.insert(), engine, columns=("identity_key", "created_at")
        )
        self._d_forget = DriverStatement(
            delete(budget).where(mine, budget.c.created_at <= bindparam("since")), engine
        )
        # Withdrawals are only ever added (a unique row per dataset and individual), so
        # (number of rows, highest id) changes with every new one: the guard re-reads the
        # withdrawn lists only when it does.
        self._d_withdrawals_version = DriverStatement(
            select(func.count(), func.coalesce(func.max(wd.c.id), 0)), engine
        )
        self._q_withdrawn = select(wd.c.individual_id).where(wd.c.dataset_id == bindparam("d"))
        # A recipient's latest exactly-disclosed answers from a dataset (anti-differencing
        # reads them before every count of individuals): all rosters, and one roster.
        recent = (
            ledger.c.recipient_key == bindparam("k"),
            ledger.c.dataset_id == bindparam("d"),
            ledger.c.exact == 1,
        )
        newest = ledger.c.audit_seq.desc()
        self._d_recent = DriverStatement(
            select(ledger.c.roster_id, ledger.c.members).where(*recent).order_by(newest)
            .limit(bindparam("n")),
            engine,
        )  # fmt: skip
        self._q_recent_same = (
            select(ledger.c.members).where(*recent, ledger.c.roster_id == bindparam("r"))
            .order_by(newest).limit(bindparam("n"))
        )  # fmt: skip
        self._rosters = Rosters(_table(RosterRow), engine)
        self.exposure = ExposureStore(engine, *exposure_tables())
        # Create / migrate / refuse under a lock (genomesh.audit.schema): an older or newer
        # database fails here, at start-up, never as a 500 at query time.
        self._pseudonym_key = bytes.fromhex(ensure_schema(engine))
        # The secret that keys differential-privacy noise (genomesh.gate.noise): derived from
        # the pseudonym key, so it is per node and never stored or shown on its own.
        self.noise_key = hmac.new(self._pseudonym_key, b"dp-noise", hashlib.sha256).digest()

    @classmethod
    def open(cls, settings: NodeSettings) -> NodeState:
        """Open (creating if needed) the state database named by the node settings."""
        return cls.from_url(settings.state_database_url)

    @classmethod
    def from_url(cls, url: str) -> NodeState:
        """`sqlite:///PATH`, `sqlite://` (in memory, one process), or a PostgreSQL URL."""
        if url in ("sqlite://", "sqlite:///:memory:"):
            # One connection holds the database; a pool of exactly one hands it to one thread
            # at a time. (A StaticPool shares it between threads at once: one thread's read
            # then ends - rolls back - another thread's open write transaction.)
            engine = create_engine(
                "sqlite://",
                connect_args={"check_same_thread": False},
                poolclass=QueuePool,
                pool_size=1,
                max_overflow=0,
            )
            return cls(engine)
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> NodeState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _session(self) -> Session:
        return self._sessions()

    # ---------------------------------------------------------------- audit log
    def append_audit(
        self,
        body: dict[str, Any],
        *,
        disclosures: Iterable[Disclosure | Contribution] = (),
        recipient_key: str | None = None,
        recipient_subject: str | None = None,
        now: float | None = None,
        charge: BudgetCharge | None = None,
        exposure: Sequence[ExposureCharge] = (),
    ) -> AuditEntry:
        """Append one entry to the chain (and its ledger rows) in one transaction.

        With `charge`, the identity's query budget is checked and charged in the same
        transaction (the body's `budget` then records the charge); if it is spent,
        `BudgetExhaustedError` is raised and nothing is written. `exposure`: participants'
        exposure charges and answer memos (genomesh.audit.exposure), written in the same
        transaction; `ExposureChanged` (nothing written) if what they rested on changed.
        """
        created = time.time() if now is None else now
        # Rosters and bitmaps first: a contribution naming someone off the roster fails here,
        # before anything is written.
        prepared = []
        for c in group(disclosures):
            if c.members:
                roster = self._rosters.ensure(c)
                prepared.append((c, roster.id, encode(roster, c.members)))
        with self._append_lock, driver_cursor(self.engine, write=True) as cur:
            # Touch the head first: this takes the write lock (SQLite) / row lock (PostgreSQL)
            # so concurrent appends are serialised and the chain never forks.
            seq, prev = self._d_next_seq.execute(cur).fetchone()
            full = {**body, "seq": seq}
            if exposure:
                self.exposure.apply(cur, exposure, created)
            if charge is not None:
                used = self._charge(cur, charge, created)
                full["budget"] = {
                    **full.get("budget", {}),
                    "charged": True,
                    "used": used,
                    "limit": charge.limit,
                    "window_seconds": charge.window_seconds,
                }
            text = canonical_json(full)
            digest = entry_hash(prev, text)
            who, what = full.get("who", {}), full.get("what", {})
            self._d_add_entry.execute(
                cur,
                {
                    "seq": seq,
                    "created_at": created,
                    "identity_key": str(who.get("identity_key")),
                    "surface": str(what.get("surface")),
                    "operation": str(what.get("operation")),
                    "outcome": str(full.get("outcome")),
                    "body": text,
                    "prev_hash": prev,
                    "hash": digest,
                },
            )
            key = recipient_key or str(who.get("identity_key"))
            rows = [
                {
                    "audit_seq": seq,
                    "dataset_id": c.dataset_id,
                    "roster_id": roster_id,
                    "recipient_key": key,
                    "recipient_subject": recipient_subject,
                    "kind": c.kind,
                    "exact": int(c.exact),
                    "created_at": created,
                    "n_members": len(c.members),
                    "members": bitmap,
                }
                for c, roster_id, bitmap in prepared
            ]
            if rows:
                self._d_add_ledger.execute_many(cur, rows)
            self._d_set_head.execute(cur, {"new_hash": digest})
        return AuditEntry(seq=seq, hash=digest, prev_hash=prev, created_at=created, body=full)

    def audit_entries(self, *, last: int | None = None, after_seq: int = 0) -> list[AuditEntry]:
        """Audit entries in chain order (the newest `last` ones when given)."""
        with self._session() as s:
            q = select(AuditRow).where(AuditRow.seq > after_seq)
            if last is not None:
                q = q.order_by(AuditRow.seq.desc()).limit(last)
            rows = list(s.execute(q).scalars())
        rows.sort(key=lambda r: r.seq)
        return [
            AuditEntry(r.seq, r.hash, r.prev_hash, r.created_at, json.loads(r.body)) for r in rows
        ]

    def audit_entries_of(self, identity_key: str) -> list[AuditEntry]:
        """The entries one identity wrote, in chain order (an indexed read: registers kept
        in the chain, such as compelled-disclosure requests, are read this way)."""
        with self._session() as s:
            q = select(AuditRow).where(AuditRow.identity_key == identity_key).order_by(AuditRow.seq)
            rows = list(s.execute(q).scalars())
        return [
            AuditEntry(r.seq, r.hash, r.prev_hash, r.created_at, json.loads(r.body)) for r in rows
        ]

    def audit_entry(self, seq: int) -> AuditEntry | None:
        with self._session() as s:
            r = s.get(AuditRow, seq)
            return (
                None
                if r is None
                else AuditEntry(r.seq, r.hash, r.prev_hash, r.created_at, json.loads(r.body))
            )

    def head(self) -> tuple[int, str]:
        """The chain head (sequence number, hash); publish it to anchor the log."""
        with self._session() as s:
            h = s.get(AuditHeadRow, 1)
            return (h.seq, h.hash) if h else (0, GENESIS)

    def verify(self, *, expected_head: tuple[int, str] | None = None) -> VerifyResult:
        """Check the whole chain; names the first edited, deleted, reordered or inserted entry."""
        with self._session() as s:
            head_row = s.get(AuditHeadRow, 1)
            head = (head_row.seq, head_row.hash) if head_row else None
            rows = s.execute(select(AuditRow).order_by(AuditRow.seq)).scalars()
            return verify_rows(rows, head=head, expected_head=expected_head)

    # ---------------------------------------------------------------- budgets
    def budget_used(self, identity_key: str, *, since: float) -> int:
        """Queries this identity was charged since `since` (the gate reads it before charging)."""
        with driver_cursor(self.engine, write=False) as cur:
            return int(self._d_used.execute(cur, {"k": identity_key, "since": since}).fetchone()[0])

    def try_charge(
        self, identity_key: str, *, limit: int, window_seconds: float, now: float | None = None
    ) -> int | None:
        """Charge one query if the identity has budget left; returns the number used, None if spent."""
        now = time.time() if now is None else now
        try:
            with driver_cursor(self.engine, write=True) as cur:
                return self._charge(cur, BudgetCharge(identity_key, limit, window_seconds), now)
        except BudgetExhaustedError:
            return None

    def _charge(self, cur: Any, charge: BudgetCharge, now: float) -> int:
        """Inside a write transaction (a driver cursor): charge one query, or raise if spent."""
        since = now - charge.window_seconds
        k = charge.identity_key
        used = int(self._d_used.execute(cur, {"k": k, "since": since}).fetchone()[0])
        if used >= charge.limit:
            raise BudgetExhaustedError(
                f"query budget spent: {charge.limit} queries per {charge.window_seconds} s "
                "for this identity; try again later",
                details={"limit": charge.limit, "window_seconds": charge.window_seconds},
            )
        self._d_charge.execute(cur, {"identity_key": k, "created_at": now})
        if used % 100 == 0:  # now and then, drop charges outside every window
            self._d_forget.execute(cur, {"k": k, "since": since})
        return used + 1

    # ---------------------------------------------------------------- ledger
    def ledger(self, *, individual_id: str, dataset_id: str | None = None) -> list[LedgerEntry]:
        """Every disclosure of data derived from this participant (oldest first)."""
        t = _table(LedgerRow)
        with self.engine.connect() as conn:
            # A roster is shared by every dataset with the same members (stored once, under
            # the dataset that first used it): select rosters by member, rows by dataset.
            rosters = self._rosters.containing(conn, individual_id, None)
            if not rosters:
                return []
            q = select(
                t.c.roster_id, t.c.members, t.c.dataset_id, t.c.recipient_key,
                t.c.recipient_subject, t.c.audit_seq, t.c.kind, t.c.created_at,
            ).where(t.c.roster_id.in_(list(rosters))).order_by(t.c.id)  # fmt: skip
            if dataset_id is not None:
                q = q.where(t.c.dataset_id == dataset_id)
            return [
                LedgerEntry(ds, individual_id, key, subject, seq, kind, at)
                for rid, bitmap, ds, key, subject, seq, kind, at in conn.execute(q)
                if has_bit(bitmap, rosters[rid].position[individual_id])
            ]

    def recipients(
        self, *, dataset_id: str, individual_id: str, before: float | None = None
    ) -> list[Recipient]:
        """Everyone who received data derived from this participant in this dataset."""
        grouped: dict[tuple[str, str | None], list[LedgerEntry]] = {}
        for e in self.ledger(individual_id=individual_id, dataset_id=dataset_id):
            if before is None or e.created_at <= before:
                grouped.setdefault((e.recipient_key, e.recipient_subject), []).append(e)
        return [
            Recipient(
                recipient_key=key,
                recipient_subject=subject,
                kinds=tuple(sorted({e.kind for e in es})),
                n_answers=len({e.audit_seq for e in es}),
                first_at=min(e.created_at for e in es),
                last_at=max(e.created_at for e in es),
            )
            for (key, subject), es in sorted(grouped.items(), key=lambda kv: kv[0][0])
        ]

    def recent_contributor_sets(
        self, *, recipient_key: str, dataset_id: str, answers: int = 20
    ) -> list[frozenset[str]]:
        """Contributors of the recipient's latest exactly-disclosed answers (for anti-differencing)."""
        t = _table(LedgerRow)
        q = (
            select(t.c.roster_id, t.c.members)
            .where(t.c.recipient_key == recipient_key, t.c.dataset_id == dataset_id, t.c.exact == 1)
            .order_by(t.c.audit_seq.desc())
            .limit(answers)
        )
        with self.engine.connect() as conn:
            rows = list(conn.execute(q))
            rosters = self._rosters.load(conn, sorted({int(r[0]) for r in rows}))
        return [decode(rosters[int(rid)], bitmap) for rid, bitmap in rows]

    def recent_differences(
        self, contribution: Contribution, *, recipient_key: str, answers: int = 20
    ) -> list[int]:
        """How many people separate this answer from each of the recipient's latest
        exactly-disclosed answers from the same dataset (symmetric difference sizes).

        Compared as bitmaps (XOR + popcount) when the roster is the same, so the check costs
        microseconds even for answers over thousands of people.
        """
        roster = self._rosters.ensure(contribution)
        mine = np.frombuffer(encode(roster, contribution.members), dtype=np.uint8)
        t = _table(LedgerRow)
        q = (
            select(t.c.roster_id, t.c.members)
            .where(
                t.c.recipient_key == recipient_key,
                t.c.dataset_id == contribution.dataset_id,
                t.c.exact == 1,
            )
            .order_by(t.c.audit_seq.desc())
            .limit(answers)
        )
        with self.engine.connect() as conn:
            rows = list(conn.execute(q))
            others = self._rosters.load(conn, sorted({int(r[0]) for r in rows} - {roster.id}))
        out = []
        for rid, bitmap in rows:
            if int(rid) == roster.id:
                xor = np.bitwise_xor(mine, np.frombuffer(bitmap, dtype=np.uint8))
                out.append(int(np.unpackbits(xor).sum()))
            else:
                out.append(len(contribution.members ^ decode(others[int(rid)], bitmap)))
        return out

    def recent_overlaps(
        self, contribution: Contribution, *, recipient_key: str, answers: int = 20
    ) -> tuple[list[int], int, list[int]]:
        """`recent_differences` and the bitsets `isolating_split` needs, usually from one read:
        (differences, this answer's bits, earlier same-roster answers' bits)."""
        roster = self._rosters.ensure(contribution)
        packed = encode(roster, contribution.members)
        bits = int.from_bytes(packed, "big")
        params = {"k": recipient_key, "d": contribution.dataset_id, "n": answers}
        with driver_cursor(self.engine, write=False) as cur:
            rows = [(int(rid), bytes(b)) for rid, b in self._d_recent.execute(cur, params)]
        others: dict[int, Any] = {}
        same = [bitmap for _, bitmap in rows]
        if any(rid != roster.id for rid, _ in rows):  # answers over other rosters (rare)
            with self.engine.connect() as conn:
                others = self._rosters.load(conn, sorted({rid for rid, _ in rows} - {roster.id}))
                # the latest same-roster answers may reach further back than `rows`
                same_params = {**params, "r": roster.id}
                same = [bitmap for (bitmap,) in conn.execute(self._q_recent_same, same_params)]
        differences = []
        for rid, bitmap in rows:
            if rid == roster.id:  # same roster: XOR + popcount of the bitsets
                differences.append((bits ^ int.from_bytes(bitmap, "big")).bit_count())
            else:
                differences.append(len(contribution.members ^ decode(others[rid], bitmap)))
        return differences, bits, [int.from_bytes(b, "big") for b in same]

    def results_including_withdrawn(self) -> list[FlaggedResult]:
        """Answers given before a withdrawal that included the withdrawn participant."""
        flagged = [
            FlaggedResult(
                e.audit_seq,
                e.dataset_id,
                e.individual_id,
                e.recipient_key,
                e.recipient_subject,
                e.created_at,
                w.withdrawn_at,
            )
            for w in self.withdrawals()
            for e in self.ledger(individual_id=w.individual_id, dataset_id=w.dataset_id)
            if e.created_at <= w.withdrawn_at
        ]
        return sorted(flagged, key=lambda f: (f.audit_seq, f.dataset_id, f.individual_id))

    def flagged_audit_seqs(self) -> set[int]:
        return {f.audit_seq for f in self.results_including_withdrawn()}

    # ---------------------------------------------------------------- withdrawals
    def add_withdrawal(
        self, *, dataset_id: str, individual_id: str, reason: str | None, now: float | None = None
    ) -> Withdrawal:
        """Record a withdrawal (ConflictError if this participant already withdrew here)."""
        at = time.time() if now is None else now
        with self._session() as s:
            s.add(
                WithdrawalRow(
                    dataset_id=dataset_id,
                    individual_id=individual_id,
                    reason=reason,
                    withdrawn_at=at,
                )
            )
            try:
                s.commit()
            except IntegrityError as exc:
                raise ConflictError(
                    f"participant {individual_id!r} already withdrew from dataset {dataset_id!r}"
                ) from exc
        return Withdrawal(dataset_id, individual_id, reason, at)

    def withdrawals_version(self) -> tuple[int, int]:
        """A value that changes whenever a withdrawal is recorded (by any process).

        One indexed read, instead of reading every withdrawn list per answer."""
        with driver_cursor(self.engine, write=False) as cur:
            n, top = self._d_withdrawals_version.execute(cur).fetchone()
        return int(n), int(top)

    def withdrawn(self, dataset_id: str) -> frozenset[str]:
        """The individuals of a dataset who have withdrawn."""
        with self.engine.connect() as conn:
            return frozenset(conn.execute(self._q_withdrawn, {"d": dataset_id}).scalars())

    def withdrawals(self, *, individual_id: str | None = None) -> list[Withdrawal]:
        with self._session() as s:
            q = select(WithdrawalRow)
            if individual_id is not None:
                q = q.where(WithdrawalRow.individual_id == individual_id)
            return [
                Withdrawal(r.dataset_id, r.individual_id, r.reason, r.withdrawn_at)
                for r in s.execute(q.order_by(WithdrawalRow.id)).scalars()
            ]

    # ---------------------------------------------------------------- notifications
    def add_notification(
        self,
        *,
        dataset_id: str,
        individual_pseudonym: str,
        recipient_key: str,
        recipient_subject: str | None,
        message: str,
        delivery: str,
        now: float | None = None,
    ) -> int:
        with self._session() as s:
            row = NotificationRow(
                dataset_id=dataset_id,
                individual_pseudonym=individual_pseudonym,
                recipient_key=recipient_key,
                recipient_subject=recipient_subject,
                message=message,
                created_at=time.time() if now is None else now,
                delivery=delivery,
            )
            s.add(row)
            s.commit()
            return int(row.id)

    def set_delivery(self, ids: Sequence[int], *, status: str, detail: str | None = None) -> None:
        with self._session() as s, s.begin():
            at = time.time() if status == "delivered" else None
            s.execute(
                update(NotificationRow)
                .where(NotificationRow.id.in_(list(ids)))
                .values(delivery=status, delivery_detail=detail, delivered_at=at)
            )

    def notifications(self, *, dataset_id: str | None = None) -> list[Notification]:
        with self._session() as s:
            q = select(NotificationRow)
            if dataset_id is not None:
                q = q.where(NotificationRow.dataset_id == dataset_id)
            return [
                Notification(
                    r.id,
                    r.dataset_id,
                    r.individual_pseudonym,
                    r.recipient_key,
                    r.recipient_subject,
                    r.message,
                    r.created_at,
                    r.delivery,
                    r.delivery_detail,
                    r.delivered_at,
                )
                for r in s.execute(q.order_by(NotificationRow.id)).scalars()
            ]

    # ---------------------------------------------------------------- participants
    def pseudonym(self, dataset_id: str, individual_id: str) -> str:
        """A keyed hash of the participant (never the raw id) for messages that leave the node."""
        msg = f"{dataset_id}\x00{individual_id}".encode()
        return hmac.new(self._pseudonym_key, msg, hashlib.sha256).hexdigest()

    def issue_participant_token(self, individual_id: str) -> str:
        """A new random token for a participant; only its SHA-256 is stored."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._session() as s:
            s.add(
                ParticipantTokenRow(
                    token_hash=_sha256(token),
                    individual_id=individual_id,
                    created_at=time.time(),
                    revoked=0,
                )
            )
            s.commit()
        return token

    def participant_for_token(self, token: str) -> str | None:
        """The individual a token belongs to, or None (unknown or revoked)."""
        with self._session() as s:
            row = s.get(ParticipantTokenRow, _sha256(token))
            return None if row is None or row.revoked else row.individual_id

    def revoke_participant_tokens(self, individual_id: str) -> int:
        with self._session() as s, s.begin():
            res = s.execute(
                update(ParticipantTokenRow)
                .where(ParticipantTokenRow.individual_id == individual_id)
                .values(revoked=1)
            )
            return int(getattr(res, "rowcount", 0) or 0)


@dataclass(frozen=True)
class BudgetCharge:
    """Charge one query to `identity_key`, allowing `limit` per `window_seconds`."""

    identity_key: str
    limit: int
    window_seconds: float


def _table(model: type[Base]) -> Table:
    """The Core table of a mapped class (Core statements skip the ORM on hot paths)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


__all__ = [
    "AuditEntry",
    "BudgetCharge",
    "Contribution",
    "Disclosure",
    "FlaggedResult",
    "LedgerEntry",
    "NodeState",
    "Notification",
    "Recipient",
    "Withdrawal",
]
