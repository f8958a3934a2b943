"""Hot-path statements: SQLAlchemy Core compiled once per dialect, run on the DBAPI cursor.

The gate writes an audit entry (head bump, budget check and charge, entry, ledger rows, head
hash) and reads a few small things for every answer. Through `Connection.execute` each
statement cost ~60-90 µs of SQLAlchemy work (parameter processing, result wrapping) on top of
~10 µs in SQLite. These statements take and return plain values only (str, int, float,
bytes), so compiling them once and handing them to the driver changes nothing but the cost.
The same SQL text runs on SQLite (qmark) and PostgreSQL (pyformat): SQLAlchemy renders it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.sql import ClauseElement


class DriverStatement:
    """One Core statement as the dialect's SQL text, with its parameters in driver order."""

    def __init__(
        self, statement: ClauseElement, engine: Engine, *, columns: Sequence[str] | None = None
    ) -> None:
        """`columns`: for an INSERT, the columns given (bound by their own names)."""
        kw: dict[str, Any] = {} if columns is None else {"column_keys": list(columns)}
        compiled = statement.compile(dialect=engine.dialect, **kw)
        self.sql = str(compiled)
        # Literal values in the statement (`seq + 1`, `exact == 1`) are bound parameters too.
        self._defaults = {k: v for k, v in compiled.params.items() if v is not None}
        positions = getattr(compiled, "positiontup", None) if engine.dialect.positional else None
        self._names: tuple[str, ...] | None = None if positions is None else tuple(positions)

    def args(self, params: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
        merged = {**self._defaults, **params} if self._defaults else params
        return merged if self._names is None else tuple(merged[n] for n in self._names)

    def execute(self, cursor: Any, params: Mapping[str, Any] | None = None) -> Any:
        cursor.execute(self.sql, self.args(params or {}))
        return cursor

    def execute_many(self, cursor: Any, rows: Sequence[Mapping[str, Any]]) -> None:
        cursor.executemany(self.sql, [self.args(r) for r in rows])


@contextmanager
def driver_cursor(engine: Engine, *, write: bool) -> Iterator[Any]:
    """A pooled DBAPI connection's cursor. With `write`, commits when the block succeeds;
    any exception rolls back. (Reads end in a rollback: the pool's reset on return.)"""
    conn = engine.raw_connection()
    try:
        cursor = conn.cursor()
        try:
            yield cursor
            if write:
                conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            cursor.close()
    finally:
        conn.close()  # back to the pool


__all__ = ["DriverStatement", "driver_cursor"]
