"""Schema migrations of the hub database: the head revision is the models, on SQLite and
PostgreSQL, and a database made before migrations existed is stamped and brought up."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, insert, inspect, select, text
from sqlalchemy.engine import Engine

from genomesh.hub import registry
from genomesh.hub.migrate import INITIAL, current, head, legacy, upgrade
from genomesh.hub.registry import HubStore
from genomesh.hub.schema import target_metadata
from tests.audit.pg import postgres_database


def _diff(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, target_metadata())  # type: ignore[arg-type]


def test_migrations__head_matches_the_models_on_sqlite(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    assert upgrade(engine) == (None, head())
    assert _diff(engine) == []  # a model change without a revision shows here
    engine.dispose()


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_database("genomesh_hub_migrations") as url:
        yield url


def test_migrations__head_matches_the_models_on_postgresql(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        upgrade(engine)
        assert current(engine) == head()
        assert _diff(engine) == []
        # and back down to nothing and up again: every revision's downgrade runs
        from alembic import command

        from genomesh.hub.migrate import config

        command.downgrade(config(engine), "base")
        assert not {t for t in inspect(engine).get_table_names() if t != "alembic_version"}
        upgrade(engine)
        assert _diff(engine) == []
    finally:
        engine.dispose()


def _old_hub_database(path: Path) -> Engine:
    """A hub database as hubs made it before migrations: the tables of the initial revision
    (what `create_all` made then), no `alembic_version`, and (older still) no `audience`
    column on hub_nodes."""
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine, INITIAL)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("ALTER TABLE hub_nodes DROP COLUMN audience"))
        conn.execute(
            text(
                "INSERT INTO hub_nodes (name, base_url, dial_out, country, contact, created) "
                "VALUES ('nl-umc', 'http://127.0.0.1:8100', 0, 'NL', '', :now)"
            ),
            {"now": datetime.now(UTC)},
        )
    return engine


def test_migrations__database_from_before_migrations_is_stamped_and_upgraded(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hub" / "hub.sqlite"
    path.parent.mkdir()
    old = _old_hub_database(path)
    assert legacy(old) and current(old) is None
    old.dispose()

    store = HubStore(f"sqlite:///{path}", hub_dir=path.parent)  # what the hub does at start
    try:
        assert current(store.engine) == head()
        assert not legacy(store.engine)
        assert [n.name for n in store.nodes()] == ["nl-umc"]  # the data stays
        assert store.node("nl-umc").audience is None  # the column came back
        assert _diff(store.engine) == []
        with store.engine.begin() as conn:  # the new shared-state tables work
            conn.execute(insert(registry.nodes_table.metadata.tables["hub_nodes"]).values(
                name="au-dial", dial_out=True, country="AU", contact="", created=datetime.now(UTC),
                audience="urn:au",
            ))  # fmt: skip
            assert conn.execute(select(text("count(*)")).select_from(text("hub_versions"))).scalar()
    finally:
        store.close()


def test_migrations__cli_stamps_an_old_database_then_finds_it_current(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from genomesh.cli.main import main

    hub_dir = tmp_path / "hub"
    hub_dir.mkdir()
    _old_hub_database(hub_dir / "hub.sqlite").dispose()
    assert main(["hub", "migrate", "--dir", str(hub_dir)]) == 0
    first = " ".join(capsys.readouterr().out.split())
    assert f"stamped with revision {INITIAL}" in first
    assert f"to revision {head()}" in first
    assert main(["hub", "migrate", "--dir", str(hub_dir)]) == 0
    assert f"already at revision {head()}" in " ".join(capsys.readouterr().out.split())


def test_migrations__a_model_column_no_revision_makes_is_named(tmp_path: Path) -> None:
    from genomesh.core.errors import StoreError
    from genomesh.hub.migrate import missing_from_revisions

    engine = create_engine(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    upgrade(engine)
    missing_from_revisions(engine)  # at head: nothing missing
    with engine.begin() as conn:  # as if a model grew a column and nobody wrote its revision
        conn.execute(text("ALTER TABLE hub_nodes DROP COLUMN audience"))
        conn.execute(text("DROP TABLE dac_login_failures"))
    with pytest.raises(
        StoreError, match=r"column hub_nodes\.audience, table dac_login_failures, which no"
    ):
        missing_from_revisions(engine)
    engine.dispose()
