"""DAC login back-off counts in the database, shared by every hub worker.

See genomesh.hub.dac.throttle_sql.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dac_login_failures",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index(op.f("ix_dac_login_failures_last"), "dac_login_failures", ["last"])


def downgrade() -> None:
    op.drop_index(op.f("ix_dac_login_failures_last"), table_name="dac_login_failures")
    op.drop_table("dac_login_failures")
