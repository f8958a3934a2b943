"""The disclosure ledger's storage format: rosters and member bitmaps.

An answer over N people is stored as one row with a bitmap over the dataset's roster (its
sorted individual ids, stored once per distinct list), instead of N rows. Looking up one
participant reads the rows of the rosters that contain them and tests one bit per row.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, Engine, Table, select
from sqlalchemy.exc import IntegrityError

from genomesh.audit.records import Contribution, Disclosure


@dataclass(frozen=True)
class Roster:
    """One stored roster: its row id, members in order, and each member's position."""

    id: int
    dataset_id: str
    members: tuple[str, ...]
    position: dict[str, int]


def encode(roster: Roster, members: Iterable[str]) -> bytes:
    """The bitmap of `members` over the roster (ValueError if someone is not on it)."""
    bits = np.zeros(len(roster.members), dtype=bool)
    try:
        bits[list(map(roster.position.__getitem__, members))] = True
    except KeyError as exc:
        raise ValueError(f"individual {exc.args[0]!r} is not on the dataset's roster") from exc
    return np.packbits(bits).tobytes()


def decode(roster: Roster, bitmap: bytes) -> frozenset[str]:
    bits = np.unpackbits(np.frombuffer(bitmap, dtype=np.uint8))[: len(roster.members)]
    return frozenset(roster.members[i] for i in np.flatnonzero(bits))


def has_bit(bitmap: bytes, position: int) -> bool:
    return bool(bitmap[position >> 3] >> (7 - (position & 7)) & 1)


def group(disclosures: Iterable[Disclosure | Contribution]) -> list[Contribution]:
    """Per-individual `Disclosure`s grouped into `Contribution`s (one per dataset/kind/exact)."""
    out: list[Contribution] = []
    loose: dict[tuple[str, str, bool], set[str]] = {}
    for d in disclosures:
        if isinstance(d, Contribution):
            out.append(d)
        else:
            loose.setdefault((d.dataset_id, d.kind, d.exact), set()).add(d.individual_id)
    out.extend(
        Contribution(ds, frozenset(m), kind, exact) for (ds, kind, exact), m in loose.items()
    )
    return out


class Rosters:
    """Roster rows, cached in memory (they never change once written)."""

    def __init__(self, table: Table, engine: Engine) -> None:
        self.table, self.engine = table, engine
        self._by_id: dict[int, Roster] = {}
        self._by_key: dict[str, int] = {}
        self._lock = threading.Lock()

    def ensure(self, c: Contribution) -> Roster:
        """The roster of a contribution, committed on first sight (its own transaction, so a
        failed append never leaves the cache pointing at a rolled-back row)."""
        if c.roster_key is not None and c.roster_key in self._by_key:
            return self._by_id[self._by_key[c.roster_key]]
        members = c.roster if c.roster is not None else tuple(sorted(c.members))
        digest = hashlib.sha256("\n".join(members).encode()).hexdigest()
        with self._lock:
            rid = self._by_key.get(digest)
        if rid is None:
            # Outside the lock: the lock guards the caches only and is never held while
            # waiting for the database (an in-memory state lets one thread at a time use
            # its connection, so holding both in different orders would deadlock).
            rid = self._store(c.dataset_id, digest, members)
        with self._lock:
            if rid not in self._by_id:
                position = {m: i for i, m in enumerate(members)}
                self._by_id[rid] = Roster(rid, c.dataset_id, members, position)
            self._by_key[digest] = rid
            if c.roster_key is not None:
                self._by_key[c.roster_key] = rid
            return self._by_id[rid]

    def _store(self, dataset_id: str, digest: str, members: tuple[str, ...]) -> int:
        t = self.table
        find = select(t.c.id).where(t.c.digest == digest)
        with self.engine.connect() as conn:
            found = conn.execute(find).scalar()
        if found is not None:
            return int(found)
        row = {"dataset_id": dataset_id, "digest": digest, "members": json.dumps(members)}
        try:
            with self.engine.begin() as conn:
                conn.execute(t.insert().values(**row))
        except IntegrityError:  # another process stored the same roster just now
            pass
        with self.engine.connect() as conn:
            return int(conn.execute(find).scalar_one())

    def load(self, conn: Connection, ids: Sequence[int]) -> dict[int, Roster]:
        """Rosters by id (from the cache, else the database)."""
        missing = [i for i in ids if i not in self._by_id]
        if missing:
            t = self.table
            rows = conn.execute(
                select(t.c.id, t.c.dataset_id, t.c.members).where(t.c.id.in_(missing))
            )
            with self._lock:
                for rid, ds, text in rows:
                    members = tuple(json.loads(text))
                    self._by_id[int(rid)] = Roster(
                        int(rid), ds, members, {m: i for i, m in enumerate(members)}
                    )
        return {i: self._by_id[i] for i in ids}

    def containing(
        self, conn: Connection, individual_id: str, dataset_id: str | None
    ) -> dict[int, Roster]:
        """Every stored roster (of the dataset, if given) that lists this individual."""
        t = self.table
        q = select(t.c.id)
        if dataset_id is not None:
            q = q.where(t.c.dataset_id == dataset_id)
        rosters = self.load(conn, [int(i) for i in conn.execute(q).scalars()])
        return {i: r for i, r in rosters.items() if individual_id in r.position}


__all__ = ["Roster", "Rosters", "decode", "encode", "group", "has_bit"]
