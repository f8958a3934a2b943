"""Joining a node to the hub in one step: the admin invites, the node joins.

`POST /nodes/invitations` (admin) records an invitation for a node name and country and
returns a one-time token (shown once; only its SHA-256 is stored). The node's operator runs
`genomesh node join DIR --hub URL --token T`, which calls `POST /nodes/join` with the token,
the node's name, its URL (or "dial-out") and its Ed25519 public key. The hub takes the token
with a compare-and-set (one use, before it expires), registers the node with that key - so
withdrawal notices signed by the node are accepted - and answers with what the node needs to
trust the hub: its passport issuer, JWKS and revocation list, and the audience of the
passports it will send. The node writes those into its genomesh.toml and checks them before
it says "joined" (genomesh.cli.join_commands).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import Column, DateTime, String, Table, insert, select, update

from genomesh.core.errors import AuthenticationError, ConflictError, InvalidInputError
from genomesh.hub.registry import HubStore, NodeCreate, NodePublic, metadata

invitations_table = Table(
    "hub_invitations",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("country", String(2), nullable=False),
    Column("contact", String(256), nullable=False, default=""),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("expires", DateTime(timezone=True), nullable=False),
    Column("used", DateTime(timezone=True), nullable=True),
)


class InvitationCreate(BaseModel):
    """What the admin gives: the node to be (name, country), and how long the token lasts."""

    name: str
    country: str
    contact: str = ""
    days: float = Field(default=7, gt=0, le=90, description="the token expires after this")


class JoinRequest(BaseModel):
    """What a joining node sends."""

    token: str = Field(max_length=256)
    name: str
    base_url: str = Field(description='the node\'s base URL, or "dial-out"')
    public_key: str = Field(description="the node's Ed25519 public key (signs its notices)")
    audience: str | None = None


def _node(**fields: Any) -> NodeCreate:
    """A NodeCreate, its validation errors as a 400 naming the field."""
    try:
        return NodeCreate(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "node"
        raise InvalidInputError(f"{where}: {first.get('msg')}", field=where) from exc


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def invite(store: HubStore, request: InvitationCreate) -> dict[str, Any]:
    """Record an invitation; the token is returned here once and never stored."""
    # the name and country must be what a registration accepts (checked now, not at join)
    _node(name=request.name, base_url="http://check.invalid", country=request.country)
    invitations_table.create(store.engine, checkfirst=True)
    token = "gsj_" + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    expires = now + timedelta(days=request.days)
    with store.engine.begin() as conn:
        conn.execute(
            insert(invitations_table).values(
                token_sha256=_digest(token), name=request.name, country=request.country.upper(),
                contact=request.contact, created=now, expires=expires, used=None,
            )
        )  # fmt: skip
    return {"token": token, "name": request.name, "expires_at": expires.isoformat()}


def redeem(store: HubStore, request: JoinRequest) -> NodePublic:
    """Use the token (once) and register the node it names (its key, its URL)."""
    invitations_table.create(store.engine, checkfirst=True)
    now = datetime.now(UTC)
    digest = _digest(request.token)
    with store.engine.connect() as conn:
        row = (
            conn.execute(
                select(invitations_table).where(invitations_table.c.token_sha256 == digest)
            )
            .mappings()
            .first()
        )
    if row is None:
        raise AuthenticationError("unknown invitation token; ask the hub admin for one")
    if row["used"] is not None:
        raise AuthenticationError("this invitation token was already used")
    if _aware(row["expires"]) <= now:
        raise AuthenticationError("this invitation token has expired; ask for a new one")
    if row["name"] != request.name:
        raise InvalidInputError(
            f"the invitation is for node {row['name']!r}, this node is called {request.name!r} "
            "(the name in its genomesh.toml)",
            field="name",
        )
    node = _node(
        name=request.name, base_url=request.base_url, country=row["country"],
        contact=row["contact"], public_key=request.public_key, audience=request.audience,
    )  # fmt: skip
    with store.engine.begin() as conn:  # compare-and-set: of two joins with one token, one wins
        taken = conn.execute(
            update(invitations_table)
            .where(invitations_table.c.token_sha256 == digest, invitations_table.c.used.is_(None))
            .values(used=now)
        ).rowcount
    if taken != 1:
        raise ConflictError("this invitation token was just used by another join")
    try:
        return store.add_node(node)
    except Exception:
        with store.engine.begin() as conn:  # the node was not registered: the token stays good
            conn.execute(
                update(invitations_table)
                .where(invitations_table.c.token_sha256 == digest)
                .values(used=None)
            )
        raise


__all__ = ["InvitationCreate", "JoinRequest", "invitations_table", "invite", "redeem"]
