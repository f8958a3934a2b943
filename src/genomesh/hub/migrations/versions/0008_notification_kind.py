"""notification kind

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

The researcher's inbox (dac_notifications) holds three kinds of notice: withdrawals (all
earlier rows), finished re-runs without withdrawn participants, and custodians' reviews of
flagged findings (issue 14).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dac_notifications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="withdrawal", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("dac_notifications", schema=None) as batch_op:
        batch_op.drop_column("kind")
