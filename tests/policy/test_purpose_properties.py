"""Properties of match_purpose that must hold for any consent: checked with hypothesis."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from genomesh.access.purpose_match import match_purpose
from genomesh.core.consent import DataUseTerm
from genomesh.core.purpose import ResearchPurpose

TODAY = date(2026, 6, 1)
PERMISSIONS = [
    DataUseTerm(id="DUO:0000042"),
    DataUseTerm(id="DUO:0000006"),
    DataUseTerm(id="DUO:0000007", diseases=("ICD10:F31",)),
    DataUseTerm(id="DUO:0000007", diseases=("ICD10:E10-E14",)),
    DataUseTerm(id="DUO:0000011"),
    DataUseTerm(id="DUO:0000004"),
]
MODIFIERS = [
    DataUseTerm(id="DUO:0000021"),
    DataUseTerm(id="DUO:0000022", countries=("IE", "SE")),
    DataUseTerm(id="DUO:0000019"),
    DataUseTerm(id="DUO:0000024", moratorium_until=date(2026, 9, 1)),
    DataUseTerm(id="DUO:0000025", expires=date(2027, 1, 1)),
    DataUseTerm(id="DUO:0000028", institutions=("KI",)),
    DataUseTerm(id="DUO:0000029"),
    DataUseTerm(id="DUO:0000020"),
    DataUseTerm(id="DUO:0000016"),
    DataUseTerm(id="DUO:0000015"),
    DataUseTerm(id="DUO:0000044"),
    DataUseTerm(id="DUO:0000018"),
    DataUseTerm(id="DUO:0000012"),
]
RANK = {"approve": 0, "needs_review": 1, "deny": 2}

purposes = st.builds(
    ResearchPurpose,
    category=st.sampled_from(
        [
            "general",
            "health_medical",
            "disease_specific",
            "population_ancestry",
            "methods_development",
        ]
    ),
    diseases=st.sampled_from([(), ("ICD10:F3181",), ("ICD10:E10",), ("ICD10:F31", "ICD10:E11")]),
    commercial=st.booleans(),
    for_profit=st.booleans(),
    country=st.sampled_from([None, "IE", "US"]),
    ethics_approval=st.sampled_from([None, "EPM 2026-1"]),
    institution=st.sampled_from([None, "KI", "UCL"]),
    will_publish=st.booleans(),
    publication_date=st.sampled_from([None, date(2026, 7, 1), date(2026, 12, 1)]),
    collaborate_with_investigators=st.booleans(),
    return_derived_data=st.booleans(),
    population_research=st.booleans(),
    clinical_care=st.booleans(),
    genetic_studies=st.booleans(),
    end_date=st.sampled_from([None, date(2026, 12, 1), date(2027, 6, 1)]),
)
permission_sets = st.lists(st.sampled_from(PERMISSIONS), min_size=1, max_size=3)
modifier_sets = st.lists(st.sampled_from(MODIFIERS), max_size=4)


@settings(max_examples=300, deadline=None)
@given(purposes, permission_sets, modifier_sets, st.sampled_from(MODIFIERS))
def test_match_purpose__adding_a_modifier_never_loosens(
    purpose: ResearchPurpose,
    permissions: list[DataUseTerm],
    modifiers: list[DataUseTerm],
    extra: DataUseTerm,
) -> None:
    before = match_purpose(purpose, permissions + modifiers, today=TODAY)
    after = match_purpose(purpose, permissions + modifiers + [extra], today=TODAY)
    assert RANK[after.decision] >= RANK[before.decision]


@settings(max_examples=300, deadline=None)
@given(purposes, permission_sets, modifier_sets, st.sampled_from(PERMISSIONS))
def test_match_purpose__adding_a_permission_never_tightens(
    purpose: ResearchPurpose,
    permissions: list[DataUseTerm],
    modifiers: list[DataUseTerm],
    extra: DataUseTerm,
) -> None:
    before = match_purpose(purpose, permissions + modifiers, today=TODAY)
    after = match_purpose(purpose, [extra, *permissions, *modifiers], today=TODAY)
    assert RANK[after.decision] <= RANK[before.decision]


@settings(max_examples=200, deadline=None)
@given(purposes, permission_sets, modifier_sets)
def test_match_purpose__decision_is_the_worst_reason(
    purpose: ResearchPurpose, permissions: list[DataUseTerm], modifiers: list[DataUseTerm]
) -> None:
    result = match_purpose(purpose, permissions + modifiers, today=TODAY)
    assert result.decision == max((r.decision for r in result.reasons), key=RANK.__getitem__)
    assert len(result.reasons) >= len(set(t.id for t in modifiers))


def test_match_purpose__a_denying_permission_beside_one_under_review_does_not_deny() -> None:
    """Found by the property above: methods work under HMB + NMDS needs review; adding a
    disease-specific permission that denies it must not turn that into a denial (permissions
    are alternatives)."""
    purpose = ResearchPurpose(category="methods_development")
    terms = [DataUseTerm(id="DUO:0000006"), DataUseTerm(id="DUO:0000015")]
    extra = DataUseTerm(id="DUO:0000007", diseases=("ICD10:F31",))
    before = match_purpose(purpose, terms, today=TODAY)
    after = match_purpose(purpose, [extra, *terms], today=TODAY)
    assert before.decision == after.decision == "needs_review"
    ds = next(r for r in after.reasons if r.code == "DS")
    assert ds.decision == "needs_review" and "HMB may allow it" in ds.reason
