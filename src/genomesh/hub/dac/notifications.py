"""Withdrawal notifications: nodes tell the hub, the hub shows them to each recipient.

When a participant withdraws, the node lists every recipient (passport `sub`) of data they
contributed to and POSTs one notification to the hub's `/dac/notifications`:

    {"node": "...", "dataset_id": "...", "individual_pseudonym": "...",
     "recipients": ["urn:genomesh:user:..."], "withdrawn_at": "2026-11-23T07:00:00Z",
     "message": "..."}

The hub accepts it only from a registered node, proved one of two ways:

* **node signature** (preferred): the body is the hub's signed-message envelope
  (`genomesh.hub.signing`: `{"payload": {...the fields above..., "iss": node, "aud": "hub",
  "iat", "nonce"}, "sig"}`), Ed25519-signed with the key registered for that node in the hub
  registry; time window and nonce stop replays;
* **shared secret**: `Authorization: Bearer <secret>` where the secret was issued for that
  node by a hub admin (`POST /dac/nodes/{node}/secret`, CLI `genomesh dac node-secret`); only
  its SHA-256 is stored, and the `node` field must name the node the secret belongs to.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from genomesh.core.errors import AuthenticationError, InvalidInputError
from genomesh.hub.dac.accounts import token_digest
from genomesh.hub.dac.db import Clock
from genomesh.hub.dac.models import Account, NodeCredential, Notification

HUB_AUDIENCE = "hub"  # the `aud` of node→hub signed messages (as genomesh.hub.dialout uses)
MAX_RECIPIENTS = 10_000

NodeKeyLookup = Callable[[str], str | None]  # node name -> registered Ed25519 public key


class NotificationIn(BaseModel):
    """A withdrawal notification as a node sends it."""

    model_config = ConfigDict(extra="ignore")

    node: str = Field(min_length=1, max_length=128)
    dataset_id: str = Field(min_length=1, max_length=128)
    individual_pseudonym: str = Field(min_length=1, max_length=128)
    recipients: list[str] = Field(max_length=MAX_RECIPIENTS)
    withdrawn_at: datetime
    message: str = Field(default="", max_length=4000)


FINDING_STATES = {
    "accepted": "accepted",
    "declined": "declined",
    "confirmation_requested": "asked you to confirm",
    "pending_review": "put back in review",
    "delivered": "delivered to the participant",
}


class FindingNoticeIn(BaseModel):
    """A node's word that its custodian reviewed a researcher's finding flag (`kind`
    "finding"; genomesh.participants.findings_notice). It names no participant."""

    model_config = ConfigDict(extra="ignore")

    node: str = Field(min_length=1, max_length=128)
    finding: int = Field(ge=1, le=2**63 - 1)
    state: str = Field(min_length=1, max_length=32)
    comment: str = Field(default="", max_length=4000)
    dataset_id: str = Field(min_length=1, max_length=128)
    category: str = Field(default="", max_length=64)
    recipient: str = Field(min_length=1, max_length=128)
    at: datetime


def store_finding_notice(
    session: Session, note: FindingNoticeIn, *, clock: Clock
) -> list[Notification]:
    """One row for the flagging researcher, in words (the same review told twice: one row)."""
    if note.at.tzinfo is None:
        raise InvalidInputError("at needs a time zone (e.g. Z)", field="at")
    if note.state not in FINDING_STATES:
        raise InvalidInputError(f"unknown finding state {note.state!r}", field="state")
    key = f"finding {note.finding} {note.state} {note.at.timestamp():.0f}"[:128]
    existing = session.scalar(
        select(Notification).where(
            Notification.recipient == note.recipient,
            Notification.node == note.node,
            Notification.individual_pseudonym == key,
        )
    )
    if existing is not None:
        return [existing]
    kind = f" ({note.category})" if note.category else ""
    words = (
        f"the custodian at node {note.node} {FINDING_STATES[note.state]} your finding "
        f"{note.finding}{kind} in dataset {note.dataset_id}: now {note.state}"
    )
    if note.comment.strip():
        words += f"; comment: {note.comment.strip()}"
    row = Notification(
        recipient=note.recipient, kind="finding", node=note.node, dataset_id=note.dataset_id,
        individual_pseudonym=key,  # no participant: the node's finding id and its new state
        withdrawn_at=note.at, message=words[:4000], received_at=clock(),
    )  # fmt: skip
    session.add(row)
    session.flush()
    return [row]


def parse_node_notice(payload: Any) -> NotificationIn | FindingNoticeIn:
    """A node notice: a finding review (`kind` "finding") or a withdrawal (ValidationError
    naming the bad field otherwise)."""
    if isinstance(payload, dict) and payload.get("kind") == "finding":
        return FindingNoticeIn.model_validate(payload)
    return NotificationIn.model_validate(payload)


def store_node_notice(
    session: Session, note: NotificationIn | FindingNoticeIn, *, clock: Clock
) -> int:
    """Store an authenticated node notice; returns the rows stored."""
    if isinstance(note, FindingNoticeIn):
        return len(store_finding_notice(session, note, clock=clock))
    return len(store_notification(session, note, clock=clock))


def issue_node_secret(session: Session, node: str, *, clock: Clock) -> str:
    """A fresh shared secret for `node` (replacing any earlier one); shown once."""
    if not node or len(node) > 128:
        raise InvalidInputError("node name must be 1-128 characters", field="node")
    secret = f"gsn_{secrets.token_urlsafe(32)}"
    row = session.get(NodeCredential, node)
    if row is None:
        row = NodeCredential(node=node, secret_hash=token_digest(secret), created_at=clock())
        session.add(row)
    else:
        row.secret_hash = token_digest(secret)
        row.created_at = clock()
    session.flush()
    return secret


def check_node_secret(session: Session, node: str, secret: str | None) -> None:
    """AuthenticationError unless `secret` is the shared secret issued for `node`."""
    if not secret:
        raise AuthenticationError("notifications need the node's signature or shared secret")
    row = session.get(NodeCredential, node)
    if row is None or not hmac.compare_digest(row.secret_hash, token_digest(secret)):
        raise AuthenticationError(f"bad credentials for node {node!r}")


def verify_node_signature(
    body: dict[str, Any], *, node_keys: NodeKeyLookup | None, nonces: Any, max_skew: float
) -> dict[str, Any]:
    """The payload of a node-signed envelope, checked against the node's registered key."""
    from genomesh.hub.signing import NonceCache, load_public_key, verify_message

    payload = body.get("payload")
    node = payload.get("iss") if isinstance(payload, dict) else None
    key = node_keys(node) if (node_keys is not None and isinstance(node, str)) else None
    if not key or not isinstance(node, str):
        raise AuthenticationError(f"node {node!r} has no registered public key at this hub")
    return verify_message(
        body, load_public_key(key), iss=node, aud=HUB_AUDIENCE,
        nonces=nonces or NonceCache(max_skew), max_skew=max_skew,
    )  # fmt: skip


