"""The original caller of a query the hub forwards: a short JWT the hub signs per node.

A node behind the hub sees the hub's address, so per-caller budgets and the audit log would
lump every anonymous user of the network into one identity (and one user could spend it for
all). The hub therefore sends, with every forwarded query, `X-Genomesh-Caller: <JWT>`:

    header {"typ": "genomesh-caller+jwt", "alg", "kid"}
    claims {"iss": hub issuer, "aud": the node's audience, "iat", "exp" (iat + 60 s),
            "caller": "address:<ip>" | "subject:<iss>|<sub>"}

signed with the hub's passport key. A node that trusts the hub as a passport issuer
verifies it like a passport (key, signature, times, its own audience) and keys an anonymous
caller's budget and audit identity on the address it names; a registered caller is keyed on
the subject of the hub-derived passport anyway. An assertion that does not verify is refused
with 401: nobody else can speak for the hub. Dial-out nodes get the same header, carried in
the hub's signed request.
"""

from __future__ import annotations

from typing import Any

from genomesh.access.jwks import TrustedKeys
from genomesh.access.passports import SignatureCache, TokenError, verify_jwt
from genomesh.core.errors import AuthenticationError

CALLER_HEADER = "x-genomesh-caller"
CALLER_TYP = "genomesh-caller+jwt"
CALLER_SECONDS = 60
MAX_CALLER = 512


def anonymous_caller(address: str | None) -> str:
    return f"address:{address or 'unknown'}"


def subject_caller(issuer: str, subject: str) -> str:
    return f"subject:{issuer}|{subject}"


def caller_claims(*, issuer: str, audience: str, caller: str, now: int) -> dict[str, Any]:
    """The claims of one caller assertion (sign with header {"typ": CALLER_TYP})."""
    return {
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + CALLER_SECONDS,
        "caller": caller[:MAX_CALLER],
    }


def verify_caller(
    token: str,
    *,
    keys: TrustedKeys,
    audience: str,
    now: int,
    leeway: int = 30,
    cache: SignatureCache | None = None,
) -> tuple[str, str]:
    """(issuer, caller) from a caller assertion; AuthenticationError naming what is wrong."""
    try:
        header, claims = verify_jwt(token, keys=keys, now=now, leeway=leeway, cache=cache)
    except TokenError as exc:
        raise AuthenticationError(f"invalid {CALLER_HEADER} assertion: {exc}") from exc
    if header.get("typ") != CALLER_TYP:
        raise AuthenticationError(f"invalid {CALLER_HEADER} assertion: typ is not {CALLER_TYP}")
    if claims.get("aud") != audience:
        raise AuthenticationError(
            f"invalid {CALLER_HEADER} assertion: audience {claims.get('aud')!r} is not {audience!r}"
        )
    caller = claims.get("caller")
    if not isinstance(caller, str) or not caller or len(caller) > MAX_CALLER:
        raise AuthenticationError(f"invalid {CALLER_HEADER} assertion: no 'caller' claim")
    return str(claims["iss"]), caller


__all__ = [
    "CALLER_HEADER",
    "CALLER_TYP",
    "anonymous_caller",
    "caller_claims",
    "subject_caller",
    "verify_caller",
]
