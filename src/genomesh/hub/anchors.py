"""Audit heads the nodes anchor at the hub: verified, kept append-only, readable by anyone.

A node signs its audit head (`entries`, `hash`) with its registered Ed25519 key and posts it
every N entries or M minutes (the node side is `genomesh.node.anchor`; hub and node share the
wire format only)::

    POST /nodes/{name}/audit-heads
    {"payload": {"type": "audit_head", "entries": 400, "hash": "<64 hex>",
                 "previous": {"entries": 300, "hash": "<64 hex>"},   (optional)
                 "iss": name, "aud": "hub", "iat": <unix time>, "nonce": "<hex>"},
     "sig": "<base64url Ed25519 over the canonical payload>"}

The hub checks the signature against the key registered for `name`, the time window and the
nonce (`genomesh.hub.signing`), then keeps the head in `hub_audit_heads`, which is only ever
inserted into. It refuses, keeps as evidence and logs at ERROR level a head that

* counts fewer entries than a head it already accepted (the log went backwards: a cut tail,
  a wiped or restored database), or
* has another hash than the accepted head with the same count, or names a `previous` head
  (what the node's log holds now at its last anchor) whose hash differs from the head the hub
  accepted at that count (the chain was rewritten, e.g. restored from a backup and grown).

`GET /nodes/{name}/audit-heads` (public) returns the latest head, the history and the refused
heads, each with the node's signed envelope, so a participant or auditor can check a node's
log (`genomesh audit verify DIR --hub URL`) without trusting the hub's word for the numbers.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from genomesh.core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from genomesh.hub.dialout import HUB_PRINCIPAL, SignedMessage
from genomesh.hub.registry import HubStore
from genomesh.hub.shared import SqlNonceCache
from genomesh.hub.signing import load_public_key, verify_message

log = logging.getLogger(__name__)
HEAD_TYPE = "audit_head"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

metadata = MetaData()
heads_table = Table(
    "hub_audit_heads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("node", String(64), nullable=False),
    Column("entries", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("signed_at", Float, nullable=False),  # the node's `iat`
    Column("received_at", Float, nullable=False),  # the hub's clock
    Column("envelope", JSON, nullable=False),  # the signed message as received
    Column("accepted", Boolean, nullable=False),
    # = entries when accepted, else NULL: one accepted head per count (concurrent posts)
    Column("accepted_entries", Integer, nullable=True),
    Column("problem", Text, nullable=True),  # why a head was refused
    UniqueConstraint("node", "accepted_entries", name="uq_hub_audit_heads_accepted"),
    Index("ix_hub_audit_heads_node_entries", "node", "entries"),
)


def _head_out(row: Any) -> dict[str, Any]:
    out = {
        "entries": row.entries,
        "hash": row.hash,
        "signed_at": row.signed_at,
        "signed_at_utc": datetime.fromtimestamp(row.signed_at, UTC).isoformat(),
        "received_at_utc": datetime.fromtimestamp(row.received_at, UTC).isoformat(),
        "envelope": row.envelope,
    }
    if not row.accepted:
        out["problem"] = row.problem
    return out


class AuditHeads:
    """The hub's store of anchored audit heads (on the registry's database)."""

    def __init__(self, store: HubStore, *, max_skew: float) -> None:
        self.store = store
        self.engine: Engine = store.engine
        self.max_skew = max_skew
        self.nonces = SqlNonceCache(self.engine, max_skew * 2)  # shared by all workers

    def verify(self, name: str, message: dict[str, Any]) -> Head:
        """The head signed by node `name`, or raise (401 forged/unknown, 400 malformed)."""
        try:
            node = self.store.node(name)
        except NotFoundError as exc:
            raise AuthenticationError(f"unknown node {name!r}") from exc
        if not node.public_key:
            raise AuthenticationError(
                f"node {name!r} has no registered public key at this hub; register the key "
                "the node signs with (`genomesh node dial-out NODE_DIR --show-key`)"
            )
        payload = verify_message(
            message,
            load_public_key(node.public_key),
            iss=name,
            aud=HUB_PRINCIPAL,
            nonces=self.nonces,
            max_skew=self.max_skew,
        )
        if payload.get("type") != HEAD_TYPE:
            raise InvalidInputError(f"expected a {HEAD_TYPE!r} message", field="type")
        entries, digest = _count(payload.get("entries"), "entries"), payload.get("hash")
        if not isinstance(digest, str) or not _HEX64.match(digest):
            raise InvalidInputError("hash must be 64 lowercase hex digits", field="hash")
        previous = payload.get("previous")
        before: tuple[int, str] | None = None
        if previous is not None:
            if not isinstance(previous, dict) or not isinstance(previous.get("hash"), str):
                raise InvalidInputError("previous must be {entries, hash}", field="previous")
            before = (_count(previous.get("entries"), "previous.entries"), previous["hash"])
            if before[0] >= entries:
                raise InvalidInputError(
                    "previous must name an earlier head than this one", field="previous"
                )
        return Head(entries, digest, float(payload["iat"]), before)

    def submit(self, name: str, message: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        """Verify and keep a head; (new?, the stored head). ConflictError (after keeping it as
        refused, and logging it) when it goes backwards or conflicts with an earlier head."""
        head = self.verify(name, message)
        for _attempt in range(3):  # a concurrent post of the same count: look again
            try:
                return self._submit(name, head, message)
            except IntegrityError:
                continue
        raise ConflictError(f"audit head {head.entries} of node {name!r} is being stored now")

    def _submit(
        self, name: str, head: Head, message: dict[str, Any]
    ) -> tuple[bool, dict[str, Any]]:
        t = heads_table
        entries, digest = head.entries, head.hash
        with self.engine.begin() as conn:
            mine = (t.c.node == name, t.c.accepted.is_(True))
            same = conn.execute(select(t).where(*mine, t.c.entries == entries)).first()
            if same is not None and same.hash == digest:
                return False, _head_out(same)
            top = conn.execute(select(t).where(*mine).order_by(t.c.entries.desc()).limit(1)).first()
            earlier = None
            if head.previous is not None:
                earlier = conn.execute(
                    select(t).where(*mine, t.c.entries == head.previous[0])
                ).first()
            problem = None
            if same is not None:
                problem = _conflict(entries, digest, same)
            elif earlier is not None and head.previous and earlier.hash != head.previous[1]:
                problem = _conflict(earlier.entries, head.previous[1], earlier)
            elif top is not None and entries < top.entries:
                problem = (
                    f"count goes backwards: this head says {entries} entries, but the hub "
                    f"already holds a head of {top.entries} entries from this node: entries "
                    "were removed from its log"
                )
            row = {
                "node": name, "entries": entries, "hash": digest, "signed_at": head.signed_at,
                "received_at": time.time(), "envelope": message, "accepted": problem is None,
                "accepted_entries": entries if problem is None else None, "problem": problem,
            }  # fmt: skip
            conn.execute(insert(t).values(**row))
        if problem is not None:
            log.error("REFUSED audit head from node %r: %s", name, problem)
            raise ConflictError(f"audit head refused: {problem}", field="entries")
        return True, _head_out(SimpleNamespace(**row))

    def history(self, name: str, *, limit: int) -> dict[str, Any]:
        """The latest accepted head, the newest `limit` accepted (oldest first), the refused."""
        t = heads_table
        with self.engine.connect() as conn:
            accepted = conn.execute(
                select(t)
                .where(t.c.node == name, t.c.accepted.is_(True))
                .order_by(t.c.entries.desc())
                .limit(limit)
            ).all()
            total = conn.execute(
                select(func.count()).where(t.c.node == name, t.c.accepted.is_(True))
            ).scalar_one()
            refused = conn.execute(
                select(t).where(t.c.node == name, t.c.accepted.is_(False)).order_by(t.c.id)
            ).all()
        if not accepted and not refused:
            self.store.node(name)  # NotFoundError for a node the hub does not know
        heads = [_head_out(r) for r in reversed(accepted)]
        return {
            "node": name,
            "latest": heads[-1] if heads else None,
            "count": int(total),
            "heads": heads,
            "refused": [_head_out(r) for r in refused],
        }


@dataclass(frozen=True)
class Head:
    """A verified head: `entries`, `hash`, the node's signing time, and the `previous` head
    (entries, hash of that entry in the node's log now) when the node named one."""

    entries: int
    hash: str
    signed_at: float
    previous: tuple[int, str] | None = None


def _count(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"{field} must be a positive integer", field=field)
    return value


def _conflict(entries: int, digest: str, accepted: Any) -> str:
    return (
        f"hash conflict: this head says entry {entries} hashes to {digest[:12]}..., but the "
        f"head the hub accepted for entry {entries} (signed at {accepted.signed_at:.0f}, unix) "
        f"says {accepted.hash[:12]}...: the node's log was rewritten"
    )


router = APIRouter(tags=["audit anchors"])


def _heads(request: Request) -> AuditHeads:
    return request.app.state.audit_heads


@router.post(
    "/nodes/{name}/audit-heads",
    status_code=201,
    summary="Anchor a node's audit head (signed by the node)",
    responses={
        200: {"description": "the hub already had this head"},
        400: {"description": "not an audit head message (type, entries or hash)"},
        401: {"description": "bad signature, unknown node, no registered key, stale or replayed"},
        409: {"description": "the head goes backwards or conflicts with an accepted one"},
    },
)
async def post_head(
    name: str, message: SignedMessage, request: Request, response: Response
) -> dict[str, Any]:
    new, head = _heads(request).submit(name, message.model_dump())
    if not new:
        response.status_code = 200
    return {"accepted": True, "new": new, "node": name, **head}


@router.get(
    "/nodes/{name}/audit-heads",
    summary="A node's anchored audit heads (public)",
    responses={404: {"description": "no such node, and no heads from it"}},
)
async def get_heads(
    name: str,
    request: Request,
    limit: int = Query(1000, ge=1, le=10_000, description="newest accepted heads to return"),
) -> dict[str, Any]:
    return _heads(request).history(name, limit=limit)


__all__ = ["HEAD_TYPE", "AuditHeads", "heads_table", "router"]
