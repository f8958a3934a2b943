"""Per-node passports: the hub never forwards a researcher's passport (QA F23).

Every node accepts only passports whose `aud` names that node (its base URL, unless it is
registered with an explicit `audience`). A researcher's passport is for the hub's own
audience (`HubSettings.hub_audience`). When a Beacon query fans out, the hub

1. verifies the researcher's passport as a node would (signed by the hub's own keys, `aud`
   the hub's audience, not expired, its `jti` not on the hub's revocation list) — a passport
   that fails is refused with 401 and goes nowhere;
2. for each node asked, signs a *derived* passport: same `sub`, `scope` and visas (minus
   visas on the hub's revocation list), `aud` = that node's audience only, a fresh `jti`,
   `orig_jti` = the original's jti, `exp` = the earlier of the original's and now +
   `derived_passport_seconds` (default 300).

A node operator who captures its derived passport can use it only at its own node, for at
most a few minutes; a node that revokes by the original `jti` refuses its derived passports too.

    deriver = PassportDeriver(broker_state, settings)
    verified = deriver.verify(request.headers.get("authorization"))   # None if anonymous
    header = deriver.bearer_for(verified, node_audience(node, settings.base_url))
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from collections.abc import Set as AbstractSet

from genomesh.access.caller import CALLER_SECONDS, CALLER_TYP, caller_claims
from genomesh.access.jwks import TrustedKeys
from genomesh.access.passports import (
    SignatureCache,
    TokenError,
    VerifiedPassport,
    unverified_parts,
    verify_passport,
)
from genomesh.access.resolve import bearer_token
from genomesh.access.revocation import RevocationChecker
from genomesh.core.errors import AuthenticationError
from genomesh.core.settings import HubSettings, TrustedIssuer
from genomesh.hub.broker import BrokerState
from genomesh.hub.registry import NodePublic

CACHE_SIZE = 4096


def node_audience(node: NodePublic, hub_base_url: str) -> str:
    """The `aud` node `node` expects: its registered audience, else its base URL, else (a
    dial-out node) `{hub base_url}/nodes/{name}` — the base URL its datasets are named under."""
    if node.audience:
        return node.audience
    if node.base_url and not node.dial_out:
        return node.base_url.rstrip("/")
    return f"{hub_base_url.rstrip('/')}/nodes/{node.name}"


class _RevokedSnapshot(RevocationChecker):
    """The hub's own revocation list, read once per verification."""

    def __init__(self, issuer: str, revoked: AbstractSet[str]) -> None:
        super().__init__([])
        self._issuer = issuer
        self._revoked = revoked

    def check(self, iss: str, jti: str | None) -> str | None:
        if iss == self._issuer and jti is not None and jti in self._revoked:
            return f"revoked by {iss!r} (jti {jti})"
        return None


