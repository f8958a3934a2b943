"""Schema migrations of the hub database (hub and DAC tables), with Alembic.

The revisions live in `genomesh/hub/migrations/versions`. `upgrade(engine)` brings any
database to the head revision; the hub calls it at start-up (`HubStore`), and
`genomesh hub migrate` runs it on its own (before starting several workers, or to see
what it does). A database created before migrations existed (tables but no
`alembic_version`) is first brought to the initial revision, whose steps create only what
is missing, and stamped with it; later revisions then apply as usual.

How to add a revision: docs/hub.md, "Schema migrations".
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Engine

from genomesh.core.errors import StoreError
from genomesh.hub.schema import target_metadata

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
INITIAL = "0001"


def config(engine: Engine | None = None) -> Config:
    """An Alembic configuration on our revisions (and on `engine`'s database if given)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:  # given as an object: a URL in the config would go through
        cfg.attributes["engine"] = engine  # ConfigParser's %-interpolation
    return cfg


def head() -> str:
    """The newest revision."""
    revision = ScriptDirectory.from_config(config()).get_current_head()
    assert revision is not None
    return revision


def current(engine: Engine) -> str | None:
    """The database's revision (None: never migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def legacy(engine: Engine) -> bool:
    """Tables of a hub made before migrations existed, and no revision stamp."""
    names = set(inspect(engine).get_table_names())
    return "alembic_version" not in names and any(n.startswith(("hub_", "dac_")) for n in names)


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Bring the database to `revision` (default: the head); (revision before, after).

    After an upgrade to the head, a table or column that a model has and no revision made
    is an error naming it (StoreError), not an obscure SQL failure later."""
    before = current(engine)
    if before is None and legacy(engine):
        log.warning("hub database has no migration stamp: bringing it to revision %s", INITIAL)
    if before != head() or revision != "head":
        command.upgrade(config(engine), revision)
        if revision == "head":
            missing_from_revisions(engine)
    return before, current(engine) or ""


def missing_from_revisions(engine: Engine) -> None:
    """StoreError naming every model table or column the migrated database lacks (names
    only: the full comparison is tests/hub/test_migrations.py's, too slow for every start)."""
    found = inspect(engine)
    tables = set(found.get_table_names())
    missing = []
    for metadata in target_metadata():
        for table in metadata.tables.values():
            if table.name not in tables:
                missing.append(f"table {table.name}")
                continue
            have = {c["name"] for c in found.get_columns(table.name)}
            missing += [
                f"column {table.name}.{c.name}" for c in table.columns if c.name not in have
            ]
    if missing:
        raise StoreError(
            f"the models have {', '.join(missing)}, which no migration revision creates: add a "
            "revision in genomesh/hub/migrations/versions (docs/hub.md, Schema migrations)"
        )


def upgrade_url(url: str, revision: str = "head") -> tuple[str | None, str]:
    """`upgrade` for a database URL (the CLI's)."""
    engine = create_engine(url)
    try:
        return upgrade(engine, revision)
    finally:
        engine.dispose()


__all__ = ["INITIAL", "config", "current", "head", "legacy", "upgrade", "upgrade_url"]
