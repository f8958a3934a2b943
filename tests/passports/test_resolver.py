"""IdentityResolver: tiers, dataset mapping, purpose, linked identities, conditions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from genomesh.access.resolve import IdentityResolver, dataset_id_from_grant
from genomesh.core.errors import AuthenticationError
from genomesh.core.purpose import ResearchPurpose
from genomesh.core.settings import NodeSettings
from genomesh.testing.passports import TestIssuer


def test_resolver__purpose_visa_sets_purpose_and_country(issuer: TestIssuer) -> None:
    purpose = ResearchPurpose(category="health_medical", country="SE", project_id="P-1")
    identity = IdentityResolver(issuer.node_settings()).resolve(
        issuer.bearer(datasets=["ds1"], purpose=purpose), client_address="10.0.0.1"
    )
    assert identity.purpose == purpose
    assert identity.country == "SE"
    assert identity.subject == "researcher-1"
    assert identity.issuer == issuer.iss
    assert identity.key == f"{issuer.iss}|researcher-1"
    assert {v.type for v in identity.visas} == {
        "ResearcherStatus",
        "AcceptedTermsAndPolicies",
        "ControlledAccessGrants",
        "genomesh.ResearchPurpose",
    }
    grant = next(v for v in identity.visas if v.type == "ControlledAccessGrants")
    assert grant.by == "dac" and grant.source == issuer.iss


def test_resolver__expires_at_is_earliest_used_visa(issuer: TestIssuer) -> None:
    short = issuer.grant("ds1", expires=timedelta(minutes=10))
    identity = IdentityResolver(issuer.node_settings()).resolve(
        f"Bearer {issuer.passport(visas=[short], lifetime=3600)}"
    )
    assert int(identity.expires_at.timestamp()) == short.expires_at


def test_resolver__registered_needs_terms_unless_configured(issuer: TestIssuer) -> None:
    status_only = issuer.passport(
        registered=False, visas=[issuer.issuer.researcher_status("researcher-1")]
    )
    strict = IdentityResolver(issuer.node_settings())
    assert strict.resolve(f"Bearer {status_only}").tier == "anonymous"
    lenient = IdentityResolver(issuer.node_settings(registered_requires_terms=False))
    assert lenient.resolve(f"Bearer {status_only}").tier == "registered"


def test_resolver__dataset_url_prefixes(issuer: TestIssuer) -> None:
    grant = issuer.grant("https://hub.example.org/catalogue/datasets/ds7")
    token = f"Bearer {issuer.passport(visas=[grant], registered=False)}"
    assert IdentityResolver(issuer.node_settings()).resolve(token).tier == "anonymous"
    settings = issuer.node_settings(
        dataset_url_prefixes=["https://hub.example.org/catalogue/datasets/"]
    )
    identity = IdentityResolver(settings).resolve(token)
    assert identity.tier == "controlled" and identity.controlled_datasets == {"ds7"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://127.0.0.1:8100/datasets/ds1", "ds1"),
        ("ds1", "ds1"),
        ("http://127.0.0.1:8100/datasets/ds1/extra", None),
        ("http://127.0.0.1:8100/datasets/", None),
        ("http://127.0.0.1:8100/datasets/ds1?x=1", None),
        ("https://other.example/datasets/ds1", None),
        ("HTTP://127.0.0.1:8100/datasets/ds1", None),  # URLs compare case-sensitively
    ],
)
def test_dataset_id_from_grant__mapping(value: str, expected: str | None) -> None:
    assert dataset_id_from_grant(value, prefixes=["http://127.0.0.1:8100/datasets/"]) == expected


def test_resolver__linked_identities_bind_other_issuers_visas(issuer: TestIssuer) -> None:
    other = TestIssuer("https://idp.example.org")
    foreign_status = other.issuer.researcher_status("orcid-0000")
    foreign_terms = other.issuer.accepted_terms("orcid-0000")
    settings = issuer.node_settings(trusted_issuers=[issuer.trusted(), other.trusted()])
    resolver = IdentityResolver(settings)

    unlinked = issuer.passport(registered=False, visas=[foreign_status, foreign_terms])
    identity = resolver.resolve(f"Bearer {unlinked}")
    assert identity.tier == "anonymous"
    assert len(identity.dropped_visas) == 2 and "not linked" in identity.dropped_visas[0]

    link = issuer.issuer.linked_identities(
        "researcher-1", identities=[("orcid-0000", "https://idp.example.org")]
    )
    linked = issuer.passport(registered=False, visas=[foreign_status, foreign_terms, link])
    assert resolver.resolve(f"Bearer {linked}").tier == "registered"


def test_resolver__conditions_on_grant(issuer: TestIssuer) -> None:
    conditions = [[{"type": "AffiliationAndRole", "value": "pattern:faculty@*", "by": "const:so"}]]
    grant = issuer.grant("ds1", conditions=conditions)
    resolver = IdentityResolver(issuer.node_settings())
    without = resolver.resolve(f"Bearer {issuer.passport(visas=[grant])}")
    assert without.tier == "registered" and "conditions not met" in without.dropped_visas[0]
    role = issuer.issuer.affiliation_and_role("researcher-1", role="faculty", affiliation="uni.org")
    with_role = resolver.resolve(f"Bearer {issuer.passport(visas=[grant, role])}")
    assert with_role.tier == "controlled"


def test_resolver__visa_access_token_with_openid_scope_is_dropped(issuer: TestIssuer) -> None:
    import time

    now = int(time.time())
    visa = issuer.sign(
        {
            "iss": issuer.iss,
            "sub": "researcher-1",
            "iat": now,
            "exp": now + 600,
            "scope": "openid ga4gh_passport_v1",
            "ga4gh_visa_v1": {
                "type": "ControlledAccessGrants",
                "asserted": now,
                "value": "ds1",
                "source": issuer.iss,
                "by": "dac",
            },
        }
    )
    identity = IdentityResolver(issuer.node_settings()).resolve(
        f"Bearer {issuer.passport(visas=[visa])}"
    )
    assert identity.tier == "registered" and "openid" in identity.dropped_visas[0]


def test_resolver__node_without_trusted_issuers_refuses_every_passport(issuer: TestIssuer) -> None:
    resolver = IdentityResolver(NodeSettings())
    with pytest.raises(AuthenticationError, match="not trusted"):
        resolver.resolve(issuer.bearer())
    assert resolver.resolve(None).tier == "anonymous"


def test_resolver__unsupported_custom_visa_type_is_ignored(issuer: TestIssuer) -> None:
    custom = issuer.issuer.visa(
        "researcher-1", type="https://example.org/visaTypes/studies", value="x"
    )
    identity = IdentityResolver(issuer.node_settings()).resolve(
        f"Bearer {issuer.passport(visas=[custom])}"
    )
    assert identity.tier == "registered"
    assert "not supported" in identity.dropped_visas[0]


def test_resolver__leeway_tolerates_small_clock_skew(issuer: TestIssuer) -> None:
    import time

    token = issuer.passport(lifetime=3600, now=int(time.time()) + 10)  # issuer clock 10 s ahead
    assert IdentityResolver(issuer.node_settings()).resolve(f"Bearer {token}").tier == "registered"
    strict = IdentityResolver(issuer.node_settings(passport_leeway_seconds=0))
    with pytest.raises(AuthenticationError, match="future"):
        strict.resolve(f"Bearer {token}")
