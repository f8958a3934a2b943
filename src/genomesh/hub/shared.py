"""State every hub worker must see: seen nonces and change counters, in the hub database.

The hub may run as several processes (`genomesh hub serve --workers N`, or several machines
behind a load balancer) on one database (SQLite in WAL mode, or PostgreSQL). What one
worker learns that another must respect lives here, not in process memory:

* `SqlNonceCache` — the nonces of signed messages (dial-out polls and answers, audit heads,
  announcements, withdrawal notices). A message replayed to *another* worker is refused
  too: the nonce is a primary key, so the second insert fails whichever worker makes it.
* `versions_table` — one counter per kind of change (`revocations`, `dialout`). A writer
  bumps it in the same transaction as its change; a reader compares one small row with the
  value it saw and rebuilds a cache only when it moved (`read_version`, `bump_version`).

Everything that stays per process is listed in docs/hub.md ("Several workers").
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

metadata = MetaData()
nonces_table = Table(
    "hub_nonces",
    metadata,
    Column("nonce", String(128), primary_key=True),
    Column("seen", Float, nullable=False, index=True),
)
versions_table = Table(
    "hub_versions",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
)
MAX_NONCE = 128
PURGE_EVERY = 500  # inserts between deletions of nonces older than the window


def sqlite_pragmas(engine: Engine, *, foreign_keys: bool = False) -> None:
    """WAL and a busy timeout on every SQLite connection of `engine`: readers do not block
    the writer, and a writer waits for another process's transaction instead of failing."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if foreign_keys:
            cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


class SqlNonceCache:
    """`genomesh.hub.signing.NonceCache` over the hub database, shared by every worker."""

    def __init__(self, engine: Engine, window_seconds: float) -> None:
        self.engine = engine
        self.window = window_seconds
        self._inserts = 0

    def check_and_add(self, nonce: str, *, now: float | None = None) -> bool:
        """True if `nonce` is new (and remember it); False if any worker saw it before."""
        if len(nonce) > MAX_NONCE:
            return False  # no honest sender makes one this long; refuse rather than store it
        now = time.time() if now is None else now
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(nonces_table).values(nonce=nonce, seen=now))
        except IntegrityError:
            return False
        self._inserts += 1
        if self._inserts % PURGE_EVERY == 0:
            # older than twice the window: a message that old is refused for its timestamp
            with self.engine.begin() as conn:
                conn.execute(
                    delete(nonces_table).where(nonces_table.c.seen < now - 2 * self.window)
                )
        return True


def bump_version(conn: Connection, name: str) -> None:
    """Move counter `name` on (inside the caller's transaction, with the change itself)."""
    moved = conn.execute(
        update(versions_table)
        .where(versions_table.c.name == name)
        .values(version=versions_table.c.version + 1)
    ).rowcount
    if not moved:  # first change ever (the migration seeds the counters it knows)
        conn.execute(insert(versions_table).values(name=name, version=1))


def read_version(conn: Connection, name: str) -> int:
    """The counter's value (0 before its first change)."""
    value = conn.execute(
        select(versions_table.c.version).where(versions_table.c.name == name)
    ).scalar()
    return int(value or 0)


__all__ = [
    "SqlNonceCache",
    "bump_version",
    "metadata",
    "nonces_table",
    "read_version",
    "sqlite_pragmas",
    "versions_table",
]
