"""Per-participant exposure and the answer memo, in the node state database.

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
from genomesh.audit.tables import AnswerMemoRow, ExposureRow


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


class ExposureStore:
    """Prepared statements over `gs_exposure` and `gs_answer_memo`."""

    def __init__(self, engine: Engine, exposure: Table, memo: Table) -> None:
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
    exposure, memo = ExposureRow.__table__, AnswerMemoRow.__table__
    assert isinstance(exposure, Table) and isinstance(memo, Table)
    return exposure, memo


__all__ = ["ExposureChanged", "ExposureCharge", "ExposureStore", "tables"]
