"""Whatever arrives in the Authorization header, the resolver answers or raises AuthenticationError."""

from __future__ import annotations

import contextlib
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genomesh.access.resolve import IdentityResolver
from genomesh.core.errors import AuthenticationError
from genomesh.testing.passports import TestIssuer, b64url, b64url_json

ISSUER = TestIssuer()
RESOLVER = IdentityResolver(ISSUER.node_settings())

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
claim_names = st.sampled_from(
    ["iss", "sub", "aud", "iat", "exp", "nbf", "jti", "ga4gh_passport_v1", "alg", "kid", "crit"]
)
objects = st.dictionaries(claim_names, json_values, max_size=8)


def _resolve(header: str) -> None:
    with contextlib.suppress(AuthenticationError):
        RESOLVER.resolve(header)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_resolver__arbitrary_header_text(text: str) -> None:
    _resolve(text)
    _resolve(f"Bearer {text}")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(objects, objects, st.binary(max_size=80))
def test_resolver__arbitrary_jwt_parts(header: dict, claims: dict, signature: bytes) -> None:
    base = ISSUER.passport_claims()
    token = f"{b64url_json(header)}.{b64url_json({**base, **claims})}.{b64url(signature)}"
    _resolve(f"Bearer {token}")
    # the same junk as visas inside a correctly signed passport: never raises
    visa = f"{b64url_json(header)}.{b64url(json.dumps(claims).encode())}.{b64url(signature)}"
    identity = RESOLVER.resolve(f"Bearer {ISSUER.passport(visas=[visa])}")
    assert identity.tier == "registered"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(objects)
def test_resolver__signed_junk_claims(claims: dict) -> None:
    """Correctly signed, but any claim may be missing or of any type."""
    _resolve(f"Bearer {ISSUER.sign({**ISSUER.passport_claims(), **claims})}")
    visa_claims = {"iss": ISSUER.iss, "sub": "researcher-1", "iat": 0, "exp": 2**40, **claims}
    visa = ISSUER.sign({**visa_claims, "ga4gh_visa_v1": claims.get("aud")})
    identity = RESOLVER.resolve(f"Bearer {ISSUER.passport(visas=[visa])}")
    assert identity.tier == "registered"
