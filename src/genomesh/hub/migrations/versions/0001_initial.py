"""The hub and DAC tables as they were when migrations began (registry, catalogue,
invitations, audit heads, analysis tasks, secure runs, dac_*).

Idempotent on purpose: a database made before migrations existed has some or all of these
tables; only the missing ones (and the `audience` column of QA F23, which older hubs added
by hand) are created, and the database is then stamped with this revision.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "hub_catalogue" not in existing:
        op.create_table(
            "hub_catalogue",
            sa.Column("node", sa.String(length=64), nullable=False),
            sa.Column("dataset_id", sa.String(length=256), nullable=False),
            sa.Column("entry", sa.JSON(), nullable=False),
            sa.Column("synced", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("node", "dataset_id"),
        )
    if "hub_invitations" not in existing:
        op.create_table(
            "hub_invitations",
            sa.Column("token_sha256", sa.String(length=64), nullable=False),
            sa.Column("name", sa.String(length=64), nullable=False),
            sa.Column("country", sa.String(length=2), nullable=False),
            sa.Column("contact", sa.String(length=256), nullable=False),
            sa.Column("created", sa.DateTime(timezone=True), nullable=False),
            sa.Column("expires", sa.DateTime(timezone=True), nullable=False),
            sa.Column("used", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("token_sha256"),
        )
    if "hub_nodes" not in existing:
        op.create_table(
            "hub_nodes",
            sa.Column("name", sa.String(length=64), nullable=False),
            sa.Column("base_url", sa.String(length=512), nullable=True),
            sa.Column("dial_out", sa.Boolean(), nullable=False),
            sa.Column("country", sa.String(length=2), nullable=False),
            sa.Column("contact", sa.String(length=256), nullable=False),
            sa.Column("public_key", sa.Text(), nullable=True),
            sa.Column("created", sa.DateTime(timezone=True), nullable=False),
            sa.Column("last_sync", sa.DateTime(timezone=True), nullable=True),
            sa.Column("last_sync_error", sa.Text(), nullable=True),
            sa.Column("node_info", sa.JSON(), nullable=True),
            sa.Column("audience", sa.String(length=512), nullable=True),
            sa.PrimaryKeyConstraint("name"),
        )
    if "hub_audit_heads" not in existing:
        op.create_table(
            "hub_audit_heads",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("node", sa.String(length=64), nullable=False),
            sa.Column("entries", sa.Integer(), nullable=False),
            sa.Column("hash", sa.String(length=64), nullable=False),
            sa.Column("signed_at", sa.Float(), nullable=False),
            sa.Column("received_at", sa.Float(), nullable=False),
            sa.Column("envelope", sa.JSON(), nullable=False),
            sa.Column("accepted", sa.Boolean(), nullable=False),
            sa.Column("accepted_entries", sa.Integer(), nullable=True),
            sa.Column("problem", sa.Text(), nullable=True),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("node", "accepted_entries", name="uq_hub_audit_heads_accepted"),
        )
        op.create_index(
            "ix_hub_audit_heads_node_entries", "hub_audit_heads", ["node", "entries"], unique=False
        )
    if "hub_analysis_tasks" not in existing:
        op.create_table(
            "hub_analysis_tasks",
            sa.Column("id", sa.String(length=32), nullable=False),
            sa.Column("analysis", sa.String(length=64), nullable=False),
            sa.Column("params", sa.JSON(), nullable=False),
            sa.Column("nodes", sa.JSON(), nullable=False),
            sa.Column("submitter", sa.String(length=512), nullable=False),
            sa.Column("claims", sa.JSON(), nullable=False),
            sa.Column("state", sa.String(length=16), nullable=False),
            sa.Column("reason", sa.Text(), nullable=True),
            sa.Column("rounds_done", sa.Integer(), nullable=False),
            sa.Column("rounds_expected", sa.Integer(), nullable=False),
            sa.Column("node_status", sa.JSON(), nullable=False),
            sa.Column("hub_state", sa.Text(), nullable=True),
            sa.Column("result", sa.Text(), nullable=True),
            sa.Column("created", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
    if "hub_secure_runs" not in existing:
        op.create_table(
            "hub_secure_runs",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("definition", sa.String(length=64), nullable=False),
            sa.Column("units", sa.Text(), nullable=False),
            sa.Column("recorded", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(
            op.f("ix_hub_secure_runs_definition"), "hub_secure_runs", ["definition"], unique=False
        )
    if "dac_accounts" not in existing:
        op.create_table(
            "dac_accounts",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("username", sa.String(length=64), nullable=False),
            sa.Column("subject", sa.String(length=128), nullable=False),
            sa.Column("password_hash", sa.String(length=255), nullable=False),
            sa.Column("role", sa.String(length=16), nullable=False),
            sa.Column("full_name", sa.String(length=200), nullable=False),
            sa.Column("email", sa.String(length=200), nullable=False),
            sa.Column("institution", sa.String(length=200), nullable=False),
            sa.Column("affiliation_role", sa.String(length=64), nullable=False),
            sa.Column("country", sa.String(length=2), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("disabled", sa.Boolean(), nullable=False),
            sa.Column("accepted_terms_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("verified_by", sa.String(length=64), nullable=True),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("subject"),
            sa.UniqueConstraint("username"),
        )
    if "dac_datasets" not in existing:
        op.create_table(
            "dac_datasets",
            sa.Column("url", sa.String(length=255), nullable=False),
            sa.Column("node", sa.String(length=128), nullable=False),
            sa.Column("dataset_id", sa.String(length=128), nullable=False),
            sa.Column("name", sa.String(length=255), nullable=False),
            sa.Column("duo", sa.JSON(), nullable=False),
            sa.Column("terms_url", sa.String(length=255), nullable=True),
            sa.Column("committee", sa.String(length=128), nullable=True),
            sa.PrimaryKeyConstraint("url"),
            sa.UniqueConstraint("node", "dataset_id", name="uq_dac_dataset_node_id"),
        )
    if "dac_node_credentials" not in existing:
        op.create_table(
            "dac_node_credentials",
            sa.Column("node", sa.String(length=128), nullable=False),
            sa.Column("secret_hash", sa.String(length=64), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("node"),
        )
    if "dac_notifications" not in existing:
        op.create_table(
            "dac_notifications",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("recipient", sa.String(length=128), nullable=False),
            sa.Column("node", sa.String(length=128), nullable=False),
            sa.Column("dataset_id", sa.String(length=128), nullable=False),
            sa.Column("individual_pseudonym", sa.String(length=128), nullable=False),
            sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("message", sa.Text(), nullable=False),
            sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(
            op.f("ix_dac_notifications_recipient"), "dac_notifications", ["recipient"], unique=False
        )
    if "dac_revoked_jtis" not in existing:
        op.create_table(
            "dac_revoked_jtis",
            sa.Column("jti", sa.String(length=64), nullable=False),
            sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("reason", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("jti"),
        )
    if "dac_applications" not in existing:
        op.create_table(
            "dac_applications",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("applicant_id", sa.Integer(), nullable=False),
            sa.Column("state", sa.String(length=24), nullable=False),
            sa.Column("title", sa.String(length=300), nullable=False),
            sa.Column("summary", sa.Text(), nullable=False),
            sa.Column("purpose", sa.JSON(), nullable=False),
            sa.Column("documents", sa.JSON(), nullable=False),
            sa.Column("accepted_terms", sa.Boolean(), nullable=False),
            sa.Column("precheck", sa.JSON(), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("approved_until", sa.DateTime(timezone=True), nullable=True),
            sa.Column("renewal_of", sa.Integer(), nullable=True),
            sa.ForeignKeyConstraint(
                ["applicant_id"],
                ["dac_accounts.id"],
            ),
            sa.ForeignKeyConstraint(
                ["renewal_of"],
                ["dac_applications.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
    if "dac_memberships" not in existing:
        op.create_table(
            "dac_memberships",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.Column("dataset_url", sa.String(length=255), nullable=True),
            sa.Column("committee", sa.String(length=128), nullable=True),
            sa.ForeignKeyConstraint(["account_id"], ["dac_accounts.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("account_id", "dataset_url", "committee", name="uq_dac_membership"),
        )
    if "dac_sessions" not in existing:
        op.create_table(
            "dac_sessions",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("token_hash", sa.String(length=64), nullable=False),
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["account_id"], ["dac_accounts.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("token_hash"),
        )
    if "dac_application_datasets" not in existing:
        op.create_table(
            "dac_application_datasets",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("application_id", sa.Integer(), nullable=False),
            sa.Column("dataset_url", sa.String(length=255), nullable=False),
            sa.ForeignKeyConstraint(
                ["application_id"], ["dac_applications.id"], ondelete="CASCADE"
            ),
            sa.ForeignKeyConstraint(
                ["dataset_url"],
                ["dac_datasets.url"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
    if "dac_application_events" not in existing:
        op.create_table(
            "dac_application_events",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("application_id", sa.Integer(), nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("actor", sa.String(length=64), nullable=False),
            sa.Column("action", sa.String(length=32), nullable=False),
            sa.Column("from_state", sa.String(length=24), nullable=True),
            sa.Column("to_state", sa.String(length=24), nullable=False),
            sa.Column("comment", sa.Text(), nullable=False),
            sa.Column("data", sa.JSON(), nullable=False),
            sa.ForeignKeyConstraint(
                ["application_id"], ["dac_applications.id"], ondelete="CASCADE"
            ),
            sa.PrimaryKeyConstraint("id"),
        )
    if "dac_visas" not in existing:
        op.create_table(
            "dac_visas",
            sa.Column("jti", sa.String(length=64), nullable=False),
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.Column("application_id", sa.Integer(), nullable=True),
            sa.Column("type", sa.String(length=64), nullable=False),
            sa.Column("value", sa.Text(), nullable=False),
            sa.Column("source", sa.String(length=255), nullable=False),
            sa.Column("by", sa.String(length=16), nullable=False),
            sa.Column("asserted", sa.DateTime(timezone=True), nullable=False),
            sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
            sa.ForeignKeyConstraint(["account_id"], ["dac_accounts.id"], ondelete="CASCADE"),
            sa.ForeignKeyConstraint(
                ["application_id"],
                ["dac_applications.id"],
            ),
            sa.PrimaryKeyConstraint("jti"),
        )
    if "hub_nodes" in existing:  # made before QA F23 by a hub that predates `audience`
        columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("hub_nodes")}
        if "audience" not in columns:
            op.add_column("hub_nodes", sa.Column("audience", sa.String(length=512), nullable=True))


def downgrade() -> None:
    op.drop_table("dac_visas")
    op.drop_table("dac_application_events")
    op.drop_table("dac_application_datasets")
    op.drop_table("dac_sessions")
    op.drop_table("dac_memberships")
    op.drop_table("dac_applications")
    op.drop_table("dac_revoked_jtis")
    op.drop_table("dac_notifications")
    op.drop_table("dac_node_credentials")
    op.drop_table("dac_datasets")
    op.drop_table("dac_accounts")
    op.drop_table("hub_secure_runs")
    op.drop_table("hub_analysis_tasks")
    op.drop_table("hub_audit_heads")
    op.drop_table("hub_nodes")
    op.drop_table("hub_invitations")
    op.drop_table("hub_catalogue")
