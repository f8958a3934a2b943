"""match_purpose: every DUO permission and modifier, as a table of expected decisions."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from genomesh.access.purpose_match import match_purpose
from genomesh.core.consent import DataUseTerm
from genomesh.core.purpose import ResearchPurpose

TODAY = date(2026, 6, 1)
GRU, HMB, DS, POA, NRES = "DUO:0000042", "DUO:0000006", "DUO:0000007", "DUO:0000011", "DUO:0000004"
NMDS, GSO, NPUNCU, PUB, COL, IRB, GS = (
    "DUO:0000015",
    "DUO:0000016",
    "DUO:0000018",
    "DUO:0000019",
    "DUO:0000020",
    "DUO:0000021",
    "DUO:0000022",
)
MOR, TS, US, PS, IS, RTN, CC, NPOA, NPU, NCU, RS = (
    "DUO:0000024",
    "DUO:0000025",
    "DUO:0000026",
    "DUO:0000027",
    "DUO:0000028",
    "DUO:0000029",
    "DUO:0000043",
    "DUO:0000044",
    "DUO:0000045",
    "DUO:0000046",
    "DUO:0000012",
)


def P(category: str = "health_medical", **kw: Any) -> ResearchPurpose:
    return ResearchPurpose(category=category, **kw)  # type: ignore[arg-type]


def T(code: str, **kw: Any) -> DataUseTerm:
    return DataUseTerm(id=code, **kw)


DIABETES_T1 = "ICD10:E10"
DIABETES_BLOCK = "ICD10:E10-E14"
BIPOLAR = "ICD10:F31"

TABLE: list[tuple[str, ResearchPurpose, list[DataUseTerm], str]] = [
    # --- permissions: the lattice NRES ⊇ GRU ⊇ HMB ⊇ DS, POA apart
    ("GRU allows general", P("general"), [T(GRU)], "approve"),
    ("GRU allows ancestry", P("population_ancestry"), [T(GRU)], "approve"),
    ("HMB refuses general", P("general"), [T(HMB)], "deny"),
    ("HMB allows HMB", P(), [T(HMB)], "approve"),
    ("HMB allows DS", P("disease_specific", diseases=(BIPOLAR,)), [T(HMB)], "approve"),
    ("HMB refuses ancestry", P("population_ancestry"), [T(HMB)], "deny"),
    ("NRES allows anything", P("population_ancestry", commercial=True), [T(NRES)], "approve"),
    ("POA allows ancestry", P("population_ancestry"), [T(POA)], "approve"),
    ("POA refuses HMB", P(), [T(POA)], "deny"),
    ("DS refuses HMB", P(), [T(DS, diseases=(BIPOLAR,))], "deny"),
    (
        "DS same disease",
        P("disease_specific", diseases=(BIPOLAR,)),
        [T(DS, diseases=(BIPOLAR,))],
        "approve",
    ),
    # a purpose on a sub-disease matches consent for its parent (ICD-10 hierarchy)
    (
        "DS sub-disease",
        P("disease_specific", diseases=("ICD10:F3181",)),
        [T(DS, diseases=(BIPOLAR,))],
        "approve",
    ),
    (
        "DS block covers category",
        P("disease_specific", diseases=(DIABETES_T1,)),
        [T(DS, diseases=(DIABETES_BLOCK,))],
        "approve",
    ),
    (
        "DS parent purpose on child consent",
        P("disease_specific", diseases=(DIABETES_BLOCK,)),
        [T(DS, diseases=(DIABETES_T1,))],
        "deny",
    ),
    (
        "DS other disease",
        P("disease_specific", diseases=(DIABETES_T1,)),
        [T(DS, diseases=(BIPOLAR,))],
        "deny",
    ),
    (
        "DS every purpose disease",
        P("disease_specific", diseases=(BIPOLAR, DIABETES_T1)),
        [T(DS, diseases=(BIPOLAR,))],
        "deny",
    ),
    (
        "DS HPO hierarchy",
        P("disease_specific", diseases=("HP:0001250",)),
        [T(DS, diseases=("HP:0000707",))],
        "approve",
    ),
    (
        "DS cross-ontology",
        P("disease_specific", diseases=("MONDO:0005015",)),
        [T(DS, diseases=(DIABETES_T1,))],
        "needs_review",
    ),
    (
        "DS flat ontology",
        P("disease_specific", diseases=("OMIM:616165",)),
        [T(DS, diseases=("OMIM:161800",))],
        "needs_review",
    ),
    ("DS without disease", P("disease_specific", diseases=(BIPOLAR,)), [T(DS)], "needs_review"),
    ("DS purpose without disease", P("disease_specific"), [T(GRU)], "needs_review"),
    ("permissions are alternatives", P("population_ancestry"), [T(HMB), T(POA)], "approve"),
    ("methods allowed on DS", P("methods_development"), [T(DS, diseases=(BIPOLAR,))], "approve"),
    (
        "NMDS keeps methods within DS",
        P("methods_development"),
        [T(DS, diseases=(BIPOLAR,)), T(NMDS)],
        "deny",
    ),
    (
        "NMDS methods within DS ok",
        P("methods_development", diseases=("ICD10:F318",)),
        [T(DS, diseases=(BIPOLAR,)), T(NMDS)],
        "approve",
    ),
    ("NMDS methods on HMB reviewed", P("methods_development"), [T(HMB), T(NMDS)], "needs_review"),
    ("NMDS ignores non-methods", P(), [T(HMB), T(NMDS)], "approve"),
    ("no permission", P(), [T(PUB)], "needs_review"),
    ("no terms", P(), [], "needs_review"),
    ("obsolete GRU-CC as GRU+CC", P("general", clinical_care=True), [T("DUO:0000005")], "approve"),
    ("obsolete RU reviewed", P(), [T(HMB), T("DUO:0000014")], "needs_review"),
    ("unknown DUO code reviewed", P(), [T(HMB), T("DUO:0000099")], "needs_review"),
    ("investigation class reviewed", P(), [T(HMB), T("DUO:0000038")], "needs_review"),
    # --- modifiers: obligations
    ("IRB without approval", P(), [T(HMB), T(IRB)], "deny"),
    ("IRB with approval", P(ethics_approval="REC 21/NW/0001"), [T(HMB), T(IRB)], "approve"),
    ("GS inside", P(country="IE"), [T(HMB), T(GS, countries=("IE", "GB"))], "approve"),
    ("GS outside", P(country="US"), [T(HMB), T(GS, countries=("IE", "GB"))], "deny"),
    ("GS no country", P(), [T(HMB), T(GS, countries=("IE",))], "deny"),
    ("GS without countries", P(country="IE"), [T(HMB), T(GS)], "needs_review"),
    ("PUB publish", P(), [T(HMB), T(PUB)], "approve"),
    ("PUB no publish", P(will_publish=False), [T(HMB), T(PUB)], "deny"),
    (
        "MOR after",
        P(publication_date=date(2027, 2, 1)),
        [T(HMB), T(MOR, moratorium_until=date(2027, 1, 1))],
        "approve",
    ),
    (
        "MOR before",
        P(publication_date=date(2026, 9, 1)),
        [T(HMB), T(MOR, moratorium_until=date(2027, 1, 1))],
        "deny",
    ),
    ("MOR no date", P(), [T(HMB), T(MOR, moratorium_until=date(2027, 1, 1))], "needs_review"),
    ("MOR over", P(), [T(HMB), T(MOR, moratorium_until=date(2026, 1, 1))], "approve"),
    (
        "MOR not publishing",
        P(will_publish=False),
        [T(HMB), T(MOR, moratorium_until=date(2027, 1, 1))],
        "approve",
    ),
    (
        "TS within",
        P(end_date=date(2026, 12, 31)),
        [T(HMB), T(TS, expires=date(2027, 1, 1))],
        "approve",
    ),
    ("TS beyond", P(end_date=date(2027, 6, 1)), [T(HMB), T(TS, expires=date(2027, 1, 1))], "deny"),
    ("TS expired", P(end_date=date(2026, 7, 1)), [T(HMB), T(TS, expires=date(2026, 5, 1))], "deny"),
    ("TS no end date", P(), [T(HMB), T(TS, expires=date(2027, 1, 1))], "needs_review"),
    (
        "US listed",
        P(user_id="orcid:0000-0001"),
        [T(HMB), T(US, users=("orcid:0000-0001",))],
        "approve",
    ),
    ("US other", P(user_id="orcid:0000-0002"), [T(HMB), T(US, users=("orcid:0000-0001",))], "deny"),
    ("PS listed", P(project_id="P-7"), [T(HMB), T(PS, projects=("P-7",))], "approve"),
    ("PS missing", P(), [T(HMB), T(PS, projects=("P-7",))], "deny"),
    (
        "IS case-insensitive",
        P(institution="trinity college dublin"),
        [T(HMB), T(IS, institutions=("Trinity College Dublin",))],
        "approve",
    ),
    (
        "IS other",
        P(institution="UCL"),
        [T(HMB), T(IS, institutions=("Trinity College Dublin",))],
        "deny",
    ),
    ("IS unrecorded", P(institution="UCL"), [T(HMB), T(IS)], "needs_review"),
    ("RTN committed", P(return_derived_data=True), [T(HMB), T(RTN)], "approve"),
    ("RTN not committed", P(), [T(HMB), T(RTN)], "deny"),
    ("COL committed", P(collaborate_with_investigators=True), [T(HMB), T(COL)], "approve"),
    ("COL not committed", P(), [T(HMB), T(COL)], "deny"),
    ("CC allows clinical care", P(clinical_care=True), [T(HMB), T(CC)], "approve"),
    ("clinical care without CC", P(clinical_care=True), [T(HMB)], "deny"),
    ("GSO genetic", P(), [T(HMB), T(GSO)], "approve"),
    ("GSO phenotype-only", P(genetic_studies=False), [T(HMB), T(GSO)], "deny"),
    ("NPOA ancestry", P("population_ancestry"), [T(GRU), T(NPOA)], "deny"),
    ("NPOA population research", P(population_research=True), [T(GRU), T(NPOA)], "needs_review"),
    ("NPOA HMB", P(), [T(GRU), T(NPOA)], "approve"),
    ("population research under HMB", P(population_research=True), [T(HMB)], "needs_review"),
    ("NCU commercial", P(commercial=True), [T(HMB), T(NCU)], "deny"),
    ("NCU for-profit org, non-commercial", P(for_profit=True), [T(HMB), T(NCU)], "approve"),
    ("NPU for-profit org", P(for_profit=True), [T(HMB), T(NPU)], "deny"),
    ("NPU commercial by non-profit", P(commercial=True), [T(HMB), T(NPU)], "approve"),
    ("NPUNCU commercial", P(commercial=True), [T(HMB), T(NPUNCU)], "deny"),
    ("NPUNCU for-profit", P(for_profit=True), [T(HMB), T(NPUNCU)], "deny"),
    ("NPUNCU academic", P(), [T(HMB), T(NPUNCU)], "approve"),
    ("RS reviewed", P(), [T(HMB), T(RS, topics=("topic:3390",))], "needs_review"),
    ("deny beats review", P(), [T(HMB), T(RS), T(COL)], "deny"),
]


@pytest.mark.parametrize(("name", "purpose", "terms", "expected"), TABLE, ids=[t[0] for t in TABLE])
def test_match_purpose__table(
    name: str, purpose: ResearchPurpose, terms: list[DataUseTerm], expected: str
) -> None:
    result = match_purpose(purpose, terms, today=TODAY)
    assert result.decision == expected, result.summary()
    assert result.reasons and all(r.reason for r in result.reasons)
    if expected != "approve":
        assert any(r.decision == expected for r in result.reasons)


def test_match_purpose__empty_terms_reason() -> None:
    result = match_purpose(P(), [])
    assert result.decision == "needs_review"
    assert result.reasons[0].reason == "no recorded consent terms"


def test_match_purpose__one_reason_per_term_naming_it() -> None:
    terms = [T(HMB), T(IRB), T(GS, countries=("SE",))]
    result = match_purpose(P(country="NO"), terms, today=TODAY)
    assert [r.code for r in result.reasons] == ["HMB", "IRB", "GS"]
    assert "SE" in result.reasons[2].reason and "NO" in result.reasons[2].reason


def test_match_purpose__cached_per_distinct_term_set() -> None:
    purpose = P("disease_specific", diseases=("ICD10:F3181",))
    first = match_purpose(purpose, [T(DS, diseases=(BIPOLAR,))], today=TODAY)
    again = match_purpose(purpose, [T(DS, diseases=(BIPOLAR,))], today=TODAY)
    assert first is again


def test_match_purpose__today_defaults_to_now() -> None:
    past = T(TS, expires=date(2000, 1, 1))
    assert match_purpose(P(end_date=date(1999, 1, 1)), [T(HMB), past]).decision == "deny"


@pytest.mark.parametrize(
    ("countries", "researcher", "expected"),
    [
        (("EU",), "NL", "approve"),
        (("EEA",), "NO", "approve"),
        (("EU",), "NO", "deny"),  # Norway is in the EEA, not the EU
        (("EU", "GB"), "GB", "approve"),
        (("eu",), "de", "approve"),
        (("EU",), "US", "deny"),
    ],
)
def test_match_purpose__gs_regions_expand_to_their_countries(
    countries: tuple[str, ...], researcher: str, expected: str
) -> None:
    # QA: a GS consent "EU only" denied a researcher in NL (regions were compared as codes).
    terms = [DataUseTerm(id=GRU), DataUseTerm(id=GS, countries=countries)]
    result = match_purpose(P(country=researcher), terms, today=TODAY)
    assert result.decision == expected, result.reasons
