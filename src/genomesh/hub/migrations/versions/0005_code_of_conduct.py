"""code of conduct: lay summary, review route, communities, stale results

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

The code of conduct (issue 14): applications gain a lay summary, reported publications and
the review route taken; datasets a review policy and jurisdiction; communities with members,
data designations and decisions; and the hub records analysis results made stale by a
withdrawal, and their re-runs. Existing applications get an empty lay summary.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_analysis_reruns",
        sa.Column("task_id", sa.String(length=32), nullable=False),
        sa.Column("rerun_of", sa.String(length=32), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("task_id"),
    )
    with op.batch_alter_table("hub_analysis_reruns", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hub_analysis_reruns_rerun_of"), ["rerun_of"], unique=False
        )

    op.create_table(
        "hub_analysis_stale",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("task_id", sa.String(length=32), nullable=False),
        sa.Column("node", sa.String(length=128), nullable=False),
        sa.Column("dataset_id", sa.String(length=128), nullable=False),
        sa.Column("individual_pseudonym", sa.String(length=128), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "task_id", "node", "dataset_id", "individual_pseudonym", name="uq_stale"
        ),
    )
    with op.batch_alter_table("hub_analysis_stale", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hub_analysis_stale_task_id"), ["task_id"], unique=False
        )

    op.create_table(
        "dac_communities",
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("governance_body", sa.String(length=200), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("slug"),
    )
    op.create_table(
        "dac_community_data",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("dataset_url", sa.String(length=255), nullable=False),
        sa.Column("group", sa.String(length=128), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["community"], ["dac_communities.slug"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["dataset_url"],
            ["dac_datasets.url"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("community", "dataset_url", "group", name="uq_dac_community_data"),
    )
    op.create_table(
        "dac_community_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["dac_accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["community"], ["dac_communities.slug"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("community", "account_id", name="uq_dac_community_member"),
    )
    op.create_table(
        "dac_community_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["dac_applications.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["community"], ["dac_communities.slug"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("application_id", "community", name="uq_dac_community_decision"),
    )
    with op.batch_alter_table("dac_applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lay_summary", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("publications", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(sa.Column("review_route", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("review_reasons", sa.JSON(), nullable=True))

    with op.batch_alter_table("dac_datasets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_policy", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("jurisdiction", sa.String(length=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dac_datasets", schema=None) as batch_op:
        batch_op.drop_column("jurisdiction")
        batch_op.drop_column("review_policy")

    with op.batch_alter_table("dac_applications", schema=None) as batch_op:
        batch_op.drop_column("review_reasons")
        batch_op.drop_column("review_route")
        batch_op.drop_column("publications")
        batch_op.drop_column("lay_summary")

    op.drop_table("dac_community_decisions")
    op.drop_table("dac_community_members")
    op.drop_table("dac_community_data")
    op.drop_table("dac_communities")
    with op.batch_alter_table("hub_analysis_stale", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hub_analysis_stale_task_id"))

    op.drop_table("hub_analysis_stale")
    with op.batch_alter_table("hub_analysis_reruns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hub_analysis_reruns_rerun_of"))

    op.drop_table("hub_analysis_reruns")
