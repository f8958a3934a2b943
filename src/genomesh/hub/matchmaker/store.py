"""What the hub's matchmaker keeps: MME peers, matched pairs, and notifications to submitters.

Peers (`hub_mme_peers`) are other matchmakers, in one or both directions: a peer that calls
the hub's `/match` holds a token the hub issued (only its SHA-256 is stored); a peer the hub
calls has a base URL and the token that peer issued to the hub, which the hub must send and
so keeps as given (protect the hub database like the hub's signing key).

Each matched pair (`hub_mme_matches`) is recorded once, keyed by both patients and where each
came from, whichever side asked; its first recording writes one notification per submitter
(`hub_mme_notifications`): the query patient's contact and the matched patient's contact,
each told about the other. Asking again updates the pair's `last_seen` and count, and
notifies nobody twice.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from genomesh.core.errors import ConflictError, InvalidInputError, NotFoundError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
metadata = MetaData()
peers_table = Table(
    "hub_mme_peers",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("base_url", String(512), nullable=True),  # None: the hub does not call this peer
    Column("outbound_token", Text, nullable=True),  # the peer's token for the hub, as given
    Column("inbound_sha256", String(64), nullable=True),  # the hub's token for the peer, hashed
    Column("contact", String(256), nullable=False, default=""),
    Column("created", DateTime(timezone=True), nullable=False),
)
matches_table = Table(
    "hub_mme_matches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pair_key", String(64), nullable=False, unique=True),
    Column("query_source", String(128), nullable=False),
    Column("query_patient", String(256), nullable=False),
    Column("match_source", String(128), nullable=False),
    Column("match_patient", String(256), nullable=False),
    Column("score", Float, nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("times", Integer, nullable=False, default=1),
)
notifications_table = Table(
    "hub_mme_notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("match_id", Integer, nullable=False, index=True),
    Column("recipient", String(512), nullable=False, index=True),  # the contact's href
    Column("via", String(128), nullable=False, index=True),  # the peer or node it came through
    Column("patient", String(256), nullable=False),  # the recipient's own patient
    Column("message", Text, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    UniqueConstraint("match_id", "recipient", "patient", name="uq_hub_mme_notice"),
)


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Peer:
    """An external matchmaker (no tokens: those never leave the store)."""

    name: str
    base_url: str | None
    contact: str
    inbound: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "baseUrl": self.base_url,
            "contact": self.contact,
            "callsHub": self.inbound,
            "calledByHub": self.base_url is not None,
        }


@dataclass(frozen=True)
class Side:
    """One patient of a matched pair: where it came from and who submitted it."""

    source: str  # "peer:NAME" or "node:NAME"
    patient_id: str
    contact: dict[str, Any]


def pair_key(a: Side, b: Side) -> str:
    """The same key whichever of the two patients was the query."""
    ends = sorted([f"{a.source}\x1f{a.patient_id}", f"{b.source}\x1f{b.patient_id}"])
    return hashlib.sha256("\x1e".join(ends).encode()).hexdigest()


def recipient_of(contact: dict[str, Any]) -> str:
    """A submitter's address for the inbox: the contact's href (mailto: lower-cased)."""
    href = str(contact.get("href") or contact.get("name") or "").strip()
    return href.lower() if href.lower().startswith("mailto:") else href


class MatchmakerStore:
    """Peers, pairs and notifications in the hub's database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    # ------------------------------------------------------------------ peers
    def add_peer(
        self,
        name: str,
        *,
        base_url: str | None = None,
        token: str | None = None,
        inbound: bool = True,
        contact: str = "",
    ) -> str | None:
        """Register a peer; returns the token it calls the hub with (shown once), if inbound."""
        if not _NAME.match(name or ""):
            raise InvalidInputError(
                "peer name: 1-64 letters, digits, '.', '_' or '-'", field="name"
            )
        if base_url is not None:
            if not re.match(r"^https?://[^\s/]+", base_url):
                raise InvalidInputError(
                    f"peer URL must be http(s)://HOST[/PATH], not {base_url!r}", field="base_url"
                )
            if not token:
                raise InvalidInputError(
                    "a peer the hub calls needs the X-Auth-Token it issued to the hub",
                    field="token",
                )
        if base_url is None and not inbound:
            raise InvalidInputError(
                "a peer needs a URL (the hub calls it), inbound access, or both", field="base_url"
            )
        issued = "mme_" + secrets.token_urlsafe(32) if inbound else None
        row = {
            "name": name,
            "base_url": base_url.rstrip("/") if base_url else None,
            "outbound_token": token if base_url else None,
            "inbound_sha256": _sha256(issued) if issued else None,
            "contact": contact,
            "created": datetime.now(UTC),
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(peers_table).values(**row))
        except IntegrityError:
            raise ConflictError(f"matchmaker peer {name!r} exists; remove it first") from None
        return issued

    def remove_peer(self, name: str) -> None:
        with self.engine.begin() as conn:
            gone = conn.execute(delete(peers_table).where(peers_table.c.name == name)).rowcount
        if not gone:
            raise NotFoundError(f"no matchmaker peer {name!r}", field="name")

    def peers(self) -> list[Peer]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(peers_table).order_by(peers_table.c.name)).all()
        return [Peer(r.name, r.base_url, r.contact, r.inbound_sha256 is not None) for r in rows]

    def outbound(self) -> list[tuple[Peer, str]]:
        """The peers the hub calls, each with the token to send."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(peers_table).where(peers_table.c.base_url.is_not(None))
            ).all()
        return [
            (Peer(r.name, r.base_url, r.contact, r.inbound_sha256 is not None), r.outbound_token)
            for r in rows
        ]

    def peer_for_token(self, token: str) -> str | None:
        """The inbound peer a token belongs to (constant-time comparison of the hashes)."""
        digest = _sha256(token)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(peers_table.c.name, peers_table.c.inbound_sha256).where(
                    peers_table.c.inbound_sha256.is_not(None)
                )
            ).all()
        found = None
        for name, stored in rows:
            if hmac.compare_digest(stored, digest):
                found = name
        return found

    # ------------------------------------------------------------------ pairs
    def record(self, query: Side, match: Side, *, score: float, message: str) -> bool:
        """Record a matched pair; True (and both submitters notified) the first time only."""
        return bool(self.record_many(query, [(match, score, message)]))

    def record_many(self, query: Side, matches: list[tuple[Side, float, str]]) -> int:
        """Record the pairs of one answer in one transaction; how many were new. A pair seen
        before (or recorded concurrently) is counted, and nobody is notified again."""
        now, new = datetime.now(UTC), 0
        with self.engine.begin() as conn:
            for match, score, message in matches:
                key = pair_key(query, match)
                try:
                    with conn.begin_nested():
                        self._insert(conn, key, query, match, score, message, now)
                    new += 1
                except IntegrityError:
                    conn.execute(
                        update(matches_table)
                        .where(matches_table.c.pair_key == key)
                        .values(last_seen=now, times=matches_table.c.times + 1)
                    )
        return new

    @staticmethod
    def _insert(
        conn: Any, key: str, query: Side, match: Side, score: float, message: str, now: datetime
    ) -> None:
        match_id = conn.execute(
            insert(matches_table).values(
                pair_key=key,
                query_source=query.source,
                query_patient=query.patient_id,
                match_source=match.source,
                match_patient=match.patient_id,
                score=score,
                first_seen=now,
                last_seen=now,
                times=1,
            )
        ).inserted_primary_key[0]
        for own, other in ((query, match), (match, query)):
            conn.execute(
                insert(notifications_table).values(
                    match_id=match_id,
                    recipient=recipient_of(own.contact),
                    via=own.source,
                    patient=own.patient_id,
                    message=message.format(
                        own=own.patient_id,
                        own_source=own.source,
                        other=other.patient_id,
                        other_source=other.source,
                        other_contact=_contact_text(other.contact),
                    ),
                    created=now,
                )
            )

    def matches(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(matches_table).order_by(matches_table.c.id)).all()
        return [
            {
                "id": r.id,
                "query": {"source": r.query_source, "patient": r.query_patient},
                "match": {"source": r.match_source, "patient": r.match_patient},
                "score": r.score,
                "firstSeen": r.first_seen.isoformat() if r.first_seen else None,
                "times": r.times,
            }
            for r in rows
        ]

    def notifications(
        self, *, recipients: list[str] | None = None, via: str | None = None
    ) -> list[dict[str, Any]]:
        """Notifications to any of `recipients`, or that came through `via`; all if neither."""
        query = select(notifications_table).order_by(notifications_table.c.id.desc())
        if recipients is not None:
            query = query.where(notifications_table.c.recipient.in_(recipients))
        if via is not None:
            query = query.where(notifications_table.c.via == via)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            {
                "id": r.id,
                "match": r.match_id,
                "recipient": r.recipient,
                "via": r.via,
                "patient": r.patient,
                "message": r.message,
                "created": r.created.isoformat() if r.created else None,
            }
            for r in rows
        ]


def _contact_text(contact: dict[str, Any]) -> str:
    parts = [contact.get("name"), contact.get("institution"), contact.get("href")]
    return ", ".join(str(p) for p in parts if p)


__all__ = ["MatchmakerStore", "Peer", "Side", "pair_key", "recipient_of"]
