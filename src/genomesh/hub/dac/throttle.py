"""Back-off for failed DAC logins, per username and per client address (QA F19).

Argon2 makes one guess slow, not many parallel guesses. After `free` failures in a row for a
username (or `free_per_address` from one address), every further attempt — right password or
not — is refused with 429 and `Retry-After` until a delay has passed since the last failure;
the delay doubles with each further failure (1 s, 2 s, 4 s ... at most `max_delay`). A
successful login clears the username's count; counts are forgotten after `forget_after`
seconds without a failure. State is per hub process (in memory), like dial-out queues.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from genomesh.core.errors import BudgetExhaustedError

log = logging.getLogger(__name__)


class LoginThrottledError(BudgetExhaustedError):
    """Too many failed logins: try again after `retry_after` seconds (HTTP 429)."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


@dataclass
class _Record:
    failures: int = 0
    last: float = 0.0


class LoginThrottle:
    """Counts failed logins by key (`user:NAME`, `addr:IP`) and says how long to wait."""

    def __init__(
        self,
        *,
        free: int = 5,
        free_per_address: int = 20,
        max_delay: float = 300.0,
        forget_after: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = free
        self.free_per_address = free_per_address
        self.max_delay = max_delay
        self.forget_after = forget_after
        self.clock = clock
        self._records: dict[str, _Record] = {}
        self._lock = threading.Lock()

    def _allowance(self, key: str) -> int:
        return self.free_per_address if key.startswith("addr:") else self.free

    def _wait(self, key: str, now: float) -> float:
        record = self._records.get(key)
        if record is None:
            return 0.0
        if now - record.last > self.forget_after:
            del self._records[key]
            return 0.0
        over = record.failures - self._allowance(key)
        if over < 0:
            return 0.0
        delay = min(2.0**over, self.max_delay)
        return max(0.0, record.last + delay - now)

    def check(self, keys: Sequence[str]) -> None:
        """Raise LoginThrottledError if any key must still wait."""
        with self._lock:
            now = self.clock()
            wait = max((self._wait(key, now) for key in keys), default=0.0)
        if wait > 0:
            seconds = max(1, int(wait + 0.999))
            raise LoginThrottledError(
                f"too many failed logins; try again in {seconds} s", retry_after=seconds
            )

    def failed(self, keys: Sequence[str]) -> None:
        with self._lock:
            now = self.clock()
            for key in keys:
                record = self._records.setdefault(key, _Record())
                record.failures += 1
                record.last = now
                if record.failures >= self._allowance(key):
                    log.warning("failed DAC login #%d for %s", record.failures, key)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._records.pop(key, None)


__all__ = ["LoginThrottle", "LoginThrottledError"]