def store_notification(
    session: Session, note: NotificationIn, *, clock: Clock
) -> list[Notification]:
    """One row per recipient (duplicates of the same withdrawal are not stored twice)."""
    if note.withdrawn_at.tzinfo is None:
        raise InvalidInputError("withdrawn_at needs a time zone (e.g. Z)", field="withdrawn_at")
    now = clock()
    rows = []
    for recipient in dict.fromkeys(note.recipients):
        existing = session.scalar(
            select(Notification).where(
                Notification.recipient == recipient,
                Notification.node == note.node,
                Notification.dataset_id == note.dataset_id,
                Notification.individual_pseudonym == note.individual_pseudonym,
            )
        )
        if existing is not None:
            rows.append(existing)
            continue
        row = Notification(
            recipient=recipient,
            node=note.node,
            dataset_id=note.dataset_id,
            individual_pseudonym=note.individual_pseudonym,
            withdrawn_at=note.withdrawn_at,
            message=note.message,
            received_at=now,
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def notifications_for(
    session: Session, account: Account, *, unread_only: bool = False
) -> list[Notification]:
    """The notifications addressed to `account` (by subject or username), newest first."""
    query = select(Notification).where(
        Notification.recipient.in_([account.subject, account.username])
    )
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(
        session.scalars(query.order_by(Notification.received_at.desc(), Notification.id.desc()))
    )


def mark_read(session: Session, account: Account, *, at: datetime) -> int:
    """Mark every unread notification of `account` read; returns how many."""
    rows = notifications_for(session, account, unread_only=True)
    for row in rows:
        row.read_at = at
    session.flush()
    return len(rows)


__all__ = [
    "FINDING_STATES",
    "HUB_AUDIENCE",
    "FindingNoticeIn",
    "NodeKeyLookup",
    "NotificationIn",
    "check_node_secret",
    "issue_node_secret",
    "mark_read",
    "notifications_for",
    "parse_node_notice",
    "store_finding_notice",
    "store_node_notice",
    "store_notification",
    "verify_node_signature",
]
