"""The secure-run ledger in the hub's database: which dataset sets ran each GWAS definition.

`genomesh.analysis.gwas.nodesets` refuses a secure run whose dataset set, together with the
earlier runs of the same definition, would let the hub difference out one dataset's sums.
That check is only as good as its memory: kept in process memory, a hub restart would
forget every earlier run and allow the differencing rerun. `SqlNodeSetLedger` keeps the runs
in the hub's own database (SQLite or PostgreSQL, the registry's engine), so the check
survives restarts; the coordinator installs it with `nodesets.set_ledger` at start-up.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, insert, select
from sqlalchemy.engine import Engine

metadata = MetaData()
runs_table = Table(
    "hub_secure_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("definition", String(64), nullable=False, index=True),  # GwasParams.definition_key
    Column("units", Text, nullable=False),  # sorted JSON list of "node/dataset"
    Column("recorded", DateTime(timezone=True), nullable=False),
)


class SqlNodeSetLedger:
    """`nodesets.NodeSetLedger` over the hub database (one row per recorded run)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def runs(self, definition: str) -> list[frozenset[str]]:
        query = select(runs_table.c.units).where(runs_table.c.definition == definition)
        with self.engine.connect() as con:
            rows = con.execute(query.order_by(runs_table.c.id)).scalars().all()
        return [frozenset(json.loads(units)) for units in rows]

    def record(self, definition: str, units: frozenset[str]) -> None:
        row = {
            "definition": definition,
            "units": json.dumps(sorted(units)),
            "recorded": datetime.now(UTC),
        }
        with self.engine.begin() as con:
            con.execute(insert(runs_table).values(**row))


__all__ = ["SqlNodeSetLedger", "runs_table"]
