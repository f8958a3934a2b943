"""Jurisdiction rules: dataset placement limits and each country profile, as tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from genomesh.access.identity import Identity
from genomesh.access.jurisdiction import (
    apply_jurisdiction,
    enforce_jurisdiction,
    load_profiles,
)
from genomesh.core.errors import InvalidInputError, JurisdictionError
from genomesh.core.purpose import ResearchPurpose
from genomesh.core.settings import DatasetPolicy


def who(country: str | None = "IE", ethics: str | None = None) -> Identity:
    purpose = ResearchPurpose(category="health_medical", ethics_approval=ethics)
    return Identity(tier="controlled", subject="r1", country=country, purpose=purpose)


OPEN = DatasetPolicy()
WAIVED = DatasetPolicy(consent_waiver="CAG 21/CAG/0001")

# (node, policy, identity, requested, has_consent_terms) -> (granularity, rule)
TABLE: list[tuple[str, str, DatasetPolicy, Identity, str, bool, str | None, str | None]] = [
    ("default allows record", "ZZ", OPEN, who("US"), "record", False, "record", None),
    ("unknown country uses default", "FR", OPEN, who("US"), "record", False, "record", None),
    # dataset policy
    (
        "aggregates only",
        "ZZ",
        DatasetPolicy(aggregates_only=True),
        who(),
        "record",
        True,
        "count",
        "dataset-aggregates-only",
    ),
    (
        "aggregates only, count fine",
        "ZZ",
        DatasetPolicy(aggregates_only=True),
        who(),
        "count",
        True,
        "count",
        None,
    ),
    (
        "record countries inside",
        "ZZ",
        DatasetPolicy(record_countries=["ie"]),
        who("IE"),
        "record",
        True,
        "record",
        None,
    ),
    (
        "record countries outside",
        "ZZ",
        DatasetPolicy(record_countries=["IE"]),
        who("DE"),
        "record",
        True,
        "count",
        "dataset-record-countries",
    ),
    (
        "record countries unknown viewer",
        "ZZ",
        DatasetPolicy(record_countries=["IE"]),
        who(None),
        "record",
        True,
        "count",
        "dataset-record-countries",
    ),
    # Ireland
    ("IE consent recorded", "IE", OPEN, who("IE"), "record", True, "record", None),
    (
        "IE no consent: no count",
        "IE",
        OPEN,
        who("IE"),
        "count",
        False,
        "boolean",
        "ie-explicit-consent",
    ),
    (
        "IE no consent: no record",
        "IE",
        OPEN,
        who("IE"),
        "record",
        False,
        "boolean",
        "ie-explicit-consent",
    ),
    ("IE no consent: boolean ok", "IE", OPEN, who("IE"), "boolean", False, "boolean", None),
    (
        "IE waiver does not help",
        "IE",
        WAIVED,
        who("IE"),
        "count",
        False,
        "boolean",
        "ie-explicit-consent",
    ),
    ("IE record to outside EEA", "IE", OPEN, who("US"), "record", True, "count", "gdpr-transfer"),
    ("IE record to EEA", "IE", OPEN, who("NO"), "record", True, "record", None),
    # Sweden
    (
        "SE record needs ethics",
        "SE",
        OPEN,
        who("SE"),
        "record",
        True,
        "count",
        "se-ethics-approval",
    ),
    (
        "SE record with ethics",
        "SE",
        OPEN,
        who("SE", ethics="Dnr 2024-01234-01"),
        "record",
        True,
        "record",
        None,
    ),
    ("SE count without ethics", "SE", OPEN, who("SE"), "count", True, "count", None),
    # Netherlands
    ("NL no consent", "NL", OPEN, who("NL"), "count", False, "boolean", "nl-explicit-consent"),
    ("NL no consent, waived", "NL", WAIVED, who("NL"), "record", False, "record", None),
    ("NL consent", "NL", OPEN, who("NL"), "record", True, "record", None),
    # United Kingdom
    ("GB no consent", "GB", OPEN, who("GB"), "record", False, "count", "gb-confidentiality"),
    ("GB s251 waiver", "GB", WAIVED, who("GB"), "record", False, "record", None),
    ("GB record abroad allowed", "GB", OPEN, who("US"), "record", True, "record", None),
    # Australia
    ("AU no HREC approval", "AU", OPEN, who("AU"), "record", True, "count", "au-hrec-approval"),
    (
        "AU approval, consent",
        "AU",
        OPEN,
        who("AU", ethics="HREC/2024/123"),
        "record",
        True,
        "record",
        None,
    ),
    (
        "AU no consent, no waiver",
        "AU",
        OPEN,
        who("AU", ethics="HREC/1"),
        "count",
        False,
        "boolean",
        "au-consent-or-waiver",
    ),
    (
        "AU both rules: strictest wins",
        "AU",
        OPEN,
        who("AU"),
        "record",
        False,
        "boolean",
        "au-consent-or-waiver",
    ),
]


@pytest.mark.parametrize(
    ("name", "node", "policy", "identity", "requested", "consent", "granted", "rule"),
    TABLE,
    ids=[t[0] for t in TABLE],
)
def test_apply_jurisdiction__table(
    name: str,
    node: str,
    policy: DatasetPolicy,
    identity: Identity,
    requested: Any,
    consent: bool,
    granted: str | None,
    rule: str | None,
) -> None:
    decision = apply_jurisdiction(
        node_country=node,
        policy=policy,
        identity=identity,
        requested=requested,
        has_consent_terms=consent,
    )
    assert decision.granularity == granted
    assert decision.rule == rule
    if rule is not None:
        assert decision.reason and len(decision.reason) > 20


def test_apply_jurisdiction__purpose_country_used_when_identity_has_none() -> None:
    identity = Identity(
        tier="controlled",
        subject="r",
        purpose=ResearchPurpose(category="general", country="IE"),
    )
    decision = apply_jurisdiction(
        node_country="ZZ",
        policy=DatasetPolicy(record_countries=["IE"]),
        identity=identity,
        requested="record",
        has_consent_terms=True,
    )
    assert decision.granularity == "record"


def test_apply_jurisdiction__refusal_raises_with_rule_name(tmp_path: Path) -> None:
    path = tmp_path / "profiles.toml"
    path.write_text(
        '[profiles.XX]\nname = "Strictland"\n[[profiles.XX.rules]]\nname = "xx-no-export"\n'
        'when = "viewer_outside"\ncountries = ["XX"]\nmax_granularity = "none"\n'
        'reason = "nothing leaves Strictland"\n'
    )
    profiles = load_profiles(path)
    decision = apply_jurisdiction(
        node_country="XX",
        policy=OPEN,
        identity=who("FR"),
        requested="boolean",
        has_consent_terms=True,
        profiles=profiles,
    )
    assert decision.refused and decision.rule == "xx-no-export"
    with pytest.raises(JurisdictionError, match="xx-no-export: nothing leaves Strictland"):
        enforce_jurisdiction(decision)
    inside = apply_jurisdiction(
        node_country="XX",
        policy=OPEN,
        identity=who("XX"),
        requested="record",
        has_consent_terms=True,
        profiles=profiles,
    )
    assert enforce_jurisdiction(inside) == "record"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[profiles.XX\n", "cannot parse"),
        (
            '[[profiles.XX.rules]]\nname="a"\nwhen="sometimes"\nmax_granularity="count"\nreason="r"\n',
            "unknown condition 'sometimes'",
        ),
        (
            '[[profiles.XX.rules]]\nname="a"\nwhen="no_consent_terms"\nmax_granularity="all"\nreason="r"\n',
            "max_granularity",
        ),
        (
            '[[profiles.XX.rules]]\nname="a"\nwhen="no_consent_terms"\nreason="r"\n',
            "lacks 'max_granularity'",
        ),
        (
            '[[profiles.XX.rules]]\nname="a"\nwhen="viewer_outside"\nmax_granularity="count"\nreason="r"\n',
            "countries",
        ),
    ],
)
def test_load_profiles__bad_file_names_file_and_field(
    tmp_path: Path, body: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(InvalidInputError, match=message) as info:
        load_profiles(path)
    assert info.value.file == str(path)


def test_load_profiles__packaged_profiles_cite_sources() -> None:
    profiles = load_profiles()
    for country in ("IE", "SE", "NL", "GB", "AU", "ZZ"):
        assert profiles.profiles[country].sources, country
    assert "DE" in profiles.profiles["IE"].rules[1].countries  # EEA group expanded
