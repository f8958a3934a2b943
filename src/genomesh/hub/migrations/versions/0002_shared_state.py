"""State shared by hub workers: seen nonces, change counters, the dial-out relay.

See genomesh.hub.shared and genomesh.hub.dialout_relay.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_nonces",
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("seen", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("nonce"),
    )
    op.create_index(op.f("ix_hub_nonces_seen"), "hub_nonces", ["seen"], unique=False)
    op.create_table(
        "hub_versions",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "hub_dialout_answers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=True),
        sa.Column("received", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "hub_dialout_presence",
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("worker", sa.String(length=128), nullable=False),
        sa.Column("polling_until", sa.Float(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("node"),
    )
    op.create_table(
        "hub_dialout_requests",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("expires", sa.Float(), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_hub_dialout_requests_node"), "hub_dialout_requests", ["node"], unique=False
    )
    versions = sa.table(
        "hub_versions", sa.column("name", sa.String), sa.column("version", sa.Integer)
    )
    op.bulk_insert(
        versions, [{"name": "revocations", "version": 0}, {"name": "dialout", "version": 0}]
    )


def downgrade() -> None:
    op.drop_table("hub_dialout_requests")
    op.drop_table("hub_dialout_presence")
    op.drop_table("hub_dialout_answers")
    op.drop_table("hub_versions")
    op.drop_table("hub_nonces")
