"""Verify a GA4GH Passport JWT and each visa inside it.

The passport (the JWT with the `ga4gh_passport_v1` claim) must be valid as a whole, or the
request is refused with an AuthenticationError naming the problem:
  * JWS compact form, at most 64 KB; `alg` ES256 or RS256 only (`none`, HS*, anything else is
    refused before any key is touched, so an HMAC "signed" with the public key can never
    verify); `kid` present; no `crit` header;
  * `iss` on the node's allow-list; the key found under that issuer's `kid`, of the kind the
    `alg` needs (EC P-256 for ES256, RSA for RS256); the signature verifies;
  * `exp` and `iat` present, `exp` not passed, `iat`/`nbf` not in the future (with leeway);
    the passport's lifetime `exp - iat` at most the node's `max_passport_lifetime_seconds`
    (a ten-year passport, even one signed by a trusted key, is refused);
  * `sub` present; `aud` names this node's audience; the passport's `jti` is not revoked, nor
    (for a passport the hub derived for one node) the original's, named in `orig_jti`.

Each visa is then checked on its own; a bad visa is *dropped* (with a reason) and never raises
the caller's tier: same JWT checks against the visa's own issuer (who must be trusted too), a
`jku` header only if it is on that issuer's allow-list (never fetched), no `openid` scope
(visa access tokens need polling, which genomesh does not do), a well-formed `ga4gh_visa_v1`
object (genomesh.access.visas), a known type, not revoked, bound to the passport's identity
(same `iss`+`sub`, or linked by a valid LinkedIdentities visa), and its `conditions` met.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from genomesh.access.advice import next_step
from genomesh.access.identity import Visa
from genomesh.access.jwks import KeyLookupError, PublicKey, TrustedKeys
from genomesh.access.revocation import RevocationChecker
from genomesh.access.visas import (
    KNOWN_TYPES,
    LINKED_IDENTITIES,
    VisaFormatError,
    VisaObject,
    conditions_met,
    parse_linked_identities,
    parse_visa_object,
)
from genomesh.core.errors import AuthenticationError

ALLOWED_ALGORITHMS: dict[str, type] = {"ES256": ECKey, "RS256": RSAKey}
MAX_TOKEN_BYTES = 64_000
MAX_VISAS = 200
#: claim of a per-node passport the hub derived from a researcher's passport: the original's jti
ORIG_JTI = "orig_jti"


class TokenError(Exception):
    """A JWT failed a check; the message names the check."""


@dataclass(frozen=True)
class AcceptedVisa:
    """A visa that passed every check."""

    visa: Visa
    obj: VisaObject
    subject: str
    jti: str | None


@dataclass
class VerifiedPassport:
    """The outcome of `verify_passport`: the passport's claims and its accepted visas."""

    issuer: str
    subject: str
    claims: dict[str, Any]
    header: dict[str, Any]
    visas: list[AcceptedVisa] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # "visa #i: reason"


