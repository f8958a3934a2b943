"""Who called the hub's Beacon network, and the hub's own per-caller budget.

The caller is the subject of a verified passport, else the client address (the socket peer,
or a trusted proxy's X-Forwarded-For: genomesh.core.clients). The hub tells each node who
the caller is in a signed assertion (genomesh.access.caller) so that nodes key their budgets
and audit entries on the real caller, not on the hub, and it applies its own budget of
`caller_budget` network queries per `caller_budget_window_seconds` per caller first.

The budget is kept in the hub database (the registry's, SQLite or PostgreSQL): it survives a
restart and every hub worker on that database counts against the same window. A visit to
the database is one transaction that first writes the caller's row in `hub_callers` (a row
lock in PostgreSQL, the write lock in SQLite), then counts the caller's charges in
`hub_caller_charges` inside the sliding window and adds rows: two workers charging the same
caller at once are serialised, so no number of workers lets a caller past the limit.

Leases (QA issue 12 part 5: a transaction per query cost the hub about 1 ms of CPU, more
than the whole fan-out): a caller who keeps asking gets, in that one transaction, up to
`MAX_LEASE` charges written at once, which this worker then hands out in memory, without the
database, for at most `lease_seconds`. A lease starts at one charge and doubles only while
the caller uses each lease up before it expires; it is never more than an eighth of what is
left of the caller's budget, so near the limit every charge is a transaction of its own and
the limit holds exactly. Charges a lease did not use are deleted again when it expires (on
this worker's next charge or `release()`, which the hub calls on shutdown). So the database
never counts fewer queries than were answered: a reserved charge counts from when it was
reserved (at most `lease_seconds` early), and a worker killed with a lease open leaves at most
`MAX_LEASE - 1` unused charges counted until they leave the window.

It is a second line: the defence that no number of identities gets round is the nodes'
per-participant exposure accounting (docs/disclosure-control.md).
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    String,
    Table,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from genomesh.access.caller import anonymous_caller, subject_caller
from genomesh.core.clients import Network, client_address, parse_networks
from genomesh.core.errors import BudgetExhaustedError
from genomesh.hub.registry import metadata

MAX_KEY = 255  # longer caller names are stored as their SHA-256
PRUNE_EVERY = 1000  # charges of one process between sweeps of callers outside every window
MAX_LEASE = 256  # charges one worker may reserve for one caller at once
LEASE_SECONDS = 5.0  # how long a worker may hand out reserved charges

callers_table = Table(
    "hub_callers",
    metadata,
    Column("caller", String(MAX_KEY), primary_key=True),
    Column("last_charge", Float, nullable=False),  # time.time() of the caller's latest charge
)
charges_table = Table(
    "hub_caller_charges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("caller", String(MAX_KEY), nullable=False),
    Column("charged_at", Float, nullable=False),  # time.time()
    Index("ix_hub_caller_charges_caller_time", "caller", "charged_at"),
)


def caller_of(
    request: Request, proxies: tuple[Network, ...], subject: tuple[str, str] | None
) -> str:
    """The caller, as the hub names it to nodes (`subject:...` or `address:...`)."""
    if subject is not None:
        return subject_caller(*subject)
    peer = request.client.host if request.client else None
    return anonymous_caller(client_address(peer, request.headers.get("x-forwarded-for"), proxies))


def caller_key(caller: str) -> str:
    """The stored key of a caller: its name, or `sha256:<hex>` when that is too long."""
    if len(caller) <= MAX_KEY:
        return caller
    return "sha256:" + hashlib.sha256(caller.encode()).hexdigest()


@dataclass
class _Lease:
    """Charges this worker reserved for one caller and has not handed out yet."""

    ids: list[int]  # rows of hub_caller_charges reserved, not yet used
    reserved_at: float
    size: int  # how many were reserved
    used: int  # the caller's count in the window after the last charge handed out


class CallerBudget:
    """A sliding-window count of network queries per caller, in the hub database."""

    def __init__(
        self,
        engine: Engine,
        limit: int,
        window_seconds: float,
        trusted_proxies: list[str],
        *,
        lease_seconds: float = LEASE_SECONDS,
        max_lease: int = MAX_LEASE,
    ) -> None:
        self.engine = engine
        self.limit, self.window = limit, window_seconds
        self.proxies = parse_networks(trusted_proxies)
        # a reserved charge may count at most this early, a tenth of the window at most
        self.lease_seconds = min(lease_seconds, window_seconds / 10)
        self.max_lease = max(1, max_lease)
        self._charges = itertools.count(1)
        self._leases: dict[str, _Lease] = {}
        self._unused: list[int] = []  # rows of expired leases, deleted at the next visit
        self._lock = threading.Lock()
        metadata.create_all(engine, tables=[callers_table, charges_table])

    def take(self, caller: str, *, now: float | None = None) -> int | None:
        """One charge from this worker's open lease for `caller`, without the database (safe
        to call on the event loop); None when there is none: then `charge`."""
        now = time.time() if now is None else now
        key = caller_key(caller)
        with self._lock:
            lease = self._leases.get(key)
            if lease is None or not lease.ids or now - lease.reserved_at >= self.lease_seconds:
                return None
            lease.ids.pop()
            lease.used += 1
            return lease.used

    def charge(self, caller: str, *, now: float | None = None) -> int:
        """Count one query for `caller`; BudgetExhaustedError (429) when the budget is spent.

        Returns the number of queries the caller has made in the window, this one included
        (charges reserved by open leases counted as made)."""
        now = time.time() if now is None else now
        taken = self.take(caller, now=now)
        if taken is not None:
            return taken
        key = caller_key(caller)
        size = self._expire(key, now)
        unused = self._take_unused()
        try:
            for attempt in range(3):
                try:
                    with self.engine.begin() as conn:
                        if unused:
                            conn.execute(
                                delete(charges_table).where(charges_table.c.id.in_(unused))
                            )
                        used, ids = self._charge(conn, key, now, size)
                    unused = []
                    break
                except IntegrityError:  # another worker added this caller's row first: again
                    if attempt == 2:
                        raise
        finally:
            if unused:  # not deleted (the transaction failed): at the next visit
                with self._lock:
                    self._unused.extend(unused)
        if used < 0:
            raise BudgetExhaustedError(
                f"query budget spent: {self.limit} network queries per {self.window:g} s "
                "for this caller; try again later",
                details={"limit": self.limit, "window_seconds": self.window},
            )
        with self._lock:  # kept even without ids: how soon the caller came back
            lease = self._leases.get(key)
            if lease is not None and lease.ids:  # another thread's open lease: one lease
                lease.ids.extend(ids)
            else:
                self._leases[key] = _Lease(ids, now, len(ids) + 1, used)
        if next(self._charges) % PRUNE_EVERY == 0:
            self.prune(now=now)
        return used

    def _expire(self, key: str, now: float) -> int:
        """Close expired leases (their unused rows to be deleted) and forget old ones;
        the size of the lease to reserve for `key` now."""
        with self._lock:
            for name, lease in list(self._leases.items()):
                age = now - lease.reserved_at
                if lease.ids and age >= self.lease_seconds:
                    self._unused.extend(lease.ids)
                    lease.ids = []
                    lease.size = -lease.size  # expired with charges left: the next is smaller
                if age >= 2 * self.lease_seconds and name != key:
                    del self._leases[name]
            last = self._leases.get(key)
        if last is None or now - last.reserved_at >= 2 * self.lease_seconds:
            return 1  # a caller who asks now and then: one charge, one transaction
        return max(1, last.size * 2 if last.size > 0 else -last.size // 2)

    def _take_unused(self) -> list[int]:
        with self._lock:
            unused, self._unused = self._unused, []
        return unused

    def _charge(self, conn: Connection, key: str, now: float, size: int) -> tuple[int, list[int]]:
        """Inside one transaction: lock the caller's row, count, and charge (reserving up to
        `size` charges, never more than an eighth of what is left), or refuse with (-1, [])."""
        locked = conn.execute(
            update(callers_table).where(callers_table.c.caller == key).values(last_charge=now)
        )
        if locked.rowcount == 0:
            conn.execute(insert(callers_table).values(caller=key, last_charge=now))
        since = now - self.window
        mine = charges_table.c.caller == key
        used = int(
            conn.execute(
                select(func.count())
                .select_from(charges_table)
                .where(mine, charges_table.c.charged_at > since)
            ).scalar_one()
        )
        if used >= self.limit:
            return -1, []
        size = max(1, min(size, self.max_lease, (self.limit - used) // 8))
        ids: list[int] = []
        if size == 1:
            conn.execute(insert(charges_table).values(caller=key, charged_at=now))
        else:
            rows = [{"caller": key, "charged_at": now}] * size
            ids = list(conn.scalars(insert(charges_table).returning(charges_table.c.id), rows))
            ids.pop()  # this query's charge; the rest are the lease
        if used % 100 == 0:  # now and then, drop this caller's charges outside the window
            conn.execute(delete(charges_table).where(mine, charges_table.c.charged_at <= since))
        return used + 1, ids

    def release(self) -> None:
        """Delete the charges of every open lease that were not used (on shutdown)."""
        with self._lock:
            for lease in self._leases.values():
                self._unused.extend(lease.ids)
            self._leases.clear()
        unused = self._take_unused()
        if unused:
            with self.engine.begin() as conn:
                conn.execute(delete(charges_table).where(charges_table.c.id.in_(unused)))

    def used(self, caller: str, *, now: float | None = None) -> int:
        """Queries `caller` was charged in the window ending `now` (default: now)."""
        now = time.time() if now is None else now
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(charges_table)
                    .where(
                        charges_table.c.caller == caller_key(caller),
                        charges_table.c.charged_at > now - self.window,
                    )
                ).scalar_one()
            )

    def prune(self, *, now: float | None = None) -> None:
        """Forget every charge, and every caller, outside the window (they count for nothing)."""
        since = (time.time() if now is None else now) - self.window
        with self.engine.begin() as conn:
            conn.execute(delete(charges_table).where(charges_table.c.charged_at <= since))
            conn.execute(delete(callers_table).where(callers_table.c.last_charge <= since))


__all__ = ["CallerBudget", "caller_key", "caller_of", "callers_table", "charges_table"]
