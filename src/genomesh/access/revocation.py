"""Revocation of visas and passports by `jti`: the issuer's list and the node's poller.

Issuer side: a `RevocationList` is anything with `revoked() -> set[str]` (the jtis withdrawn
and not yet expired). `InMemoryRevocationList` is the embedded default; the DAC provides an
SQL-backed one. The hub serves it at `GET /ga4gh/revocations` (genomesh.hub.broker) as

    {"issuer": "<iss>", "revoked": ["<jti>", ...], "generated_at": <epoch seconds>,
     "refresh_seconds": <suggested poll interval>}

Node side: `RevocationChecker` polls each trusted issuer's `revocations_url` at most every
`revocation_refresh_seconds` (lazily, when a passport is verified and the list is older than
that), so a revoked visa stops granting access at most `revocation_refresh_seconds` (plus one
HTTP round trip) after the issuer revoked it. If an issuer's list cannot be refreshed for
`revocation_max_stale_seconds`, that issuer's visas are treated as revoked (fail closed): the
bound holds even when the list is unreachable.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import httpx

from genomesh.core.settings import TrustedIssuer

MAX_LIST_BYTES = 5_000_000


@runtime_checkable
class RevocationList(Protocol):
    """The issuer's set of revoked token ids (jti)."""

    def revoked(self) -> AbstractSet[str]: ...  # read-only: callers only look


class InMemoryRevocationList:
    """A revocation list in memory; entries may carry the token's expiry to be forgotten later."""

    def __init__(self, jtis: Iterable[str] = ()) -> None:
        self._entries: dict[str, int | None] = dict.fromkeys(jtis)
        self._lock = threading.Lock()

    def revoke(self, jti: str, *, expires: int | None = None) -> None:
        """Revoke `jti`; with `expires` (epoch seconds) it is dropped from the list after then."""
        with self._lock:
            self._entries[jti] = expires

    def revoked(self) -> set[str]:
        now = int(time.time())
        with self._lock:
            return {jti for jti, exp in self._entries.items() if exp is None or exp >= now}


def revocation_document(
    revocations: RevocationList, *, issuer: str, refresh_seconds: float
) -> dict[str, Any]:
    """The JSON body of `GET /ga4gh/revocations`."""
    return {
        "issuer": issuer,
        "revoked": sorted(revocations.revoked()),
        "generated_at": int(time.time()),
        "refresh_seconds": refresh_seconds,
    }


@dataclass
class _IssuerList:
    url: str
    revoked: frozenset[str] = frozenset()
    fetched_at: float | None = None  # last successful fetch (monotonic)
    attempted_at: float | None = None
    error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class RevocationChecker:
    """Node-side view of the trusted issuers' revocation lists (see module docstring)."""

    def __init__(
        self,
        issuers: Iterable[TrustedIssuer],
        *,
        http_client: httpx.Client | None = None,
        refresh_seconds: float = 60.0,
        max_stale_seconds: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lists = {
            i.iss: _IssuerList(i.revocations_url) for i in issuers if i.revocations_url is not None
        }
        self._client = http_client
        self.refresh_seconds = refresh_seconds
        self.max_stale_seconds = max_stale_seconds
        self._clock = clock
        self.fetch_count = 0

    def publishes(self, iss: str) -> bool:
        """Whether `iss` has a revocation list the node polls."""
        return iss in self._lists

    def refresh(self, iss: str | None = None, *, force: bool = False) -> None:
        """Fetch the lists (of `iss`, or all) that are older than the refresh interval."""
        for name, entry in self._lists.items():
            if iss is None or name == iss:
                self._maybe_fetch(entry, force=force)

    def check(self, iss: str, jti: str | None) -> str | None:
        """None if the token may be used; otherwise the reason it may not."""
        entry = self._lists.get(iss)
        if entry is None:
            return None
        self._maybe_fetch(entry)
        now = self._clock()
        if entry.fetched_at is None or now - entry.fetched_at > self.max_stale_seconds:
            return f"revocation list of {iss!r} unavailable ({entry.error or 'never fetched'})"
        if jti is not None and jti in entry.revoked:
            return f"revoked by {iss!r} (jti {jti})"
        return None

    def _maybe_fetch(self, entry: _IssuerList, *, force: bool = False) -> None:
        with entry.lock:
            now = self._clock()
            if (
                not force
                and entry.attempted_at is not None
                and now - entry.attempted_at < self.refresh_seconds
            ):
                return
            entry.attempted_at = now
            self.fetch_count += 1
            client = self._client or httpx.Client(timeout=5.0)
            try:
                response = client.get(entry.url, headers={"Accept": "application/json"})
                if response.status_code != 200:
                    raise ValueError(f"GET {entry.url} answered HTTP {response.status_code}")
                if len(response.content) > MAX_LIST_BYTES:
                    raise ValueError(f"revocation list at {entry.url} is too large")
                body = response.json()
                revoked = body.get("revoked") if isinstance(body, dict) else None
                if not isinstance(revoked, list) or not all(isinstance(j, str) for j in revoked):
                    raise ValueError(f"revocation list at {entry.url} has no 'revoked' list")
                entry.revoked = frozenset(revoked)
                entry.fetched_at = now
                entry.error = None
            except (httpx.HTTPError, ValueError) as exc:
                entry.error = str(exc) or type(exc).__name__
            finally:
                if self._client is None:
                    client.close()


__all__ = [
    "InMemoryRevocationList",
    "RevocationChecker",
    "RevocationList",
    "revocation_document",
]
