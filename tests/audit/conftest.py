"""Fixtures: node state on SQLite and on a real PostgreSQL 15 server."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from genomesh.node.state import NodeState
from tests.audit.pg import PG_BIN, postgres_server

_db_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    if not (PG_BIN / "initdb").is_file():
        pytest.skip(
            f"PostgreSQL 15 binaries not installed in {PG_BIN} (make sysdeps installs them)"
        )
    with postgres_server() as url:
        yield url


def _fresh_pg_db(admin_url: str) -> str:
    name = f"genomesh_test_{next(_db_counter)}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "memory", pytest.param("postgresql", marks=pytest.mark.postgres)])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.sqlite'}"
    if request.param == "memory":
        return "sqlite://"
    return _fresh_pg_db(request.getfixturevalue("postgres_admin_url"))


@pytest.fixture
def state(state_url: str) -> Iterator[NodeState]:
    st = NodeState.from_url(state_url)
    yield st
    st.close()
