"""Analysis tasks get a runner and a lease: with several hub workers one drives each task.

An example of changing an existing table: `batch_alter_table` (SQLite copies the table,
PostgreSQL alters it in place). See genomesh.hub.analysis.tasks.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hub_analysis_tasks") as batch:
        batch.add_column(sa.Column("runner", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hub_analysis_tasks") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("runner")
