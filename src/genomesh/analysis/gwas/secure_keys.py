"""A node's secure-aggregation keys and round records, shared by every worker of the node.

A secure GWAS spans several rounds, and any round may reach any worker of a node (`node
serve --workers 2`) or a node restarted since the last round. So nothing a round needs may
live only in one process's memory, and nothing secret is stored per task:

* **Node secret**: 32 random bytes in `NODE_DIR/secure_aggregation.key` (mode 0600, made
  once, atomically, by whichever worker comes first; like the dial-out signing key).
* **Per-task keys are derived**, never stored: HKDF-SHA256 over the node secret, with the
  task's random nonce as salt and `genomesh-secagg|<purpose>|<task>|<party>` as info. The
  purposes are the X25519 mask key, the X25519 key that encrypts Shamir shares to peers,
  the self-mask seed and the Shamir polynomial coefficients (so a re-asked round gets the
  very same shares). Every worker derives the same keys.
* **Round records** (not secret; SQLite `NODE_DIR/secure_aggregation.sqlite`, or in memory
  for an in-process node): per task the nonce and the party set of its first masked round;
  per answered round the SHA-256 of its party set and unmasked vector; per peer whether
  this node revealed that peer's self-mask share or its pairwise-key share (never both).

The records enforce one rule: the same masks never hide two different vectors. A round
asked again (a lost reply) is answered identically; asked again with other numbers (the
node's data changed meanwhile, e.g. a withdrawal) or another party set, it is refused, since
the difference of two vectors under the same masks is the difference of the plain values.
A task id the hub reuses gets the same nonce and so falls under the same rule; records older
than `RETENTION_SECONDS` are pruned (a pruned task's later rounds no longer match its
public keys and are refused).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
import time
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import QueuePool

from genomesh.core.errors import ConflictError

SECRET_FILE = "secure_aggregation.key"
RECORDS_FILE = "secure_aggregation.sqlite"
RETENTION_SECONDS = 30 * 86400

metadata = MetaData()
tasks_table = Table(
    "secagg_tasks",
    metadata,
    Column("task_id", String(200), primary_key=True),
    Column("party", String(200), primary_key=True),
    Column("nonce", LargeBinary(32), nullable=False),
    Column("created", Float, nullable=False),
)
pins_table = Table(  # "peers" (round -1) and per-round digests, first answer wins
    "secagg_pins",
    metadata,
    Column("task_id", String(200), primary_key=True),
    Column("party", String(200), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("value", Text, nullable=False),
    Column("created", Float, nullable=False),
)
reveals_table = Table(  # which share of a peer this node revealed: "self" or "pair"
    "secagg_reveals",
    metadata,
    Column("task_id", String(200), primary_key=True),
    Column("party", String(200), primary_key=True),
    Column("peer", String(200), primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("round", Integer, nullable=False),
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


class RoundRecords:
    """The node's secure-round records over SQLAlchemy (SQLite file, PostgreSQL, or memory).

    Every write is "insert if absent, then read what is there": the first worker to record
    a value wins and every other worker sees (and must agree with) that value.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        for attempt in range(3):  # two workers creating the tables at once
            try:
                metadata.create_all(engine)
                break
            except OperationalError:
                if attempt == 2:
                    raise
                time.sleep(0.2)

    @classmethod
    def from_url(cls, url: str) -> RoundRecords:
        if url in ("sqlite://", "sqlite:///:memory:"):
            engine = create_engine(
                "sqlite://", connect_args={"check_same_thread": False},
                poolclass=QueuePool, pool_size=1, max_overflow=0,
            )  # fmt: skip
            return cls(engine)
        engine = create_engine(url, connect_args={"timeout": 30} if "sqlite" in url else {})
        if url.startswith("sqlite"):
            event.listen(engine, "connect", _sqlite_pragmas)
        return cls(engine)

    def _first(self, table: Table, key: dict[str, Any], values: dict[str, Any], column: str) -> Any:
        """Insert unless present (INSERT ... ON CONFLICT DO NOTHING), then read: one
        transaction, and whichever worker inserted first decides the value."""
        where = [table.c[name] == value for name, value in key.items()]
        dialect = self.engine.dialect.name
        if dialect == "sqlite":
            statement: Any = sqlite_insert(table).on_conflict_do_nothing()
        elif dialect == "postgresql":
            statement = postgresql_insert(table).on_conflict_do_nothing()
        else:
            statement = None
        if statement is not None:
            with self.engine.begin() as con:
                con.execute(statement.values(**key, **values))
                return con.execute(select(table.c[column]).where(*where)).scalar_one()
        try:  # another database: insert, and let the key's uniqueness refuse a second one
            with self.engine.begin() as con:
                con.execute(insert(table).values(**key, **values))
        except IntegrityError:
            pass
        with self.engine.begin() as con:
            return con.execute(select(table.c[column]).where(*where)).scalar_one()

    def nonce(self, task_id: str, party: str) -> bytes:
        """The task's nonce at this node (made on first sight; old tasks pruned then)."""
        key = {"task_id": task_id, "party": party}
        with self.engine.begin() as con:
            found = con.execute(
                select(tasks_table.c.nonce).where(
                    tasks_table.c.task_id == task_id, tasks_table.c.party == party
                )
            ).scalar()
        if found is not None:
            return bytes(found)
        self.prune()
        now = time.time()
        return bytes(
            self._first(
                tasks_table, key, {"nonce": secrets.token_bytes(32), "created": now}, "nonce"
            )
        )

    def get(self, task_id: str, party: str, name: str) -> str | None:
        """The value pinned under `name`, if any."""
        where = (pins_table.c.task_id == task_id, pins_table.c.party == party,
                 pins_table.c.name == name)  # fmt: skip
        with self.engine.begin() as con:
            found = con.execute(select(pins_table.c.value).where(*where)).scalar()
        return None if found is None else str(found)

    def pin(self, task_id: str, party: str, name: str, value: str) -> str:
        """Record `value` under `name` unless a value is there already; return the one kept."""
        key = {"task_id": task_id, "party": party, "name": name}
        return str(self._first(pins_table, key, {"value": value, "created": time.time()}, "value"))

    def reveal(self, task_id: str, party: str, peer: str, kind: str, round_: int) -> str:
        """Record that this node reveals `kind` ("self" or "pair") of `peer`; the kind kept."""
        key = {"task_id": task_id, "party": party, "peer": peer}
        return str(self._first(reveals_table, key, {"kind": kind, "round": round_}, "kind"))

    def prune(self, *, older_than: float = RETENTION_SECONDS) -> None:
        cutoff = time.time() - older_than
        with self.engine.begin() as con:
            old = select(tasks_table.c.task_id).where(tasks_table.c.created < cutoff)
            ids = list(con.execute(old).scalars())
            if ids:
                for table in (pins_table, reveals_table, tasks_table):
                    con.execute(delete(table).where(table.c.task_id.in_(ids)))


