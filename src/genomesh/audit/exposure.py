"""Per-participant exposure, scrutiny and the answer memo, in the node state database.

The gate decides, from a read of these tables, who is withheld from an answer and what each
remaining carrier is charged (genomesh.disclosure.exposure). `NodeState.append_audit` then
writes the charges and the memo in the transaction of the audit entry, after re-reading what
the decision rested on: if another request (this worker or another) changed it meanwhile,
`ExposureChanged` is raised, nothing is written, and the gate decides again. Appends are
serialised (the head row is locked first), so the re-read is exact.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Table, bindparam, select, update

from genomesh.audit.driver import DriverStatement, driver_cursor
from genomesh.audit.tables import AnswerMemoRow, ExposureRow, QuestionRow, ScrutinyRow


class ExposureChanged(Exception):
    """What an exposure decision rested on changed before it was written; decide again."""


@dataclass(frozen=True)
class ExposureCharge:
    """One answer's exposure decision for one dataset, to write with its audit entry."""

    dataset_id: str
    fingerprint: str  # the distinct answer (see Gate); its memo row is written once
    read: Mapping[str, float]  # spent, as read when deciding, of every carrier considered
    charges: Mapping[str, float] = field(default_factory=dict)  # participant -> nats
    withheld: frozenset[str] = frozenset()
    memo: bool = True  # a first answer: write its memo row (False: a repeat, memo exists)
    # scrutiny (see genomesh.gate.narrowing): what was read and what this question adds
    scrutiny_budget: float | None = None
    asked_read: Mapping[str, float] = field(default_factory=dict)
    question: str | None = None  # key of the question, counted once
    question_charge: float = 0.0  # added to each of `question_carriers` the first time
    question_carriers: frozenset[str] = frozenset()


class _Account:
    """Prepared statements over one per-participant account table (dataset, individual,
    a value column, updated_at): read values, add amounts (in the caller's transaction)."""

    def __init__(self, table: Table, column: str, engine: Engine) -> None:
        who = (table.c.dataset_id == bindparam("d"), table.c.individual_id == bindparam("i"))
        self.column = column
        self._read = DriverStatement(select(table.c[column]).where(*who), engine)
        self._insert = DriverStatement(
            table.insert(), engine, columns=("dataset_id", "individual_id", column, "updated_at")
        )
        self._update = DriverStatement(
            update(table)
            .where(*who)
            .values({column: bindparam("s"), "updated_at": bindparam("t")}),
            engine,
        )

    def read(
        self, cur: Any, dataset_id: str, individuals: Iterable[str]
    ) -> dict[str, float | None]:
        """The value per participant; None where they have no row yet."""
        out: dict[str, float | None] = {}
        for i in individuals:
            row = self._read.execute(cur, {"d": dataset_id, "i": i}).fetchone()
            out[i] = float(row[0]) if row is not None else None
        return out

    def add(
        self,
        cur: Any,
        dataset_id: str,
        amounts: Mapping[str, float],
        current: Mapping[str, float | None],
        now: float,
    ) -> None:
        """Add each amount to its participant's value (`current`: as read in this transaction)."""
        fresh = [
            {"dataset_id": dataset_id, "individual_id": i, self.column: v, "updated_at": now}
            for i, v in amounts.items()
            if current[i] is None
        ]
        raised = [
            {"d": dataset_id, "i": i, "s": (current[i] or 0.0) + v, "t": now}
            for i, v in amounts.items()
            if current[i] is not None
        ]
        if fresh:
            self._insert.execute_many(cur, fresh)
        if raised:
            self._update.execute_many(cur, raised)


