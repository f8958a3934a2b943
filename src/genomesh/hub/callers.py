"""Who called the hub's Beacon network, and the hub's own per-caller budget.

The caller is the subject of a verified passport, else the client address (the socket peer,
or a trusted proxy's X-Forwarded-For: genomesh.core.clients). The hub tells each node who
the caller is in a signed assertion (genomesh.access.caller) so that nodes key their budgets
and audit entries on the real caller, not on the hub, and it applies its own budget of
`caller_budget` network queries per `caller_budget_window_seconds` per caller first.

The budget is kept in the hub database (the registry's, SQLite or PostgreSQL): it survives a
restart and every hub worker on that database counts against the same window. One charge is
one transaction that first writes the caller's row in `hub_callers` (a row lock in
PostgreSQL, the write lock in SQLite), then counts the caller's charges in
`hub_caller_charges` inside the sliding window and adds one: two workers charging the same
caller at once are serialised, so the limit holds exactly.

It is a second line: the defence that no number of identities gets round is the nodes'
per-participant exposure accounting (docs/disclosure-control.md).
"""

from __future__ import annotations

import hashlib
import itertools
import time

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


class CallerBudget:
    """A sliding-window count of network queries per caller, in the hub database."""

    def __init__(
        self, engine: Engine, limit: int, window_seconds: float, trusted_proxies: list[str]
    ) -> None:
        self.engine = engine
        self.limit, self.window = limit, window_seconds
        self.proxies = parse_networks(trusted_proxies)
        self._charges = itertools.count(1)
        metadata.create_all(engine, tables=[callers_table, charges_table])

    def charge(self, caller: str, *, now: float | None = None) -> int:
        """Count one query for `caller`; BudgetExhaustedError (429) when the budget is spent.

        Returns the number of queries the caller has made in the window, this one included."""
        now = time.time() if now is None else now
        key = caller_key(caller)
        for attempt in range(3):
            try:
                with self.engine.begin() as conn:
                    used = self._charge(conn, key, now)
                break
            except IntegrityError:  # another worker added this caller's row first: once more
                if attempt == 2:
                    raise
        if next(self._charges) % PRUNE_EVERY == 0:
            self.prune(now=now)
        return used

    def _charge(self, conn: Connection, key: str, now: float) -> int:
        """Inside one transaction: lock the caller's row, count, and charge or refuse."""
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
            raise BudgetExhaustedError(
                f"query budget spent: {self.limit} network queries per {self.window:g} s "
                "for this caller; try again later",
                details={"limit": self.limit, "window_seconds": self.window},
            )
        conn.execute(insert(charges_table).values(caller=key, charged_at=now))
        if used % 100 == 0:  # now and then, drop this caller's charges outside the window
            conn.execute(delete(charges_table).where(mine, charges_table.c.charged_at <= since))
        return used + 1

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
