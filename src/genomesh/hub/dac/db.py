"""The DAC's database: engine creation, table set-up and a transactional session helper.

SQLite (the embedded default, a file in the hub folder) and PostgreSQL (`postgresql+psycopg://...`)
are both supported; the URL is `HubSettings.state_database_url`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from genomesh.hub.dac.changes import track_revocation_changes
from genomesh.hub.dac.models import Base
from genomesh.hub.shared import sqlite_pragmas

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the default clock)."""
    return datetime.now(UTC)


def open_engine(url: str) -> Engine:
    """An engine for `url` with the DAC tables created (idempotent)."""
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False}
    engine = create_engine(url, **kwargs)
    # foreign keys, a busy timeout and WAL: several hub workers share the file
    sqlite_pragmas(engine, foreign_keys=True)
    from genomesh.hub.migrate import upgrade

    upgrade(engine)  # the hub database at the head revision (genomesh.hub.migrations)
    # tables of models newer than any revision (tests/hub/test_migrations.py flags them)
    Base.metadata.create_all(engine)
    return engine


class Database:
    """Sessions on one engine; `transaction()` commits on success and rolls back on error."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._factory = sessionmaker(engine, expire_on_commit=False)
        # caches of the revocation list in every worker see each change (genomesh.hub.dac.changes)
        track_revocation_changes(self._factory)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        session = self._factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


__all__ = ["Clock", "Database", "open_engine", "utcnow"]
