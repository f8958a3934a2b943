"""Public keys of the trusted issuers: inline JWKS or fetched from `jwks_url`, cached.

A node trusts only the issuers listed in `NodeSettings.trusted_issuers`. For each, keys come
from the inline `jwks` (offline, tests) or from its `jwks_url`, fetched with httpx and cached
for `jwks_cache_seconds`. A token naming an unknown `kid` triggers one refetch (the issuer may
have rotated), but at most once per `jwks_refetch_min_seconds` per issuer, so a flood of
made-up kids cannot turn the node into a load generator against the issuer. A `jku` header is
never fetched: keys come only from the configured location, and a `jku` that is not on the
issuer's allow-list (its `jwks_url` plus `jku_allowed`) makes the token untrusted (for
issuers configured with inline keys and no `jku_allowed`, the jku is ignored).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from genomesh.core.settings import TrustedIssuer

PublicKey = ECKey | RSAKey
MAX_JWKS_BYTES = 256_000


class KeyLookupError(Exception):
    """No usable key for a token; the message says why (untrusted issuer, unknown kid ...)."""


@dataclass
class _IssuerKeys:
    config: TrustedIssuer
    keys: dict[str, tuple[PublicKey, str | None]] = field(default_factory=dict)
    fetched_at: float | None = None  # monotonic time of the last fetch attempt
    error: str | None = None


def parse_jwks(data: Any) -> dict[str, tuple[PublicKey, str | None]]:
    """A JWK Set -> {kid: (public key, alg)}; keys without kid or of other types are skipped."""
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise KeyLookupError("JWKS is not an object with a 'keys' list")
    out: dict[str, tuple[PublicKey, str | None]] = {}
    for jwk in data["keys"]:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            continue
        if jwk.get("use") not in (None, "sig"):
            continue
        public = {k: v for k, v in jwk.items() if k not in ("d", "p", "q", "dp", "dq", "qi")}
        try:
            if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
                key: PublicKey = ECKey.import_key(public)
            elif jwk.get("kty") == "RSA":
                key = RSAKey.import_key(public)
            else:
                continue
        except (JoseError, ValueError, TypeError):
            continue
        out[jwk["kid"]] = (key, jwk.get("alg"))
    return out


class TrustedKeys:
    """Key lookup for the node's trusted issuers (thread-safe)."""

    def __init__(
        self,
        issuers: list[TrustedIssuer],
        *,
        http_client: httpx.Client | None = None,
        cache_seconds: float = 300.0,
        refetch_min_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._issuers = {i.iss: _IssuerKeys(i) for i in issuers}
        self._client = http_client
        self._cache_seconds = cache_seconds
        self._refetch_min = refetch_min_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self.fetch_count = 0
        for entry in self._issuers.values():
            if entry.config.jwks is not None:
                entry.keys = parse_jwks(entry.config.jwks)

    def is_trusted(self, iss: Any) -> bool:
        return isinstance(iss, str) and iss in self._issuers

    def config(self, iss: str) -> TrustedIssuer:
        return self._issuers[iss].config

    def jku_allowed(self, iss: str, jku: str) -> bool:
        """Whether `jku` is on the allow-list of `iss` (its jwks_url or jku_allowed).

        For an issuer whose keys are configured inline (received out of band) and which has
        no `jku_allowed`, any `jku` is accepted: it is never fetched, the inline keys decide.
        """
        config = self._issuers[iss].config
        if config.jwks is not None and not config.jku_allowed:
            return True
        allowed = {config.jwks_url, *config.jku_allowed} - {None}
        return jku in allowed

    def key(self, iss: str, kid: str) -> tuple[PublicKey, str | None]:
        """The public key `kid` of issuer `iss`; raises KeyLookupError naming the problem."""
        if iss not in self._issuers:
            raise KeyLookupError(f"issuer {iss!r} is not trusted by this node")
        entry = self._issuers[iss]
        with self._lock:
            if entry.config.jwks is None and entry.config.jwks_url:
                now = self._clock()
                stale = entry.fetched_at is None or now - entry.fetched_at >= self._cache_seconds
                unknown = kid not in entry.keys
                may_refetch = (
                    entry.fetched_at is None or now - entry.fetched_at >= self._refetch_min
                )
                if stale or (unknown and may_refetch):
                    self._fetch(entry, now)
            if kid in entry.keys:
                return entry.keys[kid]
            if entry.config.jwks is None and not entry.config.jwks_url:
                raise KeyLookupError(f"issuer {iss!r} has neither jwks nor jwks_url configured")
            if entry.error and not entry.keys:
                raise KeyLookupError(f"keys of issuer {iss!r} unavailable: {entry.error}")
            raise KeyLookupError(f"unknown key id (kid) {kid!r} for issuer {iss!r}")

    def _fetch(self, entry: _IssuerKeys, now: float) -> None:
        url = entry.config.jwks_url
        assert url is not None
        entry.fetched_at = now
        self.fetch_count += 1
        client = self._client or httpx.Client(timeout=5.0)
        try:
            response = client.get(url, headers={"Accept": "application/json"})
            if response.status_code != 200:
                raise KeyLookupError(f"GET {url} answered HTTP {response.status_code}")
            if len(response.content) > MAX_JWKS_BYTES:
                raise KeyLookupError(f"JWKS at {url} is larger than {MAX_JWKS_BYTES} bytes")
            entry.keys = parse_jwks(response.json())
            entry.error = None
        except (httpx.HTTPError, ValueError, KeyLookupError) as exc:
            # keep the last good keys; a failed fetch never empties a working key set
            entry.error = str(exc) or type(exc).__name__
        finally:
            if self._client is None:
                client.close()


__all__ = ["KeyLookupError", "PublicKey", "TrustedKeys", "parse_jwks"]
