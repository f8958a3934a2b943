"""Who called the hub's Beacon network, and the hub's own per-caller budget.

The caller is the subject of a verified passport, else the client address (the socket peer,
or a trusted proxy's X-Forwarded-For: genomesh.core.clients). The hub tells each node who
the caller is in a signed assertion (genomesh.access.caller) so that nodes key their budgets
and audit entries on the real caller, not on the hub, and it applies its own budget of
`caller_budget` network queries per `caller_budget_window_seconds` per caller first.

The hub's budget is a second line, counted in this process's memory (it restarts with the
hub, and each hub worker counts its own): the defence that no number of identities gets
round is the nodes' per-participant exposure accounting (docs/disclosure-control.md).
"""

from __future__ import annotations

import threading
import time
from collections import deque

from fastapi import Request

from genomesh.access.caller import anonymous_caller, subject_caller
from genomesh.core.clients import Network, client_address, parse_networks
from genomesh.core.errors import BudgetExhaustedError


def caller_of(
    request: Request, proxies: tuple[Network, ...], subject: tuple[str, str] | None
) -> str:
    """The caller, as the hub names it to nodes (`subject:...` or `address:...`)."""
    if subject is not None:
        return subject_caller(*subject)
    peer = request.client.host if request.client else None
    return anonymous_caller(client_address(peer, request.headers.get("x-forwarded-for"), proxies))


class CallerBudget:
    """A sliding-window count of network queries per caller (thread-safe, in memory)."""

    def __init__(self, limit: int, window_seconds: float, trusted_proxies: list[str]) -> None:
        self.limit, self.window = limit, window_seconds
        self.proxies = parse_networks(trusted_proxies)
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def charge(self, caller: str, *, now: float | None = None) -> int:
        """Count one query for `caller`; BudgetExhaustedError (429) when the budget is spent."""
        now = time.time() if now is None else now
        with self._lock:
            times = self._seen.setdefault(caller, deque())
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) >= self.limit:
                raise BudgetExhaustedError(
                    f"query budget spent: {self.limit} network queries per {self.window:g} s "
                    "for this caller; try again later",
                    details={"limit": self.limit, "window_seconds": self.window},
                )
            times.append(now)
            if len(self._seen) > 100_000:  # forget callers with nothing in the window
                self._seen = {
                    k: v for k, v in self._seen.items() if v and v[-1] > now - self.window
                }
            return len(times)


__all__ = ["CallerBudget", "caller_of"]