def _b64json(segment: str, what: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenError(f"{what} is not base64url-encoded JSON") from exc
    if not isinstance(value, dict):
        raise TokenError(f"{what} is not a JSON object")
    return value


def unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a compact JWS, *without* checking anything (for routing only)."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_BYTES:
        raise TokenError(f"token is not a string of at most {MAX_TOKEN_BYTES} bytes")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("token is not a JWS compact serialization (need 3 dot-separated parts)")
    return _b64json(parts[0], "JWT header"), _b64json(parts[1], "JWT payload")


class SignatureCache:
    """Remembers tokens whose signature verified with a given key object (bounded LRU).

    Only the signature check is cached; time, audience and revocation checks run every
    time. A key that is rotated out or re-fetched is a different object, so the entry misses.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._data: OrderedDict[str, PublicKey] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, token: str, key: PublicKey) -> bool:
        with self._lock:
            cached = self._data.get(token)
            if cached is key:
                self._data.move_to_end(token)
                return True
            return False

    def add(self, token: str, key: PublicKey) -> None:
        with self._lock:
            self._data[token] = key
            while len(self._data) > self._size:
                self._data.popitem(last=False)


def verify_jwt(
    token: str,
    *,
    keys: TrustedKeys,
    now: int,
    leeway: int,
    cache: SignatureCache | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check a JWT's algorithm, issuer, key, signature and times; returns (header, claims)."""
    header, claims = unverified_parts(token)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg.lower() == "none":
        raise TokenError("unsigned token (alg 'none') is not accepted")
    if alg not in ALLOWED_ALGORITHMS:
        kind = "symmetric algorithm" if alg.upper().startswith("HS") else "algorithm"
        raise TokenError(f"{kind} {alg!r} is not accepted (only ES256, RS256)")
    if "crit" in header:
        raise TokenError("critical header parameters ('crit') are not supported")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenError("header has no key id (kid)")
    iss = claims.get("iss")
    if not isinstance(iss, str) or not iss:
        raise TokenError("claim 'iss' is missing")
    if not keys.is_trusted(iss):
        raise TokenError(f"issuer {iss!r} is not trusted by this node")
    try:
        key, key_alg = keys.key(iss, kid)
    except KeyLookupError as exc:
        raise TokenError(str(exc)) from exc
    if not isinstance(key, ALLOWED_ALGORITHMS[alg]) or (key_alg is not None and key_alg != alg):
        raise TokenError(f"key {kid!r} of {iss!r} is not a {alg} key (algorithm mismatch)")
    if cache is None or not cache.hit(token, key):
        try:
            jws.deserialize_compact(token, key, algorithms=[alg])
        except (JoseError, ValueError) as exc:
            raise TokenError("signature does not verify (wrong key or tampered token)") from exc
        if cache is not None:
            cache.add(token, key)
    for name in ("exp", "iat"):
        value = claims.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise TokenError(f"claim {name!r} is missing or not an integer")
    if claims["exp"] + leeway < now:
        raise TokenError(f"expired at {claims['exp']} (now {now})")
    if claims["iat"] - leeway > now:
        raise TokenError(f"issued in the future (iat {claims['iat']}, now {now})")
    nbf = claims.get("nbf")
    if nbf is not None and (not isinstance(nbf, int) or nbf - leeway > now):
        raise TokenError(f"not yet valid (nbf {nbf}, now {now})")
    return header, claims


def verify_visa(
    token: Any,
    *,
    keys: TrustedKeys,
    now: int,
    leeway: int,
    revocations: RevocationChecker | None,
    cache: SignatureCache | None = None,
) -> AcceptedVisa:
    """Check one visa JWT on its own; raises TokenError naming why it is dropped."""
    if not isinstance(token, str):
        raise TokenError("visa is not a JWT string")
    header, claims = verify_jwt(token, keys=keys, now=now, leeway=leeway, cache=cache)
    iss = claims["iss"]
    jku = header.get("jku")
    if jku is not None and not keys.jku_allowed(iss, jku):
        raise TokenError(f"jku {jku!r} is not on the allow-list of issuer {iss!r}")
    scope = claims.get("scope")
    if isinstance(scope, str) and "openid" in scope.split():
        raise TokenError("visa access tokens (scope 'openid') are not supported; need a jku visa")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise TokenError("claim 'sub' is missing")
    try:
        obj = parse_visa_object(claims.get("ga4gh_visa_v1"))
    except VisaFormatError as exc:
        raise TokenError(str(exc)) from exc
    if obj.type not in KNOWN_TYPES:
        raise TokenError(f"visa type {obj.type!r} is not supported (ignored)")
    jti = claims.get("jti") if isinstance(claims.get("jti"), str) else None
    if revocations is not None:
        reason = revocations.check(iss, jti)
        if reason:
            raise TokenError(reason)
    visa = Visa(
        type=obj.type,
        value=obj.value,
        source=obj.source,
        by=obj.by,
        asserted=obj.asserted,
        issuer=iss,
        expires=claims["exp"],
        conditions=obj.conditions,
        raw_claims=claims,
    )
    return AcceptedVisa(visa=visa, obj=obj, subject=sub, jti=jti)


def _audience_ok(aud: Any, expected: str) -> bool:
    if isinstance(aud, str):
        return aud == expected
    return isinstance(aud, list) and expected in aud


def verify_passport(
    token: str,
    *,
    keys: TrustedKeys,
    audience: str,
    now: int,
    leeway: int = 30,
    revocations: RevocationChecker | None = None,
    cache: SignatureCache | None = None,
    max_lifetime: int | None = None,
) -> VerifiedPassport:
    """Verify the passport (AuthenticationError if invalid) and sort its visas.

    `max_lifetime` (seconds) bounds `exp - iat`: since `iat` may not lie in the future, it
    also bounds how long from now the passport could still be used.
    """
    try:
        header, claims = verify_jwt(token, keys=keys, now=now, leeway=leeway, cache=cache)
    except TokenError as exc:
        raise AuthenticationError(next_step(f"invalid passport: {exc}")) from exc
    if max_lifetime is not None and claims["exp"] - claims["iat"] > max_lifetime:
        raise AuthenticationError(
            f"invalid passport: it lives {claims['exp'] - claims['iat']} s (iat {claims['iat']} "
            f"to exp {claims['exp']}), longer than the {max_lifetime} s accepted here "
            "(max_passport_lifetime_seconds); ask the issuer for a shorter-lived passport",
            details={"max_lifetime_seconds": max_lifetime},
        )
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise AuthenticationError(next_step("invalid passport: claim 'sub' is missing"))
    if not _audience_ok(claims.get("aud"), audience):
        raise AuthenticationError(
            next_step(
                f"invalid passport: audience {claims.get('aud')!r} does not include {audience!r}"
            )
        )
    if revocations is not None:
        # a derived passport is revoked with its original (the hub links them by `orig_jti`)
        for name in ("jti", ORIG_JTI):
            if isinstance(claims.get(name), str):
                reason = revocations.check(claims["iss"], claims[name])
                if reason and reason.startswith("revoked"):
                    raise AuthenticationError(next_step(f"invalid passport: {reason}"))
    raw_visas = claims.get("ga4gh_passport_v1", [])
    if not isinstance(raw_visas, list):
        raise AuthenticationError("invalid passport: 'ga4gh_passport_v1' is not a list of visas")
    if len(raw_visas) > MAX_VISAS:
        raise AuthenticationError(f"invalid passport: more than {MAX_VISAS} visas")
    result = VerifiedPassport(issuer=claims["iss"], subject=sub, claims=claims, header=header)
    for index, raw in enumerate(raw_visas):
        try:
            result.visas.append(
                verify_visa(
                    raw, keys=keys, now=now, leeway=leeway, revocations=revocations, cache=cache
                )
            )
        except TokenError as exc:
            result.dropped.append(f"visa #{index}: {exc}")
    _bind_identities(result)
    _apply_conditions(result)
    return result


def _bind_identities(result: VerifiedPassport) -> None:
    """Keep visas of the passport's identity or identities linked to it by trusted visas."""
    identities = {(result.issuer, result.subject)}
    changed = True
    while changed:
        changed = False
        for accepted in result.visas:
            if accepted.obj.type != LINKED_IDENTITIES or accepted.obj.conditions:
                continue
            if (accepted.visa.issuer, accepted.subject) not in identities:
                continue
            for sub, iss in parse_linked_identities(accepted.obj.value):
                if (iss, sub) not in identities:
                    identities.add((iss, sub))
                    changed = True
    kept = []
    for accepted in result.visas:
        if (accepted.visa.issuer, accepted.subject) in identities:
            kept.append(accepted)
        else:
            result.dropped.append(
                f"visa {accepted.visa.type}: subject {accepted.subject!r} of "
                f"{accepted.visa.issuer!r} is not linked to the passport's identity"
            )
    result.visas = kept


def _apply_conditions(result: VerifiedPassport) -> None:
    objects = [a.obj for a in result.visas]
    kept = []
    for accepted in result.visas:
        if conditions_met(accepted.obj, objects):
            kept.append(accepted)
        else:
            result.dropped.append(f"visa {accepted.visa.type}: conditions not met")
    result.visas = kept


__all__ = [
    "ALLOWED_ALGORITHMS",
    "ORIG_JTI",
    "AcceptedVisa",
    "SignatureCache",
    "TokenError",
    "VerifiedPassport",
    "unverified_parts",
    "verify_jwt",
    "verify_passport",
    "verify_visa",
]
