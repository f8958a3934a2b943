"""Fixtures: node state on SQLite and on a real PostgreSQL 15 server."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from genomesh.node.state import NodeState
from tests.audit.pg import create_database, postgres_server, require_postgres

_db_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    require_postgres()
    with postgres_server() as url:
        yield url


def _fresh_pg_db(admin_url: str) -> str:
    return create_database(admin_url, f"genomesh_test_{next(_db_counter)}")


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
