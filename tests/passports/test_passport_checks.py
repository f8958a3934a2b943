"""Passport checks beyond the battery: key/alg mismatch, claim shapes, size limits."""

from __future__ import annotations

import time

import pytest
from joserfc import jwt

from genomesh.access.keys import generate_key
from genomesh.access.resolve import IdentityResolver
from genomesh.core.errors import AuthenticationError
from genomesh.testing.passports import DEFAULT_AUDIENCE, TestIssuer, b64url_json


def _resolve(issuer: TestIssuer, token: str) -> object:
    return IdentityResolver(issuer.node_settings()).resolve(f"Bearer {token}")


def test_passport__rs256_header_with_ec_key_is_algorithm_mismatch(issuer: TestIssuer) -> None:
    rsa = generate_key("RS256")
    header = {"typ": "JWT", "alg": "RS256", "kid": issuer.keys.active_kid}
    token = jwt.encode(header, issuer.passport_claims(), rsa, algorithms=["RS256"])
    with pytest.raises(AuthenticationError, match="algorithm mismatch"):
        _resolve(issuer, token)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sub": None}, "'sub' is missing"),
        ({"iss": None}, "'iss' is missing"),
        ({"iat": None}, "'iat' is missing"),
        ({"exp": "tomorrow"}, "'exp' is missing or not an integer"),
        ({"aud": None}, "audience None"),
        ({"aud": ["other", DEFAULT_AUDIENCE]}, None),  # a list containing our audience is fine
        ({"aud": "genomesh"}, "does not include"),  # the old shared audience (QA F23)
        ({"nbf": int(time.time()) + 3600}, "not yet valid"),
        ({"nbf": int(time.time()) - 10}, None),
        ({"ga4gh_passport_v1": "eyJ..."}, "not a list of visas"),
        ({"ga4gh_passport_v1": ["x"] * 201}, "more than 200 visas"),
    ],
)
def test_passport__claim_shapes(issuer: TestIssuer, change: dict, message: str | None) -> None:
    claims = {**issuer.passport_claims(), **change}
    claims = {k: v for k, v in claims.items() if v is not None}
    token = issuer.sign(claims)
    if message is None:
        assert _resolve(issuer, token).subject == "researcher-1"
        return
    with pytest.raises(AuthenticationError, match=message):
        _resolve(issuer, token)


def test_passport__oversized_and_malformed_tokens(issuer: TestIssuer) -> None:
    with pytest.raises(AuthenticationError, match="at most 64000 bytes"):
        _resolve(issuer, "a" * 70_000)
    with pytest.raises(AuthenticationError, match="3 dot-separated parts"):
        _resolve(issuer, "abc.def")
    with pytest.raises(AuthenticationError, match="empty bearer token"):
        IdentityResolver(issuer.node_settings()).resolve("Bearer ")
    good = issuer.sign(issuer.passport_claims())
    crit = b64url_json({"alg": "ES256", "kid": issuer.keys.active_kid, "crit": ["x"], "x": 1})
    with pytest.raises(AuthenticationError, match="crit"):
        _resolve(issuer, ".".join([crit, *good.split(".")[1:]]))


def test_passport__non_string_visa_is_dropped(issuer: TestIssuer) -> None:
    claims = issuer.passport_claims(visas=issuer.registered_visas())
    claims["ga4gh_passport_v1"].append({"type": "ControlledAccessGrants", "value": "ds1"})
    identity = _resolve(issuer, issuer.sign(claims))
    assert identity.tier == "registered"
    assert identity.dropped_visas == ("visa #2: visa is not a JWT string",)


def test_passport__visa_without_kid_or_with_none_alg_is_dropped(issuer: TestIssuer) -> None:
    now = int(time.time())
    visa_claims = {
        "iss": issuer.iss,
        "sub": "researcher-1",
        "iat": now,
        "exp": now + 600,
        "ga4gh_visa_v1": {
            "type": "ControlledAccessGrants",
            "asserted": now,
            "value": "ds1",
            "source": issuer.iss,
            "by": "dac",
        },
    }
    unsigned = issuer.unsigned(visa_claims)
    hs = issuer.hs256_with_public_key(visa_claims)
    identity = _resolve(issuer, issuer.passport(visas=[unsigned, hs]))
    assert identity.tier == "registered"
    assert "alg 'none'" in identity.dropped_visas[0]
    assert "HS256" in identity.dropped_visas[1]


def test_passport__trusted_issuer_without_keys_is_named(issuer: TestIssuer) -> None:
    from genomesh.core.settings import TrustedIssuer

    settings = issuer.node_settings(trusted_issuers=[TrustedIssuer(iss=issuer.iss)])
    with pytest.raises(AuthenticationError, match="neither jwks nor jwks_url"):
        IdentityResolver(settings).resolve(issuer.bearer())
