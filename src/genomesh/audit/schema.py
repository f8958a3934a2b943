"""The node state's schema version: create, migrate (additive steps) or refuse, safely.

`gs_meta.schema_version` records which schema a state database holds. On open:

* a fresh database gets every table and the current version;
* an older version is migrated in place when the steps are additive (new tables, columns
  or indexes), in one transaction;
* an older version whose data would need converting, or a newer version than this code
  knows, is refused with a `StoreError` naming the file, both versions and what to do, so
  the node fails at start-up instead of answering queries with a 500 ("no column ...").

All of it runs under one lock (SQLite: `BEGIN IMMEDIATE`, PostgreSQL: a transaction-level
advisory lock, in memory: a thread lock), so processes opening a fresh database at the same
moment (e.g. `genomesh node serve --workers 2`) do not race on CREATE TABLE.

Versions:
1. ledger with one row per participant (`gs_ledger.individual_id`); no `gs_roster`;
   no version stored (genomesh before the roster bitmaps).
2. ledger as bitmaps over rosters (`gs_roster`, `gs_ledger.roster_id/members/n_members/exact`);
   no version stored.
3. version stored in `gs_meta`; index `ix_gs_roster_dataset` (participant look-ups).
4. `gs_audit_anchor`: the signed audit heads sent to a hub (a new table, created on open).
5. per-participant exposure (`gs_exposure`) and answer memo (`gs_answer_memo`): new tables.
6. per-participant scrutiny (`gs_scrutiny`) and counted questions (`gs_question`): new tables.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from genomesh.audit.chain import GENESIS
from genomesh.audit.tables import Base
from genomesh.core.errors import StoreError

SCHEMA_VERSION = 6
VERSION_KEY = "schema_version"

# Additive steps: MIGRATIONS[v] takes a version-v database to v + 1 (idempotent DDL).
MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: ("CREATE INDEX IF NOT EXISTS ix_gs_roster_dataset ON gs_roster (dataset_id)",),
    3: (),  # gs_audit_anchor: a new table, made by create_all
    4: (),  # gs_exposure, gs_answer_memo: new tables, made by create_all
    5: (),  # gs_scrutiny, gs_question: new tables, made by create_all
}
# Versions whose data would have to be converted: refused, with the reason.
NOT_MIGRATABLE: dict[int, str] = {
    1: "its disclosure ledger has one row per participant and no rosters, which this "
    "genomesh cannot convert in place",
}

_memory_lock = threading.Lock()
_PG_LOCK_KEY = 0x67656E6F6D657368 & 0x7FFFFFFFFFFFFFFF  # "genomesh"


def is_memory(engine: Engine) -> bool:
    return engine.url.get_backend_name() == "sqlite" and engine.url.database in (
        None,
        "",
        ":memory:",
    )


def describe_location(engine: Engine) -> str:
    """The state database as an operator knows it: the SQLite file, or the URL without password."""
    if is_memory(engine):
        return "sqlite:// (in memory)"
    if engine.url.get_backend_name() == "sqlite":
        return str(engine.url.database)
    return engine.url.render_as_string(hide_password=True)


def ensure_schema(engine: Engine) -> str:
    """Create, migrate or refuse the schema (see the module docstring); returns the
    pseudonym key (hex), created with the schema."""
    try:
        return _locked(engine, _setup)
    except StoreError:
        raise
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot open node state at {describe_location(engine)}: {exc}") from exc


def _locked(engine: Engine, work: Callable[[Connection, Engine], str]) -> str:
    backend = engine.url.get_backend_name()
    with engine.connect() as conn:
        if is_memory(engine):
            with _memory_lock:
                out = work(conn, engine)
                conn.commit()
                return out
        if backend == "sqlite":
            # Takes the write lock now (other processes wait in their busy handler), so the
            # inspect-then-create below is atomic; SQLite DDL is transactional.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif backend == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        try:
            out = work(conn, engine)
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
        return out


def _stored_version(conn: Connection) -> int | None:
    """The database's schema version; None if it has no genomesh tables yet."""
    tables = set(inspect(conn).get_table_names())
    if not any(t.startswith("gs_") for t in tables):
        return None
    if "gs_meta" in tables:
        row = conn.execute(
            text("SELECT value FROM gs_meta WHERE key = :k"), {"k": VERSION_KEY}
        ).scalar()
        if row is not None:
            try:
                return int(row)
            except ValueError:
                return -1
    # Written before versions were stored: tell the two unversioned schemas apart.
    if "gs_ledger" in tables:
        columns = {c["name"] for c in inspect(conn).get_columns("gs_ledger")}
        if "roster_id" not in columns:
            return 1
    return 2


def _setup(conn: Connection, engine: Engine) -> str:
    where = describe_location(engine)
    version = _stored_version(conn)
    if version is not None and version != SCHEMA_VERSION:
        _refuse_or_migrate(conn, version, where)
    Base.metadata.create_all(conn)  # checkfirst: only what is missing
    _put(conn, VERSION_KEY, str(SCHEMA_VERSION), replace=True)
    if conn.execute(text("SELECT seq FROM gs_audit_head WHERE id = 1")).scalar() is None:
        conn.execute(
            text("INSERT INTO gs_audit_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": GENESIS}
        )
    _put(conn, "pseudonym_key", secrets.token_hex(32), replace=False)
    key = conn.execute(text("SELECT value FROM gs_meta WHERE key = 'pseudonym_key'")).scalar_one()
    return str(key)


def _refuse_or_migrate(conn: Connection, version: int, where: str) -> None:
    if version > SCHEMA_VERSION or version < 1:
        raise StoreError(
            f"node state {where} has schema version {version}, but this genomesh "
            f"understands versions up to {SCHEMA_VERSION}: it was written by a newer genomesh. "
            "Upgrade genomesh on this node (or point state_url at another database); "
            "nothing was written to it"
        )
    if version in NOT_MIGRATABLE:
        raise StoreError(
            f"node state {where} has schema version {version} (written by an older genomesh); "
            f"this genomesh needs version {SCHEMA_VERSION} and {NOT_MIGRATABLE[version]}. "
            f"Keep that file (its audit log stays verifiable with the genomesh that wrote it), "
            f"move it aside (e.g. mv {where} {where}.v{version}) and start the node again to "
            "begin a new audit log and ledger; nothing was written to it"
        )
    for step in range(version, SCHEMA_VERSION):
        for ddl in MIGRATIONS.get(step, ()):
            conn.exec_driver_sql(ddl)


def _put(conn: Connection, key: str, value: str, *, replace: bool) -> None:
    found = conn.execute(text("SELECT value FROM gs_meta WHERE key = :k"), {"k": key}).scalar()
    if found is None:
        conn.execute(
            text("INSERT INTO gs_meta (key, value) VALUES (:k, :v)"), {"k": key, "v": value}
        )
    elif replace and found != value:
        conn.execute(text("UPDATE gs_meta SET value = :v WHERE key = :k"), {"k": key, "v": value})


__all__ = [
    "MIGRATIONS",
    "NOT_MIGRATABLE",
    "SCHEMA_VERSION",
    "describe_location",
    "ensure_schema",
    "is_memory",
]
