"""The DAC's tables in the hub database (SQLAlchemy 2.x; SQLite default, PostgreSQL-capable).

Every table is prefixed `dac_` so the DAC can share the hub's database with the registry
and catalogue without name clashes. Times are stored as timezone-aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

ROLES = ("researcher", "admin")
APPLICATION_STATES = (
    "draft",
    "submitted",
    "changes_requested",
    "approved",
    "rejected",
    "revoked",
    "expired",
)


class UTCDateTime(TypeDecorator[datetime]):
    """A DateTime that always comes back timezone-aware UTC (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None


class Base(DeclarativeBase):
    """Declarative base of the DAC tables (separate metadata from the hub's own tables)."""


class Account(Base):
    """A local account: researcher or hub admin; DAC membership is in `Membership`."""

    __tablename__ = "dac_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    subject: Mapped[str] = mapped_column(String(128), unique=True)  # `sub` of visas/passports
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="researcher")
    full_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    institution: Mapped[str] = mapped_column(String(200), default="")
    affiliation_role: Mapped[str] = mapped_column(String(64), default="member")
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Registered access: the researcher accepted the terms; an admin vouched for them.
    accepted_terms_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    verified_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class SessionToken(Base):
    """A login session: only the SHA-256 of the opaque bearer token is stored."""

    __tablename__ = "dac_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("dac_accounts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    account: Mapped[Account] = relationship()


class Dataset(Base):
    """A dataset the DAC governs: its URL (the ControlledAccessGrants value) and DUO terms."""

    __tablename__ = "dac_datasets"

    url: Mapped[str] = mapped_column(String(255), primary_key=True)
    node: Mapped[str] = mapped_column(String(128))
    dataset_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(255), default="")
    duo: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    terms_url: Mapped[str | None] = mapped_column(String(255), nullable=True)
    committee: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # Proportionate review (genomesh.hub.dac.review): which applications are approved
    # automatically with a record; None = the committee reviews every one.
    review_policy: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # ISO country of the dataset's node: whose jurisdiction profile applies (auto-approval)
    jurisdiction: Mapped[str | None] = mapped_column(String(2), nullable=True)

    __table_args__ = (UniqueConstraint("node", "dataset_id", name="uq_dac_dataset_node_id"),)


class Membership(Base):
    """A DAC member: of one dataset (`dataset_url`) or of a committee (covering its datasets)."""

    __tablename__ = "dac_memberships"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("dac_accounts.id", ondelete="CASCADE"))
    dataset_url: Mapped[str | None] = mapped_column(String(255), nullable=True)
    committee: Mapped[str | None] = mapped_column(String(128), nullable=True)

    __table_args__ = (
        UniqueConstraint("account_id", "dataset_url", "committee", name="uq_dac_membership"),
    )


class Application(Base):
    """A data access application and its current state (history in `ApplicationEvent`)."""

    __tablename__ = "dac_applications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("dac_accounts.id"))
    state: Mapped[str] = mapped_column(String(24), default="draft")
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    purpose: Mapped[dict[str, Any]] = mapped_column(JSON)
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    accepted_terms: Mapped[bool] = mapped_column(Boolean, default=False)
    precheck: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    approved_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    renewal_of: Mapped[int | None] = mapped_column(ForeignKey("dac_applications.id"), nullable=True)
    # The public data-use register (genomesh.hub.dac.register): a summary for lay readers and
    # the publications the applicant reported back ([{title, doi, url, year, reported_at}]).
    lay_summary: Mapped[str] = mapped_column(Text, default="")
    publications: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Proportionate review: "automatic" or "committee", and why (genomesh.hub.dac.review)
    review_route: Mapped[str | None] = mapped_column(String(16), nullable=True)
    review_reasons: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)

    applicant: Mapped[Account] = relationship(foreign_keys=[applicant_id])
    datasets: Mapped[list[ApplicationDataset]] = relationship(
        cascade="all, delete-orphan", order_by="ApplicationDataset.id"
    )
    events: Mapped[list[ApplicationEvent]] = relationship(
        cascade="all, delete-orphan", order_by="ApplicationEvent.id"
    )


