"""The ga4gh_visa_v1 object: field rules, conditions and pattern matching from the spec."""

from __future__ import annotations

from typing import Any

import pytest

from genomesh.access.visas import (
    REGISTERED_ACCESS,
    VisaFormatError,
    conditions_met,
    format_linked_identities,
    parse_linked_identities,
    parse_visa_object,
    pattern_match,
)


def visa(**fields: Any) -> dict[str, Any]:
    base = {
        "type": "ResearcherStatus",
        "asserted": 1549680000,
        "value": REGISTERED_ACCESS,
        "source": "https://grid.ac/institutes/grid.240952.8",
        "by": "so",
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


BAD = [
    (visa(type=None), "type"),
    (visa(asserted=None), "asserted"),
    (visa(asserted="yesterday"), "asserted"),
    (visa(value=None), "value"),
    (visa(source=None), "source"),
    (visa(source="not a url"), "source"),
    (visa(source="https://x.org/" + "a" * 260), "source"),
    (visa(by="boss"), "by"),
    (visa(type="ControlledAccessGrants", value="https://x.org/ds1", by=None), "by is required"),
    (visa(type="AcceptedTermsAndPolicies", by=None), "by is required"),
    (visa(value="bona fide"), "not a URL"),
    (visa(type="ControlledAccessGrants", value="has spaces in it"), "not a URL"),
    (visa(type="AffiliationAndRole", value="faculty"), "role@affiliation"),
    (visa(type="AffiliationAndRole", value="Dean@x.org"), "role@affiliation"),
    (visa(type="LinkedIdentities", value="abc"), "<sub>,<iss>"),
    (visa(type="genomesh.ResearchPurpose", value='{"category": "fun"}'), "ResearchPurpose"),
    (visa(conditions=[{"type": "X"}]), "list of lists"),
    (visa(conditions=[[{"value": "const:x"}]]), "'type'"),
    (visa(conditions=[[{"type": "X"}]]), "at least one"),
    (visa(conditions=[[{"type": "X", "asserted": "const:1"}]]), "not allowed"),
]


@pytest.mark.parametrize(("obj", "message"), BAD, ids=[m for _, m in BAD])
def test_parse_visa_object__rejects_spec_violations(obj: dict[str, Any], message: str) -> None:
    with pytest.raises(VisaFormatError, match=message):
        parse_visa_object(obj)


def test_parse_visa_object__accepts_spec_examples() -> None:
    grant = parse_visa_object(
        visa(
            type="ControlledAccessGrants",
            value="https://ega-archive.org/datasets/EGAD00000000432",
            source="https://ega-archive.org/dacs/EGAC00001000205",
            by="dac",
        )
    )
    assert grant.by == "dac" and grant.conditions is None
    assert parse_visa_object(
        visa(type="AffiliationAndRole", value="nih.researcher@med.stanford.edu")
    )
    assert (
        parse_visa_object(visa(type="ControlledAccessGrants", value="ds1", by="dac")).value == "ds1"
    )
    assert parse_visa_object(visa(type="https://example.org/custom", value="anything"))


def test_linked_identities__round_trip_with_uri_encoding() -> None:
    pairs = [("10001", "https://issuer.example1.org/oidc"), ("a,b;c", "https://x.org/a|b,c")]
    value = format_linked_identities(pairs)
    assert ";" not in value.split(";")[1].split(",")[0]  # separators inside parts are encoded
    assert parse_linked_identities(value) == pairs
    spec_value = (
        "10001,https:%2F%2Fissuer.example1.org%2Foidc;abcd,https:%2F%2Fother.example2.org%2Foidc"
    )
    assert parse_linked_identities(spec_value)[1] == ("abcd", "https://other.example2.org/oidc")


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("faculty@*", "faculty@uni.org", True),
        ("faculty@*", "student@uni.org", False),
        ("123,https:%2F%2Fexample?.org", "123,https:%2F%2Fexample2.org", True),
        ("a?c", "abbc", False),
        ("*", "", True),
        ("a.c", "abc", False),  # "." is literal, not a regex
    ],
)
def test_pattern_match__spec_semantics(pattern: str, text: str, expected: bool) -> None:
    assert pattern_match(pattern, text) is expected


def test_conditions_met__dnf_over_other_visas() -> None:
    affiliation = parse_visa_object(
        visa(type="AffiliationAndRole", value="faculty@med.stanford.edu", by="so")
    )
    status = parse_visa_object(visa())
    conditions = [
        [
            {
                "type": "AffiliationAndRole",
                "value": "const:faculty@med.stanford.edu",
                "by": "const:so",
            },
            {"type": "ResearcherStatus", "value": f"const:{REGISTERED_ACCESS}"},
        ],
        [{"type": "AffiliationAndRole", "value": "pattern:faculty@*", "by": "const:system"}],
    ]
    grant = parse_visa_object(
        visa(
            type="ControlledAccessGrants",
            value="https://x.org/ds1",
            by="dac",
            conditions=conditions,
        )
    )
    assert conditions_met(grant, [grant, affiliation, status])
    assert not conditions_met(grant, [grant, affiliation])  # second AND clause unmet
    system = parse_visa_object(visa(type="AffiliationAndRole", value="faculty@x.org", by="system"))
    assert conditions_met(grant, [grant, system])  # second OR group
    unknown = parse_visa_object(
        visa(
            type="ControlledAccessGrants",
            value="https://x.org/ds1",
            by="dac",
            conditions=[[{"type": "ResearcherStatus", "value": f"regex:{REGISTERED_ACCESS}"}]],
        )
    )
    assert not conditions_met(unknown, [status])  # unknown prefix never matches
