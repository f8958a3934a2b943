"""The node registry and the stored catalogue (SQLAlchemy; SQLite by default).

The hub keeps only metadata: who the nodes are (name, URL or dial-out, country, contact,
public key) and what each node says about its datasets. No individual-level data.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from genomesh.core.errors import ConflictError, InvalidInputError, NotFoundError
from genomesh.core.settings import SHARED_AUDIENCE
from genomesh.hub.shared import sqlite_pragmas
from genomesh.hub.signing import load_public_key

DIAL_OUT = "dial-out"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

metadata = MetaData()
nodes_table = Table(
    "hub_nodes",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("base_url", String(512), nullable=True),
    Column("dial_out", Boolean, nullable=False, default=False),
    Column("country", String(2), nullable=False),
    Column("contact", String(256), nullable=False, default=""),
    Column("public_key", Text, nullable=True),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("last_sync", DateTime(timezone=True), nullable=True),
    Column("last_sync_error", Text, nullable=True),
    Column("node_info", JSON, nullable=True),
    # the `aud` this node expects of passports (QA F23); NULL = its base URL (dial-out: the hub's
    # path for it); see genomesh.hub.audiences.node_audience
    Column("audience", String(512), nullable=True),
)
datasets_table = Table(
    "hub_catalogue",
    metadata,
    Column("node", String(64), primary_key=True),
    Column("dataset_id", String(256), primary_key=True),
    Column("entry", JSON, nullable=False),
    Column("synced", DateTime(timezone=True), nullable=False),
)


class NodeCreate(BaseModel):
    """What an admin gives to register a node."""

    name: str
    base_url: str = Field(description='node base URL, or "dial-out" for a node that only dials out')
    country: str = Field(description="ISO 3166-1 alpha-2 country of the node")
    contact: str = ""
    public_key: str | None = Field(
        default=None, description="the node's Ed25519 public key (required for dial-out nodes)"
    )
    audience: str | None = Field(
        default=None,
        description="the `aud` the node expects of passports (its `audience` setting); default: "
        "its base URL, or HUB/nodes/NAME for a dial-out node",
    )

    @field_validator("audience")
    @classmethod
    def _audience(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if len(value) > 512 or any(c.isspace() for c in value):
            raise ValueError("must be at most 512 characters without spaces")
        if value == SHARED_AUDIENCE:
            raise ValueError(
                f"{SHARED_AUDIENCE!r} is the old audience shared by every node; use the node's "
                "own (its base URL, the default)"
            )
        return value.rstrip("/") if "://" in value else value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("use 1-64 letters, digits, '.', '_' or '-'")
        return value

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z]{2}", value):
            raise ValueError("must be an ISO 3166-1 alpha-2 code such as NL")
        return value.upper()

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value == DIAL_OUT:
            return value
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError('must be an http(s) URL or "dial-out"')
        return value.rstrip("/")

    @model_validator(mode="after")
    def _key(self) -> NodeCreate:
        if self.base_url == DIAL_OUT and not self.public_key:
            raise ValueError("a dial-out node needs its public_key")
        if self.public_key:
            load_public_key(self.public_key)
        return self


class NodePublic(BaseModel):
    """A registered node as the API shows it."""

    name: str
    base_url: str | None
    dial_out: bool
    country: str
    contact: str
    public_key: str | None
    created: datetime
    last_sync: datetime | None = None
    last_sync_error: str | None = None
    info: dict[str, Any] | None = None
    audience: str | None = None  # as registered (None: the default)
    passport_audience: str | None = Field(
        default=None, description="the audience of the passports the hub sends this node"
    )


class HubStore:
    """Registry and catalogue persistence behind one small interface."""

    def __init__(self, url: str, *, hub_dir: Path | None = None, migrate: bool = True) -> None:
        if url.startswith("sqlite") and hub_dir is not None:
            hub_dir.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        elif url.startswith("sqlite"):
            kwargs = {"connect_args": {"check_same_thread": False}}
        self.engine: Engine = create_engine(url, **kwargs)
        sqlite_pragmas(self.engine)  # WAL + busy timeout: several workers share the file
        if migrate:
            from genomesh.hub.migrate import upgrade

            upgrade(self.engine)  # every hub and DAC table, at the head revision
        self._nodes: tuple[float, list[NodePublic]] | None = None  # (read at, nodes)

    NODE_CACHE_SECONDS = 2.0  # other hub processes' registry changes show up this fast

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A transaction after which the node cache is dropped."""
        try:
            with self.engine.begin() as conn:
                yield conn
        finally:
            self._nodes = None

    def close(self) -> None:
        self.engine.dispose()

    def _check_audience(self, conn: Connection, node: NodeCreate) -> None:
        """Two nodes must not expect the same audience (a passport for one would work at the
        other): a node's audience (explicit, else its base URL) may not be another node's.
        (A dial-out node's default, HUB/nodes/NAME, is unique by name.)"""
        mine = node.audience or (None if node.base_url == DIAL_OUT else node.base_url)
        if mine is None:
            return
        rows = conn.execute(
            select(nodes_table.c.name, nodes_table.c.base_url, nodes_table.c.audience).where(
                nodes_table.c.name != node.name
            )
        ).all()
        for name, base_url, audience in rows:
            if mine == (audience or (base_url or "").rstrip("/")):
                raise ConflictError(
                    f"audience {mine!r} is already node {name!r}'s (its passport audience); "
                    "every node needs its own",
                    field="audience",
                )

    # -- registry ----------------------------------------------------------------------------
    def add_node(self, node: NodeCreate) -> NodePublic:
        row = {
            "name": node.name,
            "base_url": None if node.base_url == DIAL_OUT else node.base_url,
            "dial_out": node.base_url == DIAL_OUT,
            "country": node.country,
            "contact": node.contact,
            "public_key": node.public_key,
            "created": datetime.now(UTC),
            "audience": node.audience,
        }
        with self._write() as conn:
            self._check_audience(conn, node)
            if conn.execute(
                select(nodes_table.c.name).where(nodes_table.c.name == node.name)
            ).first():
                raise ConflictError(
                    f"a node named {node.name!r} is already registered", field="name"
                )
            conn.execute(insert(nodes_table).values(**row))
        return self.node(node.name)

    def replace_node(self, node: NodeCreate) -> NodePublic:
        """Update a registered node's URL, country, contact or key (catalogue kept)."""
        self.node(node.name)
        with self._write() as conn:
            self._check_audience(conn, node)
            conn.execute(
                update(nodes_table)
                .where(nodes_table.c.name == node.name)
                .values(
                    base_url=None if node.base_url == DIAL_OUT else node.base_url,
                    dial_out=node.base_url == DIAL_OUT,
                    country=node.country,
                    contact=node.contact,
                    public_key=node.public_key,
                    audience=node.audience,
                )
            )
        return self.node(node.name)

    def remove_node(self, name: str) -> None:
        self.node(name)
        with self._write() as conn:
            conn.execute(delete(datasets_table).where(datasets_table.c.node == name))
            conn.execute(delete(nodes_table).where(nodes_table.c.name == name))

    def node(self, name: str) -> NodePublic:
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(nodes_table).where(nodes_table.c.name == name))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFoundError(f"no node named {name!r} is registered", field="node")
        return _public(row)

    def _snapshot(self) -> list[NodePublic]:
        """The cached node list itself (callers must not change the nodes)."""
        cached = self._nodes
        if cached is not None and time.monotonic() - cached[0] < self.NODE_CACHE_SECONDS:
            return cached[1]
        with self.engine.connect() as conn:
            rows = conn.execute(select(nodes_table).order_by(nodes_table.c.name)).mappings().all()
        nodes = [_public(row) for row in rows]
        self._nodes = (time.monotonic(), nodes)
        return nodes

    def nodes(self) -> list[NodePublic]:
        """All registered nodes, copies the caller may change (cached briefly: every network
        query asks for them)."""
        return [n.model_copy() for n in self._snapshot()]

    def select_nodes(self, names: list[str] | None) -> list[NodePublic]:
        """All nodes, or the named ones (unknown names are an error naming them). Shared,
        read-only objects: a network query reads them only, and copying cost ~4 % of its CPU."""
        every = self._snapshot()
        if not names:
            return every
        known = {n.name: n for n in every}
        missing = [n for n in names if n not in known]
        if missing:
            raise InvalidInputError(f"unknown node(s): {', '.join(missing)}", field="nodes")
        return [known[n] for n in names]

    # -- catalogue ---------------------------------------------------------------------------
    def replace_catalogue(
        self, node: str, entries: list[dict[str, Any]], *, info: dict[str, Any] | None
    ) -> None:
        """Atomically swap a node's catalogue entries for freshly synced ones."""
        now = datetime.now(UTC)
        with self._write() as conn:
            conn.execute(delete(datasets_table).where(datasets_table.c.node == node))
            for entry in entries:
                conn.execute(
                    insert(datasets_table).values(
                        node=node, dataset_id=entry["datasetId"], entry=_jsonable(entry), synced=now
                    )
                )
            conn.execute(
                update(nodes_table)
                .where(nodes_table.c.name == node)
                .values(last_sync=now, last_sync_error=None, node_info=_jsonable(info))
            )

    def record_sync_error(self, node: str, error: str) -> None:
        with self._write() as conn:
            conn.execute(
                update(nodes_table).where(nodes_table.c.name == node).values(last_sync_error=error)
            )

    def catalogue_size(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(datasets_table)).scalar_one())

    def catalogue(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(datasets_table).order_by(datasets_table.c.node, datasets_table.c.dataset_id)
            ).mappings()
            return [{**row["entry"], "synced": _utc(row["synced"]).isoformat()} for row in rows]


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _utc(value: Any) -> Any:
    """SQLite drops the zone of stored times; they were written in UTC, so say so."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _public(row: Any) -> NodePublic:
    return NodePublic(
        name=row["name"],
        base_url=row["base_url"],
        dial_out=bool(row["dial_out"]),
        country=row["country"],
        contact=row["contact"] or "",
        public_key=row["public_key"],
        created=_utc(row["created"]),
        last_sync=_utc(row["last_sync"]),
        last_sync_error=row["last_sync_error"],
        info=row["node_info"],
        audience=row["audience"],
    )


__all__ = ["DIAL_OUT", "HubStore", "NodeCreate", "NodePublic"]
