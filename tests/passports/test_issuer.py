"""VisaIssuer: token shapes as the GA4GH Passport / AAI specs prescribe, refused bad input."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta

import pytest

from genomesh.access.issuer import VisaIssuer, to_epoch
from genomesh.access.keys import KeyStore
from genomesh.core.errors import InvalidInputError
from genomesh.core.purpose import ResearchPurpose
from genomesh.testing.passports import decode_part


@pytest.fixture
def visa_issuer() -> VisaIssuer:
    return VisaIssuer(KeyStore.ephemeral(), issuer="https://hub.example.org")


def parts(token: str) -> tuple[dict, dict]:
    header, payload, _ = token.split(".")
    return decode_part(header), decode_part(payload)


def test_visa__document_token_shape(visa_issuer: VisaIssuer) -> None:
    visa = visa_issuer.controlled_access_grant(
        "alice", dataset_url="https://node.example.org/datasets/ds1", expires=date(2031, 1, 31)
    )
    header, claims = parts(visa.token)
    assert header == {
        "typ": "JWT",
        "alg": "ES256",
        "jku": "https://hub.example.org/.well-known/jwks.json",
        "kid": visa_issuer.keys.active_kid,
    }
    assert claims["iss"] == "https://hub.example.org" and claims["sub"] == "alice"
    assert claims["jti"] == visa.jti and "aud" not in claims and "scope" not in claims
    assert claims["exp"] == int(datetime(2031, 1, 31, 23, 59, 59, tzinfo=UTC).timestamp())
    assert claims["ga4gh_visa_v1"] == {
        "type": "ControlledAccessGrants",
        "asserted": claims["iat"],
        "value": "https://node.example.org/datasets/ds1",
        "source": "https://hub.example.org",
        "by": "dac",
    }
    assert str(visa) == visa.token


def test_visa__every_type_and_unique_jti(visa_issuer: VisaIssuer) -> None:
    purpose = ResearchPurpose(category="disease_specific", diseases=("MONDO:0005148",))
    visas = [
        visa_issuer.researcher_status("alice"),
        visa_issuer.accepted_terms("alice"),
        visa_issuer.affiliation_and_role("alice", role="faculty", affiliation="uni.example.org"),
        visa_issuer.linked_identities("alice", identities=[("a1", "https://other.example.org")]),
        visa_issuer.research_purpose("alice", purpose=purpose),
    ]
    types = [parts(v.token)[1]["ga4gh_visa_v1"]["type"] for v in visas]
    assert types == [
        "ResearcherStatus",
        "AcceptedTermsAndPolicies",
        "AffiliationAndRole",
        "LinkedIdentities",
        "genomesh.ResearchPurpose",
    ]
    assert len({v.jti for v in visas}) == len(visas)
    carried = json.loads(parts(visas[-1].token)[1]["ga4gh_visa_v1"]["value"])
    assert ResearchPurpose.model_validate(carried) == purpose


def test_passport__claims(visa_issuer: VisaIssuer) -> None:
    visas = [visa_issuer.researcher_status("alice"), visa_issuer.accepted_terms("alice")]
    now = int(time.time())
    token = visa_issuer.passport("alice", visas, audience="genomesh", lifetime=600, now=now)
    header, claims = parts(token)
    assert header["alg"] == "ES256" and "jku" not in header
    assert claims["aud"] == "genomesh" and claims["exp"] == now + 600 and claims["iat"] == now
    assert claims["ga4gh_passport_v1"] == [v.token for v in visas]
    assert claims["jti"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"type": "ControlledAccessGrants", "value": "https://x.org/ds1"}, "by is required"),
        ({"type": "ResearcherStatus", "value": "bona fide", "by": "so"}, "not a URL"),
        ({"type": "ResearcherStatus", "value": "https://x.org/ra", "by": "boss"}, "by"),
        (
            {"type": "ResearcherStatus", "value": "https://x.org/ra", "expires": timedelta(0)},
            "not after now",
        ),
    ],
)
def test_visa__refuses_invalid_visas(visa_issuer: VisaIssuer, kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        visa_issuer.visa("alice", **kwargs)


def test_passport__refuses_non_positive_lifetime(visa_issuer: VisaIssuer) -> None:
    with pytest.raises(InvalidInputError, match="lifetime must be positive"):
        visa_issuer.passport("alice", [], audience="genomesh", lifetime=0)


def test_to_epoch__forms() -> None:
    now = 1_000_000
    assert to_epoch(None, now=now, default=timedelta(seconds=5)) == now + 5
    assert to_epoch(timedelta(hours=1), now=now, default=timedelta(0)) == now + 3600
    assert to_epoch(2_000_000, now=now, default=timedelta(0)) == 2_000_000
    naive = datetime(2030, 1, 1, 12, 0)
    assert to_epoch(naive, now=now, default=timedelta(0)) == int(
        naive.replace(tzinfo=UTC).timestamp()
    )
