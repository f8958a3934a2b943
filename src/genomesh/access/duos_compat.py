"""Read DUOS `DataUse` objects (v3/v4 JSON, Broad consent-ontology) as genomesh types.

DUOS uses one `DataUse` shape for both a dataset's consent and a research purpose. This module
translates the dataset side into DUO `DataUseTerm`s and the purpose side into a
`ResearchPurpose` plus "review flags" (DUOS's sensitive-topic fields, which genomesh's purpose
has no field for and always sends to the committee). Used to check `match_purpose` against the
DUOS unit cases, and to import DUOS-curated consents.

Mapping (after DUOS's own TextTranslationServiceImpl labels and matcher semantics):
generalUse→GRU, hmbResearch→HMB, diseaseRestrictions→DS(+diseases), populationOriginsAncestry
(dataset)→POA (the matcher treats it as a permission although the DUOS UI labels it NPOA),
methodsResearch (dataset)→NMDS, nonProfitUse=true (v4 dataset)→NPUNCU, commercialUse=false
(v3 dataset)→NCU, ethicsApprovalRequired→IRB, collaboratorRequired→COL,
geographicalRestrictions→GS, geneticStudiesOnly→GSO, publicationResults→PUB,
publicationMoratorium→MOR, other/secondaryOther (dataset)→RS.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from genomesh.core.consent import DataUseTerm
from genomesh.core.errors import InvalidInputError
from genomesh.core.purpose import PurposeCategory, ResearchPurpose

_OBO = "http://purl.obolibrary.org/obo/"

#: DUOS purpose fields that make its matcher abstain; genomesh sends them to the committee.
SENSITIVE_PURPOSE_FIELDS = (
    "controls",
    "gender",
    "pediatric",
    "vulnerablePopulations",
    "illegalBehavior",
    "sexualDiseases",
    "psychologicalTraits",
    "notHealth",
    "stigmatizeDiseases",
    "other",
    "secondaryOther",
    "ethicsApprovalRequired",
)


def curie(iri: str) -> str:
    """`http://purl.obolibrary.org/obo/DOID_162` -> `DOID:162` (CURIEs pass through)."""
    if iri.startswith(_OBO):
        prefix, _, local = iri[len(_OBO) :].partition("_")
        return f"{prefix}:{local}"
    if ":" in iri and "/" not in iri:
        return iri
    raise InvalidInputError(f"not an OBO term IRI or CURIE: {iri!r}", field="diseaseRestrictions")


def terms_from_duos(data: dict[str, Any]) -> list[DataUseTerm]:
    """A DUOS dataset `DataUse` as DUO terms."""
    terms: list[DataUseTerm] = []

    def add(code: str, **modifiers: Any) -> None:
        terms.append(DataUseTerm(id=code, **modifiers))

    if data.get("generalUse") is True:
        add("DUO:0000042")
    if data.get("hmbResearch") is True:
        add("DUO:0000006")
    if data.get("diseaseRestrictions"):
        add("DUO:0000007", diseases=tuple(curie(d) for d in data["diseaseRestrictions"]))
    if data.get("populationOriginsAncestry") is True:
        add("DUO:0000011")
    if data.get("methodsResearch") is True:
        add("DUO:0000015")
    if data.get("nonProfitUse") is True:
        add("DUO:0000018")
    if data.get("commercialUse") is False:
        add("DUO:0000046")
    if data.get("ethicsApprovalRequired") is True:
        add("DUO:0000021")
    if data.get("collaboratorRequired") is True:
        add("DUO:0000020")
    if data.get("geographicalRestrictions"):
        add("DUO:0000022", countries=(str(data["geographicalRestrictions"]),))
    if data.get("geneticStudiesOnly") is True:
        add("DUO:0000016")
    if data.get("publicationResults") is True:
        add("DUO:0000019")
    if data.get("publicationMoratorium"):
        add("DUO:0000024", moratorium_until=date.fromisoformat(data["publicationMoratorium"]))
    topics = tuple(str(data[k]) for k in ("other", "secondaryOther") if data.get(k))
    if topics:
        add("DUO:0000012", topics=topics)
    return terms


def purpose_from_duos(data: dict[str, Any]) -> tuple[ResearchPurpose, tuple[str, ...]]:
    """A DUOS purpose `DataUse` as a ResearchPurpose plus review flags.

    A DUOS purpose may state no research category at all; genomesh requires one and reads
    such a purpose as general research (the broadest claim, so consents must allow it).
    """
    diseases = tuple(curie(d) for d in data.get("diseaseRestrictions") or ())
    category: PurposeCategory = "general"
    if diseases:
        category = "disease_specific"
    elif data.get("hmbResearch") is True:
        category = "health_medical"
    elif data.get("populationOriginsAncestry") is True:
        category = "population_ancestry"
    elif data.get("methodsResearch") is True:
        category = "methods_development"
    for_profit = data.get("nonProfitUse") is False or data.get("commercialUse") is True
    purpose = ResearchPurpose(
        category=category,
        diseases=diseases,
        commercial=for_profit,
        for_profit=for_profit,
        methods_development=data.get("methodsResearch") is True,
        population_research=data.get("population") is True,
        collaborate_with_investigators=data.get("collaboratorRequired") is True,
    )
    flags = tuple(f for f in SENSITIVE_PURPOSE_FIELDS if data.get(f) not in (None, False, ""))
    return purpose, flags


__all__ = ["SENSITIVE_PURPOSE_FIELDS", "curie", "purpose_from_duos", "terms_from_duos"]
