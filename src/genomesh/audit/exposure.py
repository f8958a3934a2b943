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


class ExposureStore:
    """Prepared statements over `gs_exposure`, `gs_answer_memo`, `gs_scrutiny`, `gs_question`."""

    def __init__(
        self,
        engine: Engine,
        exposure: Table,
        memo: Table,
        scrutiny: Table | None = None,
        question: Table | None = None,
    ) -> None:
        self.engine = engine
        one = (exposure.c.dataset_id == bindparam("d"), exposure.c.individual_id == bindparam("i"))
        self._spent = DriverStatement(select(exposure.c.spent).where(*one), engine)
        self._add = DriverStatement(
            exposure.insert(),
            engine,
            columns=("dataset_id", "individual_id", "spent", "updated_at"),
        )
        self._raise = DriverStatement(
            update(exposure).where(*one).values(spent=bindparam("s"), updated_at=bindparam("t")),
            engine,
        )
        self._memo = DriverStatement(
            select(memo.c.withheld).where(memo.c.fingerprint == bindparam("f")), engine
        )
        self._add_memo = DriverStatement(
            memo.insert(), engine, columns=("fingerprint", "dataset_id", "withheld", "created_at")
        )
        scrutiny = ScrutinyRow.__table__ if scrutiny is None else scrutiny
        question = QuestionRow.__table__ if question is None else question
        assert isinstance(scrutiny, Table) and isinstance(question, Table)
        who = (scrutiny.c.dataset_id == bindparam("d"), scrutiny.c.individual_id == bindparam("i"))
        self._asked = DriverStatement(select(scrutiny.c.asked).where(*who), engine)
        self._add_asked = DriverStatement(
            scrutiny.insert(),
            engine,
            columns=("dataset_id", "individual_id", "asked", "updated_at"),
        )
        self._raise_asked = DriverStatement(
            update(scrutiny).where(*who).values(asked=bindparam("s"), updated_at=bindparam("t")),
            engine,
        )
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
            rows = self._read(cur, dataset_id, individuals)
        return {i: 0.0 if v is None else v for i, v in rows.items()}

    def memo(self, fingerprint: str) -> frozenset[str] | None:
        """Who was withheld from this answer when it was first given; None if never given."""
        with driver_cursor(self.engine, write=False) as cur:
            return self._read_memo(cur, fingerprint)

    def asked(self, dataset_id: str, individuals: Iterable[str]) -> dict[str, float]:
        """Scrutiny so far of each of these participants (0 if never asked about)."""
        with driver_cursor(self.engine, write=False) as cur:
            rows = self._read_asked(cur, dataset_id, individuals)
        return {i: 0.0 if v is None else v for i, v in rows.items()}

    def counted(self, question: str) -> bool:
        """Was this question (its key) already counted in the scrutiny accounts?"""
        with driver_cursor(self.engine, write=False) as cur:
            return self._question.execute(cur, {"k": question}).fetchone() is not None

    def _read_asked(
        self, cur: Any, dataset_id: str, individuals: Iterable[str]
    ) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for i in individuals:
            row = self._asked.execute(cur, {"d": dataset_id, "i": i}).fetchone()
            out[i] = float(row[0]) if row is not None else None
        return out

    def _read(
        self, cur: Any, dataset_id: str, individuals: Iterable[str]
    ) -> dict[str, float | None]:
        """Spent per participant; None where they have no row yet."""
        out: dict[str, float | None] = {}
        for i in individuals:
            row = self._spent.execute(cur, {"d": dataset_id, "i": i}).fetchone()
            out[i] = float(row[0]) if row is not None else None
        return out

    def _read_memo(self, cur: Any, fingerprint: str) -> frozenset[str] | None:
        row = self._memo.execute(cur, {"f": fingerprint}).fetchone()
        return None if row is None else frozenset(json.loads(row[0]))

    # ------------------------------------------------------------ write (audit transaction)
    def apply(self, cur: Any, decisions: Iterable[ExposureCharge], now: float) -> None:
        """Check each decision's reads still hold, then write its charges and memo row."""
        for d in decisions:
            self._check_scrutiny(cur, d)
            if d.memo:
                self._charge(cur, d, now)
            self._count_question(cur, d, now)

    def _check_scrutiny(self, cur: Any, d: ExposureCharge) -> None:
        """Nobody this decision read as under (or over) the scrutiny budget crossed it since."""
        if d.scrutiny_budget is None or not d.asked_read:
            return
        budget = d.scrutiny_budget
        now = self._read_asked(cur, d.dataset_id, d.asked_read)
        for i, before in d.asked_read.items():
            if ((now[i] or 0.0) >= budget) != (before >= budget):
                raise ExposureChanged("a participant's scrutiny crossed its budget meanwhile")

    def _count_question(self, cur: Any, d: ExposureCharge, now: float) -> None:
        """Add a question's scrutiny to its carriers, the first time it is asked."""
        if d.question is None or not d.question_carriers or d.question_charge <= 0:
            return
        if self._question.execute(cur, {"k": d.question}).fetchone() is not None:
            return  # counted meanwhile (another worker): nothing more to add
        current = self._read_asked(cur, d.dataset_id, d.question_carriers)
        fresh = [
            {"dataset_id": d.dataset_id, "individual_id": i, "asked": d.question_charge,
             "updated_at": now}
            for i, v in current.items() if v is None
        ]  # fmt: skip
        raised = [
            {"d": d.dataset_id, "i": i, "s": v + d.question_charge, "t": now}
            for i, v in current.items()
            if v is not None
        ]
        if fresh:
            self._add_asked.execute_many(cur, fresh)
        if raised:
            self._raise_asked.execute_many(cur, raised)
        self._add_question.execute(
            cur, {"key": d.question, "dataset_id": d.dataset_id, "created_at": now}
        )

    def _charge(self, cur: Any, d: ExposureCharge, now: float) -> None:
        """A first answer: check its exposure reads, write its charges and its memo row."""
        if self._read_memo(cur, d.fingerprint) is not None:
            raise ExposureChanged(f"answer {d.fingerprint[:12]} was given meanwhile")
        current = self._read(cur, d.dataset_id, {*d.read, *d.charges})
        if any(abs((current[i] or 0.0) - d.read.get(i, 0.0)) > 1e-12 for i in current):
            raise ExposureChanged("a participant was charged meanwhile")
        fresh, raised = [], []
        for i, nats in d.charges.items():
            before = current[i]
            if before is not None:
                raised.append({"d": d.dataset_id, "i": i, "s": before + nats, "t": now})
            else:
                fresh.append(
                    {"dataset_id": d.dataset_id, "individual_id": i, "spent": nats,
                     "updated_at": now}
                )  # fmt: skip
        if fresh:
            self._add.execute_many(cur, fresh)
        if raised:
            self._raise.execute_many(cur, raised)
        self._add_memo.execute(
            cur,
            {
                "fingerprint": d.fingerprint,
                "dataset_id": d.dataset_id,
                "withheld": json.dumps(sorted(d.withheld)),
                "created_at": now,
            },
        )


def tables() -> tuple[Table, Table]:
    """The exposure and memo tables (scrutiny and question tables default in the store)."""
    exposure, memo = ExposureRow.__table__, AnswerMemoRow.__table__
    assert isinstance(exposure, Table) and isinstance(memo, Table)
    return exposure, memo


__all__ = ["ExposureChanged", "ExposureCharge", "ExposureStore", "tables"]