def _node_secret(node_dir: Path) -> bytes:
    """The node's secure-aggregation secret (created 0600 on first use, atomically)."""
    path = node_dir / SECRET_FILE
    if not path.is_file():
        node_dir.mkdir(parents=True, exist_ok=True)
        tmp = node_dir / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
        try:
            os.link(tmp, path)  # complete before visible; the first worker's file wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    secret = path.read_bytes()
    if len(secret) != 32:
        raise ConflictError(f"{path} is not a 32-byte secure-aggregation secret")
    return secret


class NodeSecrets:
    """Derives a node's per-task keys and keeps its round records (see the module doc)."""

    def __init__(self, secret: bytes, records: RoundRecords) -> None:
        self._secret = secret
        self.records = records
        self._nonces: dict[tuple[str, str], bytes] = {}  # a task's nonce never changes

    def nonce(self, task_id: str, party: str) -> bytes:
        key = (task_id, party)
        if key not in self._nonces:
            while len(self._nonces) >= 1024:
                self._nonces.pop(next(iter(self._nonces)))
            self._nonces[key] = self.records.nonce(task_id, party)
        return self._nonces[key]

    @classmethod
    def at(cls, node_dir: Path | str) -> NodeSecrets:
        node_dir = Path(node_dir)
        url = f"sqlite:///{(node_dir / RECORDS_FILE).resolve()}"
        return cls(_node_secret(node_dir), RoundRecords.from_url(url))

    @classmethod
    def in_memory(cls) -> NodeSecrets:
        return cls(secrets.token_bytes(32), RoundRecords.from_url("sqlite://"))

    def derive(self, task_id: str, party: str, purpose: str, length: int = 32) -> bytes:
        return HKDF(
            algorithm=hashes.SHA256(),
            length=length,
            salt=self.nonce(task_id, party),
            info=f"genomesh-secagg|{purpose}|{task_id}|{party}".encode(),
        ).derive(self._secret)

    def x25519(self, task_id: str, party: str, purpose: str) -> X25519PrivateKey:
        return X25519PrivateKey.from_private_bytes(self.derive(task_id, party, purpose))

    def public_hex(self, task_id: str, party: str, purpose: str) -> str:
        key = self.x25519(task_id, party, purpose).public_key()
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()

    def pin_peers(
        self, task_id: str, party: str, peers: Mapping[str, str], *, label: str = "task"
    ) -> dict[str, str]:
        """The party set (name -> public key) of the first round masked under `label`."""
        text = json.dumps(dict(sorted(peers.items())))
        return dict(json.loads(self.records.pin(task_id, party, f"peers:{label}", text)))

    def pin_round(
        self, task_id: str, party: str, round_: int, peers: Mapping[str, str], vector: np.ndarray
    ) -> None:
        """Refuse to mask a round a second time with another party set or other numbers."""
        digest = hashlib.sha256(json.dumps(sorted(peers)).encode())
        digest.update(np.ascontiguousarray(vector, dtype=np.uint64).tobytes())
        kept = self.records.pin(task_id, party, f"round:{round_}", digest.hexdigest())
        if kept != digest.hexdigest():
            raise ConflictError(
                f"round {round_} of task {task_id} was answered before with other numbers or "
                "another party set (the node's data changed, e.g. a withdrawal, or the hub "
                "reused the task); the same masks must never hide two different vectors, so "
                "the task must start again"
            )


_open: dict[str, NodeSecrets] = {}
_memory: weakref.WeakKeyDictionary[Any, NodeSecrets] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def secrets_for(data: Any) -> NodeSecrets:
    """The secrets of the node `data` belongs to: its node folder when it has one (the node
    runner's `StoreLocalData`), else one in-memory set per data object (in-process nodes)."""
    node_dir = getattr(getattr(data, "settings", None), "node_dir", None)
    with _lock:
        if node_dir is not None:
            key = str(Path(node_dir).resolve())
            if key not in _open:
                _open[key] = NodeSecrets.at(key)
            return _open[key]
        if data not in _memory:
            _memory[data] = NodeSecrets.in_memory()
        return _memory[data]