class PassportDeriver:
    """Verifies researchers' passports for the hub and derives per-node ones."""

    def __init__(
        self,
        broker: BrokerState,
        settings: HubSettings,
        *,
        clock: Callable[[], float] = time.time,
        leeway: int = 30,
    ) -> None:
        self.broker = broker
        self.settings = settings
        self._clock = clock
        self.leeway = leeway
        self._trusted: tuple[tuple[object, ...], TrustedKeys] | None = None
        self._signatures = SignatureCache()
        self._derived: OrderedDict[tuple[str, str, int], tuple[str, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.derived_count = 0  # passports signed (not served from the cache), for tests

    def _keys(self) -> TrustedKeys:
        """The hub's own public keys as a trusted issuer, rebuilt when the key set changes
        (KeyStore.stamp: one stat per request, not a JWKS built and serialised)."""
        stamp = self.broker.keys.stamp()
        trusted = self._trusted
        if trusted is None or trusted[0] != stamp:
            issuer = TrustedIssuer(iss=self.broker.issuer, jwks=self.broker.keys.jwks())
            trusted = self._trusted = (stamp, TrustedKeys([issuer]))
        return trusted[1]

    def _revoked(self) -> AbstractSet[str]:
        """The hub's revocation list as it is now (the SQL list re-reads it only when any
        worker changed it: genomesh.hub.dac.changes), so a revocation counts at once."""
        return self.broker.revocations.revoked()

    def verify(self, authorization: str | None) -> tuple[VerifiedPassport, AbstractSet[str]] | None:
        """The researcher's verified passport (and the revoked jtis seen), None if anonymous;
        AuthenticationError (401) naming the problem otherwise."""
        token = bearer_token(authorization)
        if token is None:
            return None
        revoked = self._revoked()
        audience = self.settings.hub_audience
        try:
            verified = verify_passport(
                token,
                keys=self._keys(),
                audience=audience,
                now=int(self._clock()),
                leeway=self.leeway,
                revocations=_RevokedSnapshot(self.broker.issuer, revoked),
                cache=self._signatures,
                # the hub's own issuance policy: no passport of its keys lives longer
                max_lifetime=self.settings.passport_lifetime_seconds,
            )
        except AuthenticationError as exc:
            aud = _unverified_aud(token)
            if "audience" in exc.message and aud is not None:
                raise AuthenticationError(
                    f"{exc.message}: the hub forwards only passports for its own audience "
                    f"({audience!r}) and sends each node a passport for that node alone; a "
                    "passport for one node goes to that node directly (docs/researcher-guide.md)"
                ) from exc
            raise
        if not isinstance(verified.claims.get("jti"), str):
            raise AuthenticationError("invalid passport: claim 'jti' is missing")
        return verified, revoked

    def caller_for(self, caller: str, audience: str) -> str:
        """The signed `X-Genomesh-Caller` assertion naming `caller` to one node's `audience`
        (genomesh.access.caller), cached while more than half its life is left."""
        now = int(self._clock())
        key = (caller, audience, -1)
        with self._lock:
            cached = self._derived.get(key)
            if cached is not None and cached[1] - now > CALLER_SECONDS // 2:
                self._derived.move_to_end(key)
                return cached[0]
        claims = caller_claims(issuer=self.broker.issuer, audience=audience, caller=caller, now=now)
        token = self.broker.keys.sign(claims, header={"typ": CALLER_TYP})
        with self._lock:
            self._derived[key] = (token, int(claims["exp"]))
            while len(self._derived) > CACHE_SIZE:
                self._derived.popitem(last=False)
        return token

    def bearer_for(self, verified: tuple[VerifiedPassport, AbstractSet[str]], audience: str) -> str:
        """`Bearer <derived passport>` for one node's `audience` (cached while fresh)."""
        passport, revoked = verified
        claims = passport.claims
        visas = [v for v in claims.get("ga4gh_passport_v1") or [] if _visa_jti(v) not in revoked]
        now = int(self._clock())
        key = (str(claims["jti"]), audience, len(visas))
        lifetime = self.settings.derived_passport_seconds
        with self._lock:
            cached = self._derived.get(key)
            fresh = cached is not None and (
                cached[1] - now > lifetime // 2 or now < cached[1] >= claims["exp"]
            )
            if cached is not None and fresh:
                self._derived.move_to_end(key)
                return cached[0]
        token, exp = self.broker.visa_issuer().derive_passport(
            claims, audience=audience, lifetime=lifetime, visas=visas, now=now
        )
        bearer = f"Bearer {token}"
        with self._lock:
            self.derived_count += 1
            self._derived[key] = (bearer, exp)
            while len(self._derived) > CACHE_SIZE:
                self._derived.popitem(last=False)
        return bearer


def _visa_jti(visa: object) -> str | None:
    if not isinstance(visa, str):
        return None
    try:
        jti = unverified_parts(visa)[1].get("jti")
    except TokenError:
        return None
    return jti if isinstance(jti, str) else None


def _unverified_aud(token: str) -> object:
    try:
        return unverified_parts(token)[1].get("aud")
    except TokenError:
        return None


__all__ = ["PassportDeriver", "node_audience"]
