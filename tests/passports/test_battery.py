"""The passport battery: every good and bad token gets the right tier, never more.

Keys are fetched over real HTTP from the issuer served on loopback (JWKS + revocation list),
for both ES256 and RS256 issuers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from genomesh.access.resolve import IdentityResolver
from genomesh.core.errors import AuthenticationError
from genomesh.testing.passports import TestIssuer

NODE_DATASETS = {"ds1", "ds2"}


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[TestIssuer], str | None]  # the Authorization header
    tier: str | None = None  # expected tier; None = expect 401
    datasets: frozenset[str] = frozenset()
    error: str | None = None  # regex the AuthenticationError must match
    dropped: str | None = None  # regex one dropped-visa reason must match


def _bearer(token: str) -> str:
    return f"Bearer {token}"


def _grant(issuer: TestIssuer, value: str) -> str:
    return str(issuer.issuer.controlled_access_grant("researcher-1", dataset_url=value))


def _revoked_grant(issuer: TestIssuer) -> str:
    grant = issuer.grant("ds1")
    issuer.revoke(grant)
    return _bearer(issuer.passport(visas=[grant]))


def _untrusted_visa(issuer: TestIssuer) -> str:
    stranger = TestIssuer("https://untrusted.example")
    return _bearer(issuer.passport(visas=[stranger.grant("ds1")]))


def _other_subject_visa(issuer: TestIssuer) -> str:
    return _bearer(issuer.passport(visas=[issuer.grant("ds1", subject="someone-else")]))


CASES = [
    Case("no token", lambda i: None, tier="anonymous"),
    Case("empty header", lambda i: "   ", tier="anonymous"),
    Case("registered", lambda i: i.bearer(), tier="registered"),
    Case("valid passport, no visas", lambda i: i.bearer(registered=False), tier="anonymous"),
    Case(
        "controlled ds1",
        lambda i: i.bearer(datasets=["ds1"]),
        tier="controlled",
        datasets=frozenset({"ds1"}),
    ),
    Case(
        "controlled by bare dataset id",
        lambda i: _bearer(i.passport(visas=[_grant(i, "ds1")], registered=False)),
        tier="controlled",
        datasets=frozenset({"ds1"}),
    ),
    Case(
        "grant URL of another node with the same id",
        lambda i: _bearer(i.passport(visas=[_grant(i, "https://x.example/datasets/ds2")])),
        tier="registered",  # never mapped to our ds2
    ),
    Case(
        "visa for another dataset of this node",
        lambda i: i.bearer(datasets=["ds2"]),
        tier="controlled",
        datasets=frozenset({"ds2"}),
    ),
    Case(
        "visa for a dataset not on this node",
        lambda i: i.bearer(datasets=["elsewhere"]),
        tier="registered",
    ),
    Case("alg none", lambda i: _bearer(i.bad_passport("alg_none")), error="alg 'none'"),
    Case("wrong key", lambda i: _bearer(i.bad_passport("wrong_key")), error="signature"),
    Case("expired", lambda i: _bearer(i.bad_passport("expired")), error="expired"),
    Case("not yet valid", lambda i: _bearer(i.bad_passport("not_yet_valid")), error="future"),
    Case(
        "wrong issuer",
        lambda i: TestIssuer("https://untrusted.example").bearer(datasets=["ds1"]),
        error="not trusted",
    ),
    Case("wrong audience", lambda i: _bearer(i.bad_passport("wrong_audience")), error="audience"),
    Case("no exp", lambda i: _bearer(i.bad_passport("no_exp")), error="'exp'"),
    Case(
        "tampered passport",
        lambda i: _bearer(i.bad_passport("tampered_passport")),
        error="signature",
    ),
    Case(
        "tampered visa",
        lambda i: _bearer(i.bad_passport("tampered_visa")),
        tier="registered",
        dropped="signature",
    ),
    Case(
        "expired visa in valid passport",
        lambda i: _bearer(i.bad_passport("expired_visa")),
        tier="registered",
        dropped="expired",
    ),
    Case("revoked visa", _revoked_grant, tier="registered", dropped="revoked"),
    Case("visa of untrusted issuer", _untrusted_visa, tier="registered", dropped="not trusted"),
    Case("visa of another subject", _other_subject_visa, tier="registered", dropped="not linked"),
    Case("unknown kid", lambda i: _bearer(i.bad_passport("unknown_kid")), error="unknown key id"),
    Case(
        "HS256 with the public key as secret",
        lambda i: _bearer(i.bad_passport("hs256_public_key")),
        error="symmetric algorithm 'HS256'",
    ),
    Case("not a JWT", lambda i: _bearer(i.bad_passport("garbage")), error="not base64url|JWS"),
    Case("basic auth", lambda i: "Basic dXNlcjpwYXNz", error="scheme"),
]


@pytest.fixture(scope="module", params=["ES256", "RS256"])
def served(request: pytest.FixtureRequest) -> Iterator[TestIssuer]:
    issuer = TestIssuer("https://hub.genomesh.test", alg=request.param)
    with issuer.serve():
        yield issuer


@pytest.fixture(scope="module")
def resolver(served: TestIssuer) -> Iterator[IdentityResolver]:
    settings = served.node_settings(remote=True, revocation_refresh_seconds=0)
    with httpx.Client(timeout=5.0) as client:
        yield IdentityResolver(settings, http_client=client, known_datasets=lambda: NODE_DATASETS)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_resolver__passport_battery(
    case: Case, served: TestIssuer, resolver: IdentityResolver
) -> None:
    header = case.make(served)
    if case.tier is None:
        with pytest.raises(AuthenticationError, match=case.error) as info:
            resolver.resolve(header, client_address="127.0.0.1")
        assert info.value.http_status == 401
        return
    identity = resolver.resolve(header, client_address="127.0.0.1")
    assert identity.tier == case.tier
    assert identity.controlled_datasets == case.datasets
    if case.dropped:
        assert any(re.search(case.dropped, d) for d in identity.dropped_visas), (
            identity.dropped_visas
        )
    if case.tier == "anonymous" and header is None:
        assert identity.subject is None
        assert identity.key == "anonymous|127.0.0.1"