class ExposureStore:
    """Prepared statements over `gs_exposure`, `gs_answer_memo`, `gs_scrutiny`, `gs_question`."""

    def __init__(
        self,
        engine: Engine,
        exposure: Table,
        memo: Table,
        scrutiny: Table,
        question: Table,
    ) -> None:
        self.engine = engine
        self._exposure = _Account(exposure, "spent", engine)
        self._memo = DriverStatement(
            select(memo.c.withheld).where(memo.c.fingerprint == bindparam("f")), engine
        )
        self._add_memo = DriverStatement(
            memo.insert(), engine, columns=("fingerprint", "dataset_id", "withheld", "created_at")
        )
        self._scrutiny = _Account(scrutiny, "asked", engine)
        self._question = DriverStatement(
            select(question.c.key).where(question.c.key == bindparam("k")), engine
        )
        self._add_question = DriverStatement(
            question.insert(), engine, columns=("key", "dataset_id", "created_at")
        )

    # ------------------------------------------------------------ reads (before deciding)
    def spent(self, dataset_id: str, individuals: Iterable[str]) -> dict[str, float]:
        """Nats spent so far by each of these participants (0 if never charged)."""
        with driver_cursor(self.engine, write=False) as cur:
            rows = self._exposure.read(cur, dataset_id, individuals)
        return {i: 0.0 if v is None else v for i, v in rows.items()}

    def memo(self, fingerprint: str) -> frozenset[str] | None:
        """Who was withheld from this answer when it was first given; None if never given."""
        with driver_cursor(self.engine, write=False) as cur:
            return self._read_memo(cur, fingerprint)

    def asked(self, dataset_id: str, individuals: Iterable[str]) -> dict[str, float]:
        """Scrutiny so far of each of these participants (0 if never asked about)."""
        with driver_cursor(self.engine, write=False) as cur:
            rows = self._scrutiny.read(cur, dataset_id, individuals)
        return {i: 0.0 if v is None else v for i, v in rows.items()}

    def look(
        self, fingerprint: str, question: str | None, dataset_id: str, carriers: Iterable[str]
    ) -> tuple[frozenset[str] | None, bool, dict[str, float]]:
        """What narrowing reads first, on one connection: the answer's memo, whether the
        question was counted (False when `question` is None), and - for a first answer only -
        the carriers' scrutiny (0 if never asked about)."""
        with driver_cursor(self.engine, write=False) as cur:
            memo = self._read_memo(cur, fingerprint)
            counted = (
                question is not None
                and self._question.execute(cur, {"k": question}).fetchone() is not None
            )
            asked = {} if memo is not None else self._scrutiny.read(cur, dataset_id, carriers)
        return memo, counted, {i: 0.0 if v is None else v for i, v in asked.items()}

    def counted(self, question: str) -> bool:
        """Was this question (its key) already counted in the scrutiny accounts?"""
        with driver_cursor(self.engine, write=False) as cur:
            return self._question.execute(cur, {"k": question}).fetchone() is not None

    def _read_memo(self, cur: Any, fingerprint: str) -> frozenset[str] | None:
        row = self._memo.execute(cur, {"f": fingerprint}).fetchone()
        return None if row is None else frozenset(json.loads(row[0]))

    # ------------------------------------------------------------ write (audit transaction)
    def apply(self, cur: Any, decisions: Iterable[ExposureCharge], now: float) -> None:
        """Check each decision's reads still hold, then write its charges and memo row."""
        for d in decisions:
            read = self._check_scrutiny(cur, d)
            if d.memo:
                self._charge(cur, d, now)
            self._count_question(cur, d, now, read)

    def _check_scrutiny(self, cur: Any, d: ExposureCharge) -> dict[str, float | None]:
        """Nobody this decision read as under (or over) the scrutiny budget crossed it since;
        returns the scrutiny read here (in the transaction), for `_count_question`."""
        if d.scrutiny_budget is None or not d.asked_read:
            return {}
        budget = d.scrutiny_budget
        now = self._scrutiny.read(cur, d.dataset_id, d.asked_read)
        for i, before in d.asked_read.items():
            if ((now[i] or 0.0) >= budget) != (before >= budget):
                raise ExposureChanged("a participant's scrutiny crossed its budget meanwhile")
        return now

    def _count_question(
        self, cur: Any, d: ExposureCharge, now: float, read: Mapping[str, float | None]
    ) -> None:
        """Add a question's scrutiny to its carriers, the first time it is asked (`read`: their
        scrutiny as already read in this transaction, where it was)."""
        if d.question is None or not d.question_carriers or d.question_charge <= 0:
            return
        if self._question.execute(cur, {"k": d.question}).fetchone() is not None:
            return  # counted meanwhile (another worker): nothing more to add
        missing = [i for i in d.question_carriers if i not in read]
        current = {**read, **self._scrutiny.read(cur, d.dataset_id, missing)}
        charge = dict.fromkeys(d.question_carriers, d.question_charge)
        self._scrutiny.add(cur, d.dataset_id, charge, current, now)
        self._add_question.execute(
            cur, {"key": d.question, "dataset_id": d.dataset_id, "created_at": now}
        )

    def _charge(self, cur: Any, d: ExposureCharge, now: float) -> None:
        """A first answer: check its exposure reads, write its charges and its memo row."""
        if self._read_memo(cur, d.fingerprint) is not None:
            raise ExposureChanged(f"answer {d.fingerprint[:12]} was given meanwhile")
        current = self._exposure.read(cur, d.dataset_id, {*d.read, *d.charges})
        if any(abs((current[i] or 0.0) - d.read.get(i, 0.0)) > 1e-12 for i in current):
            raise ExposureChanged("a participant was charged meanwhile")
        self._exposure.add(cur, d.dataset_id, d.charges, current, now)
        self._add_memo.execute(
            cur,
            {
                "fingerprint": d.fingerprint,
                "dataset_id": d.dataset_id,
                "withheld": json.dumps(sorted(d.withheld)),
                "created_at": now,
            },
        )


def tables() -> tuple[Table, Table, Table, Table]:
    """The exposure, memo, scrutiny and question tables (the store's arguments, in order)."""
    out = (
        ExposureRow.__table__,
        AnswerMemoRow.__table__,
        ScrutinyRow.__table__,
        QuestionRow.__table__,
    )
    assert all(isinstance(t, Table) for t in out)
    return out  # type: ignore[return-value]


__all__ = ["ExposureChanged", "ExposureCharge", "ExposureStore", "tables"]
