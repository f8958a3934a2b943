"""The DAC login back-off in the hub database, so that N hub workers do not give N times
the attempts (genomesh.hub.dac.throttle has the rules; this is where the counts live).

One row per key (`user:NAME`, `addr:IP`): consecutive failures and the time of the last one
(wall clock, shared by every worker). Increments are done in SQL (`failures + 1`), so two
workers counting a failure at the same moment count two.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from genomesh.hub.dac.throttle import LoginThrottle, LoginThrottledError

metadata = MetaData()
failures_table = Table(
    "dac_login_failures",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last", Float, nullable=False, index=True),
)
MAX_KEY = 300
PURGE_EVERY = 200  # failures counted between deletions of forgotten keys


class SqlLoginThrottle(LoginThrottle):
    """`LoginThrottle` with its counts in the hub database (same rules, same errors)."""

    def __init__(self, engine: Engine, **options: Any) -> None:
        super().__init__(clock=time.time, **options)
        self.engine = engine
        self._counted = 0

    def check(self, keys: Sequence[str]) -> None:
        now = self.clock()
        t = failures_table
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.c.key, t.c.failures, t.c.last).where(
                    t.c.key.in_([k[:MAX_KEY] for k in keys])
                )
            ).all()
        wait = 0.0
        for key, failures, last in rows:
            over = failures - self._allowance(key)
            if now - last > self.forget_after or over < 0:
                continue
            wait = max(wait, last + min(2.0**over, self.max_delay) - now)
        if wait > 0:
            seconds = max(1, int(wait + 0.999))
            raise LoginThrottledError(
                f"too many failed logins; try again in {seconds} s", retry_after=seconds
            )

    def failed(self, keys: Sequence[str]) -> None:
        now = self.clock()
        t = failures_table
        for key in (k[:MAX_KEY] for k in keys):
            for _attempt in range(3):
                try:
                    with self.engine.begin() as conn:
                        fresh = t.c.last >= now - self.forget_after
                        counted = conn.execute(
                            update(t)
                            .where(t.c.key == key, fresh)
                            .values(failures=t.c.failures + 1, last=now)
                        ).rowcount
                        if not counted:  # first failure, or the old count was forgotten
                            conn.execute(delete(t).where(t.c.key == key))
                            conn.execute(insert(t).values(key=key, failures=1, last=now))
                    break
                except IntegrityError:  # another worker inserted it meanwhile: count again
                    continue
        self._counted += 1
        if self._counted % PURGE_EVERY == 0:  # now and then, forget long-quiet keys
            with self.engine.begin() as conn:
                conn.execute(delete(t).where(t.c.last < now - self.forget_after))

    def succeeded(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(failures_table).where(failures_table.c.key == key[:MAX_KEY]))


__all__ = ["SqlLoginThrottle", "failures_table", "metadata"]
