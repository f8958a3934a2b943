"""hub per-caller budget

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

The hub's per-caller query budget (genomesh.hub.callers) moved from process memory into the
hub database, so it holds across restarts and workers. `CallerBudget` also creates its two
tables when it is used on a database of its own (tests, embedding code), so this revision
creates only what is missing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "hub_caller_charges" not in existing:
        op.create_table(
            "hub_caller_charges",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("caller", sa.String(length=255), nullable=False),
            sa.Column("charged_at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("hub_caller_charges", schema=None) as batch_op:
            batch_op.create_index(
                "ix_hub_caller_charges_caller_time", ["caller", "charged_at"], unique=False
            )
    if "hub_callers" not in existing:
        op.create_table(
            "hub_callers",
            sa.Column("caller", sa.String(length=255), nullable=False),
            sa.Column("last_charge", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("caller"),
        )


def downgrade() -> None:
    op.drop_table("hub_callers")
    with op.batch_alter_table("hub_caller_charges", schema=None) as batch_op:
        batch_op.drop_index("ix_hub_caller_charges_caller_time")
    op.drop_table("hub_caller_charges")
