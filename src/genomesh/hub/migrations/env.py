"""Alembic environment of the hub database: runs on the engine `genomesh.hub.migrate` gives."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from genomesh.hub.schema import target_metadata

cfg = context.config
engine = cfg.attributes.get("engine") or create_engine(cfg.get_main_option("sqlalchemy.url") or "")
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata(),
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
