"""match_purpose against every published DUOS unit case (v3 and v4 matchers).

DUOS answers APPROVE / DENY / ABSTAIN; genomesh answers approve / deny / needs_review
(ABSTAIN = needs_review). Every case where genomesh decides differently is listed in
KNOWN_DIFFERENCES with our answer and why, and in docs/consent-and-purpose.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from genomesh.access.duos_compat import curie, purpose_from_duos, terms_from_duos
from genomesh.access.purpose_match import match_purpose
from genomesh.testing.reference import reference_dir

DUOS_TO_OURS = {"APPROVE": "approve", "DENY": "deny", "ABSTAIN": "needs_review"}

NO_PERMISSION = (
    "the dataset records no data use permission (GRU/HMB/DS/POA/NRES), only a commercial-use "
    "modifier or nothing; genomesh never approves without a permission, DUOS approves because "
    "no rule family objects"
)
NO_CATEGORY = (
    "the purpose states no research category; genomesh requires one and reads it as general "
    "research, which an HMB consent does not cover (DUOS abstains on the purpose flag instead)"
)

#: (matcher version, case name) -> (genomesh decision, why)
KNOWN_DIFFERENCES: dict[tuple[str, str], tuple[str, str]] = {
    ("v4", "testNPU_positive_case_1"): ("needs_review", NO_PERMISSION),
    ("v4", "testNPU_positive_case_2"): ("needs_review", NO_PERMISSION),
    ("v4", "testNPU_positive_case_3"): ("needs_review", NO_PERMISSION),
    ("v3", "testCommercial_positive_case_1"): ("needs_review", NO_PERMISSION),
    ("v4", "testAbstainDecision_COL"): ("deny", NO_CATEGORY),
    ("v4", "testAbstainDecision_Other"): ("deny", NO_CATEGORY),
    ("v4", "testAbstainDecision_SecondaryOther"): ("deny", NO_CATEGORY),
    ("v4", "testAbstainDecision_ethicsApprovalRequired"): ("deny", NO_CATEGORY),
    ("v3", "testAbstainDecision_COL"): ("deny", NO_CATEGORY),
    ("v3", "testAbstainDecision_Other"): ("deny", NO_CATEGORY),
    ("v3", "testAbstainDecision_SecondaryOther"): ("deny", NO_CATEGORY),
    ("v3", "testAbstainDecision_ethicsApprovalRequired"): ("deny", NO_CATEGORY),
}


def _cases() -> list[tuple[str, dict]]:
    folder = reference_dir() / "duos-cases"
    out = []
    for version in ("v4", "v3"):
        data = json.loads((folder / f"{version}-unit-cases.json").read_text())
        out.extend((version, case) for case in data["cases"])
    return out


CASES = _cases()


def _mock_is_a(case: dict) -> Callable[[str, str], bool | None] | None:
    """The DUOS test's mocked DOID look-up: the purpose term plus its listed ancestors."""
    mock = case.get("ontology_mock")
    if mock is None:
        return None
    term = curie(mock["term"])
    above = {term} | {curie(iri) for iri in mock["ancestors_returned_by_lookup"]}
    return lambda disease, consented: consented in above if disease == term else None


@pytest.mark.parametrize(("version", "case"), CASES, ids=[f"{v}-{c['name']}" for v, c in CASES])
def test_match_purpose__duos_case(version: str, case: dict) -> None:
    purpose, flags = purpose_from_duos(case["purpose"])
    terms = terms_from_duos(case["dataset"])
    result = match_purpose(purpose, terms, disease_is_a=_mock_is_a(case), review_flags=flags)
    assert result.reasons, "every decision carries reasons"
    duos = DUOS_TO_OURS[case["expected"]]
    if (version, case["name"]) in KNOWN_DIFFERENCES:
        ours, _why = KNOWN_DIFFERENCES[(version, case["name"])]
        assert ours != duos
        assert result.decision == ours, result.summary()
    else:
        assert result.decision == duos, result.summary()


def test_duos_cases__all_transcribed_cases_run() -> None:
    assert len(CASES) == 66
    assert sum(1 for v, c in CASES if (v, c["name"]) in KNOWN_DIFFERENCES) == len(KNOWN_DIFFERENCES)


def test_duos_cases__every_difference_documented() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "consent-and-purpose.md").read_text()
    for version, name in KNOWN_DIFFERENCES:
        assert f"{version} `{name}`" in doc, f"{version} {name} missing from the docs"


@pytest.mark.parametrize(
    ("dataset", "expected"),
    [
        # probes from design/notes/governance.md §2.2 where DUOS v4 approves by ignoring modifiers
        ({"hmbResearch": True, "geographicalRestrictions": "CA"}, "deny"),
        (
            {
                "hmbResearch": True,
                "ethicsApprovalRequired": True,
                "collaboratorRequired": True,
                "publicationResults": True,
                "geneticStudiesOnly": True,
            },
            "deny",
        ),
    ],
)
def test_match_purpose__dataset_modifiers_not_ignored(dataset: dict, expected: str) -> None:
    purpose, flags = purpose_from_duos({"hmbResearch": True})
    result = match_purpose(purpose, terms_from_duos(dataset), review_flags=flags)
    assert result.decision == expected, result.summary()
