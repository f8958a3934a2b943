"""hub matchmaker

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

The hub as a matchmaker of matchmakers (issue 15): its MME peers, the matched pairs and the
notices to both submitters. HubMatchmakerStore also creates these tables on a database of
its own, so this revision creates only what is missing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "hub_mme_matches" not in existing:  # a hub that ran this code before the revision
        op.create_table(
            "hub_mme_matches",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("pair_key", sa.String(length=64), nullable=False),
            sa.Column("query_source", sa.String(length=128), nullable=False),
            sa.Column("query_patient", sa.String(length=256), nullable=False),
            sa.Column("match_source", sa.String(length=128), nullable=False),
            sa.Column("match_patient", sa.String(length=256), nullable=False),
            sa.Column("score", sa.Float(), nullable=False),
            sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
            sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
            sa.Column("times", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("pair_key"),
        )
    if "hub_mme_notifications" not in existing:  # a hub that ran this code before the revision
        op.create_table(
            "hub_mme_notifications",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("match_id", sa.Integer(), nullable=False),
            sa.Column("recipient", sa.String(length=512), nullable=False),
            sa.Column("via", sa.String(length=128), nullable=False),
            sa.Column("patient", sa.String(length=256), nullable=False),
            sa.Column("message", sa.Text(), nullable=False),
            sa.Column("created", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("match_id", "recipient", "patient", name="uq_hub_mme_notice"),
        )
        with op.batch_alter_table("hub_mme_notifications", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_hub_mme_notifications_match_id"), ["match_id"], unique=False
            )
            batch_op.create_index(
                batch_op.f("ix_hub_mme_notifications_recipient"), ["recipient"], unique=False
            )
            batch_op.create_index(batch_op.f("ix_hub_mme_notifications_via"), ["via"], unique=False)
    if "hub_mme_peers" not in existing:  # a hub that ran this code before the revision
        op.create_table(
            "hub_mme_peers",
            sa.Column("name", sa.String(length=64), nullable=False),
            sa.Column("base_url", sa.String(length=512), nullable=True),
            sa.Column("outbound_token", sa.Text(), nullable=True),
            sa.Column("inbound_sha256", sa.String(length=64), nullable=True),
            sa.Column("contact", sa.String(length=256), nullable=False),
            sa.Column("created", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("name"),
        )


def downgrade() -> None:
    op.drop_table("hub_mme_peers")
    with op.batch_alter_table("hub_mme_notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hub_mme_notifications_via"))
        batch_op.drop_index(batch_op.f("ix_hub_mme_notifications_recipient"))
        batch_op.drop_index(batch_op.f("ix_hub_mme_notifications_match_id"))

    op.drop_table("hub_mme_notifications")
    op.drop_table("hub_mme_matches")