class ApplicationDataset(Base):
    """One dataset an application asks for."""

    __tablename__ = "dac_application_datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("dac_applications.id", ondelete="CASCADE")
    )
    dataset_url: Mapped[str] = mapped_column(ForeignKey("dac_datasets.url"))

    dataset: Mapped[Dataset] = relationship()


class ApplicationEvent(Base):
    """One step in an application's history: who did what, when, with which comment."""

    __tablename__ = "dac_application_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("dac_applications.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))  # username, or "system"
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(24), nullable=True)
    to_state: Mapped[str] = mapped_column(String(24))
    comment: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class IssuedVisa(Base):
    """A visa the hub issued; signed on demand with the current key, same `jti` every time."""

    __tablename__ = "dac_visas"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("dac_accounts.id", ondelete="CASCADE"))
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("dac_applications.id"), nullable=True
    )
    type: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(255))
    by: Mapped[str] = mapped_column(String(16))
    asserted: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RevokedJti(Base):
    """The SQL revocation list: visa ids nodes must refuse (until their own expiry)."""

    __tablename__ = "dac_revoked_jtis"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")


class NodeCredential(Base):
    """A registered node's notification secret (SHA-256 stored; the node sends it as bearer)."""

    __tablename__ = "dac_node_credentials"

    node: Mapped[str] = mapped_column(String(128), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Notification(Base):
    """A notice to one researcher (by subject): a participant's withdrawal from a node, a
    finished re-run without withdrawn participants, or a custodian's review of a flagged
    finding (`kind`; for the latter two `individual_pseudonym` holds the event's key, not a
    participant)."""

    __tablename__ = "dac_notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="withdrawal", server_default="withdrawal")
    node: Mapped[str] = mapped_column(String(128))
    dataset_id: Mapped[str] = mapped_column(String(128))
    individual_pseudonym: Mapped[str] = mapped_column(String(128))
    withdrawn_at: Mapped[datetime] = mapped_column(UTCDateTime())
    message: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Community(Base):
    """A community that governs its members' data collectively (e.g. an Indigenous nation),
    with its governance body (`CommunityMember`): genomesh.hub.dac.communities."""

    __tablename__ = "dac_communities"

    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    governance_body: Mapped[str] = mapped_column(String(200), default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CommunityMember(Base):
    """A member of a community's governance body (decides applications for the community)."""

    __tablename__ = "dac_community_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community: Mapped[str] = mapped_column(ForeignKey("dac_communities.slug", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("dac_accounts.id", ondelete="CASCADE"))

    __table_args__ = (UniqueConstraint("community", "account_id", name="uq_dac_community_member"),)


class CommunityData(Base):
    """A dataset, or a named group of its participants (`group`, defined at the node), marked
    as a community's, with its Local Contexts Biocultural Labels and Notices."""

    __tablename__ = "dac_community_data"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community: Mapped[str] = mapped_column(ForeignKey("dac_communities.slug", ondelete="CASCADE"))
    dataset_url: Mapped[str] = mapped_column(ForeignKey("dac_datasets.url"))
    group: Mapped[str] = mapped_column(String(128), default="")  # "" = the whole dataset
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)

    __table_args__ = (
        UniqueConstraint("community", "dataset_url", "group", name="uq_dac_community_data"),
    )


class CommunityDecision(Base):
    """A community's decision on one application touching its data: pending, approved or
    declined (a compare-and-set, like the committee's)."""

    __tablename__ = "dac_community_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("dac_applications.id", ondelete="CASCADE")
    )
    community: Mapped[str] = mapped_column(ForeignKey("dac_communities.slug", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        UniqueConstraint("application_id", "community", name="uq_dac_community_decision"),
    )


__all__ = [
    "APPLICATION_STATES",
    "ROLES",
    "Account",
    "Application",
    "ApplicationDataset",
    "ApplicationEvent",
    "Base",
    "Community",
    "CommunityData",
    "CommunityDecision",
    "CommunityMember",
    "Dataset",
    "IssuedVisa",
    "Membership",
    "NodeCredential",
    "Notification",
    "RevokedJti",
    "SessionToken",
]
