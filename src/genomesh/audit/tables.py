"""The node state schema (SQLAlchemy 2.x): audit chain, ledger, budgets, withdrawals, notices.

One database per node (SQLite by default, PostgreSQL when `state_url` says so). Times are
stored as UNIX seconds (float) so window arithmetic is the same on every backend.
"""

from __future__ import annotations

from sqlalchemy import Float, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of the node state tables."""


class MetaRow(Base):
    """Small key/value facts about this state database (schema version, pseudonym key)."""

    __tablename__ = "gs_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class AuditRow(Base):
    """One audit entry: `body` is canonical JSON; `hash` = sha256(prev_hash + body)."""

    __tablename__ = "gs_audit"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[float] = mapped_column(Float, index=True)
    identity_key: Mapped[str] = mapped_column(String(512), index=True)
    surface: Mapped[str] = mapped_column(String(64))
    operation: Mapped[str] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHeadRow(Base):
    """The chain head (one row): locked on append so entries are written one at a time."""

    __tablename__ = "gs_audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class AuditAnchorRow(Base):
    """One signed audit head this node sent to a hub (`genomesh.audit.anchor`), and the reply.

    `status`: sending | acknowledged | refused | failed. Only acknowledged rows anchor the log
    for `genomesh audit verify`; `envelope` is the signed message as sent (checkable offline
    with the node's public key).
    """

    __tablename__ = "gs_audit_anchor"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hub_url: Mapped[str] = mapped_column(String(512))
    entries: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[float] = mapped_column(Float)
    envelope: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    settled_at: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (UniqueConstraint("hub_url", "entries", name="uq_gs_audit_anchor"),)


class RosterRow(Base):
    """The individuals of one dataset version, in the order ledger bitmaps refer to."""

    __tablename__ = "gs_roster"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[str] = mapped_column(String(256))
    digest: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the member list
    members: Mapped[str] = mapped_column(Text)  # JSON list of individual ids (sorted)

    __table_args__ = (Index("ix_gs_roster_dataset", "dataset_id"),)


class LedgerRow(Base):
    """One disclosure: the individuals whose data shaped one answer from one dataset.

    `members` is a bitmap over the roster (bit i = roster member i, numpy packbits order), so
    an answer over thousands of people is one small row, not thousands.
    """

    __tablename__ = "gs_ledger"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    audit_seq: Mapped[int] = mapped_column(Integer, index=True)
    dataset_id: Mapped[str] = mapped_column(String(256))
    roster_id: Mapped[int] = mapped_column(Integer)
    recipient_key: Mapped[str] = mapped_column(String(512))
    recipient_subject: Mapped[str | None] = mapped_column(String(512), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))  # "aggregate" | "record"
    exact: Mapped[int] = mapped_column(Integer, default=1)  # 1 if the count was disclosed exactly
    created_at: Mapped[float] = mapped_column(Float)
    n_members: Mapped[int] = mapped_column(Integer)
    members: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        Index("ix_gs_ledger_dataset_roster", "dataset_id", "roster_id"),
        Index("ix_gs_ledger_recipient", "recipient_key", "dataset_id", "audit_seq"),
    )


class BudgetRow(Base):
    """One charged query of an identity (the budget counts these inside a sliding window)."""

    __tablename__ = "gs_budget"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    identity_key: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_gs_budget_identity_time", "identity_key", "created_at"),)


class ExposureRow(Base):
    """A participant's membership exposure in one dataset: nats charged, over every caller.

    Charged in the transaction of the audit entry of each answer that depends on them
    (genomesh.disclosure.exposure); never reset by a new identity, window or restart."""

    __tablename__ = "gs_exposure"
    dataset_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    individual_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    spent: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class AnswerMemoRow(Base):
    """Who was withheld from one distinct answer (its fingerprint), so asking again - in any
    words, by anyone, in any worker - gets the same answer: a budget running out is never
    visible as an answer that changes."""

    __tablename__ = "gs_answer_memo"
    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(String(256))
    withheld: Mapped[str] = mapped_column(Text)  # JSON list of individual ids (sorted)
    created_at: Mapped[float] = mapped_column(Float)


class ScrutinyRow(Base):
    """How much a participant's alleles have been asked about in one dataset, over every
    caller: each distinct question about an answer of fewer than `scrutiny_carriers` people
    adds what a "yes" would reveal to each of them, whatever the answer was
    (genomesh.disclosure.exposure.expected_charge). Never reset by a new identity or window."""

    __tablename__ = "gs_scrutiny"
    dataset_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    individual_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    asked: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class QuestionRow(Base):
    """A question already counted in `gs_scrutiny` (its key: the dataset version, the question
    and who makes the answer), so asking it again - by anyone - counts nothing."""

    __tablename__ = "gs_question"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[float] = mapped_column(Float)


class WithdrawalRow(Base):
    """A participant's withdrawal from one dataset."""

    __tablename__ = "gs_withdrawal"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[str] = mapped_column(String(256))
    individual_id: Mapped[str] = mapped_column(String(256))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    withdrawn_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (UniqueConstraint("dataset_id", "individual_id", name="uq_gs_withdrawal"),)


class NotificationRow(Base):
    """A withdrawal notice to one earlier recipient, and whether the hub has it."""

    __tablename__ = "gs_notification"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[str] = mapped_column(String(256))
    individual_pseudonym: Mapped[str] = mapped_column(String(64))
    recipient_key: Mapped[str] = mapped_column(String(512))
    recipient_subject: Mapped[str | None] = mapped_column(String(512), nullable=True)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)
    delivery: Mapped[str] = mapped_column(
        String(32)
    )  # pending | delivered | failed | not_deliverable
    delivery_detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivered_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class ParticipantTokenRow(Base):
    """A participant's access token, stored as its SHA-256 (the token itself is shown once)."""

    __tablename__ = "gs_participant_token"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    individual_id: Mapped[str] = mapped_column(String(256), index=True)
    created_at: Mapped[float] = mapped_column(Float)
    revoked: Mapped[int] = mapped_column(Integer, default=0)


__all__ = [
    "AnswerMemoRow",
    "AuditAnchorRow",
    "AuditHeadRow",
    "AuditRow",
    "Base",
    "BudgetRow",
    "ExposureRow",
    "LedgerRow",
    "MetaRow",
    "NotificationRow",
    "ParticipantTokenRow",
    "RosterRow",
    "WithdrawalRow",
]
