"""Simulated people as GA4GH Phenopackets v2 and Beacon v2 BFF individuals.

Every term is a real one: HPO ids and labels were checked against the HPO release bundled
with hpo3 (`HPO_RELEASE`, a test re-checks them), NCIT codes for sex and ancestry follow the
Beacon v2 schemas and the CINECA UK1 individuals, LOINC for the measurement, GAZ for the
country of recruitment. Phenopackets carry no ancestry field, so the population travels in
the BFF `ethnicity` (and in traits.tsv).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genomesh.simulate.traits import QuantitativeTraitSpec

HPO_RELEASE = "2025-11-24"  # the release the HPO ids/labels below were checked against
# Terms from these resources are stable ids not checked against one release; say so.
UNVERSIONED = "unversioned"
HPO_ACKNOWLEDGEMENT = (
    "This product uses the Human Phenotype Ontology (version {version}). "
    "Find out more at http://www.human-phenotype-ontology.org"
)

SEX_NCIT = {"MALE": ("NCIT:C20197", "male"), "FEMALE": ("NCIT:C16576", "female")}
# population -> Beacon `ethnicity` (NCIT codes as used by the Beacon v2 schema examples)
ETHNICITY_NCIT = {
    "AFR": ("NCIT:C42331", "African"),
    "EUR": ("NCIT:C43851", "European"),
    "EAS": ("NCIT:C41260", "Asian"),
}
# ISO 3166 alpha-2 -> GAZ country term for Beacon `geographicOrigin`
COUNTRY_GAZ = {
    "NL": ("GAZ:00002946", "Netherlands"),
    "GB": ("GAZ:00002637", "United Kingdom"),
    "AU": ("GAZ:00000463", "Australia"),
    "IE": ("GAZ:00004018", "Republic of Ireland"),
    "SI": ("GAZ:00002955", "Slovenia"),
    "US": ("GAZ:00002459", "United States of America"),
}


@dataclass(frozen=True)
class Term:
    """An ontology class: id and label."""

    id: str
    label: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "label": self.label}


@dataclass(frozen=True)
class DiseaseSpec:
    """The binary trait's disease, the features its cases show, and when it starts."""

    term: Term
    case_features: tuple[tuple[Term, float], ...]  # (HPO term, probability in a case)
    onset_age: tuple[int, int] = (30, 70)  # years, uniform; capped at the person's age
    age_range: tuple[int, int] = (18, 85)  # age at last encounter, uniform


T2D = DiseaseSpec(
    term=Term("MONDO:0005148", "type 2 diabetes mellitus"),
    case_features=(
        (Term("HP:0005978", "Type II diabetes mellitus"), 0.9),
        (Term("HP:0003074", "Hyperglycemia"), 0.7),
        (Term("HP:0000103", "Polyuria"), 0.3),
        (Term("HP:0001959", "Polydipsia"), 0.25),
        (Term("HP:0003076", "Glycosuria"), 0.2),
    ),
)
DEE4 = DiseaseSpec(
    term=Term("OMIM:612164", "Developmental and epileptic encephalopathy 4"),
    case_features=(
        (Term("HP:0001250", "Seizure"), 0.9),
        (Term("HP:0001263", "Global developmental delay"), 0.8),
        (Term("HP:0001249", "Intellectual disability"), 0.7),
        (Term("HP:0001252", "Hypotonia"), 0.5),
        (Term("HP:0002353", "EEG abnormality"), 0.5),
        (Term("HP:0000252", "Microcephaly"), 0.2),
        (Term("HP:0000717", "Autism"), 0.2),
    ),
    onset_age=(0, 2),
    age_range=(1, 30),
)
DISEASES: dict[str, DiseaseSpec] = {"t2d": T2D, "dee4": DEE4}

# Findings anyone may have, with their probability (background noise for phenotype queries).
BACKGROUND_FEATURES: tuple[tuple[Term, float], ...] = (
    (Term("HP:0000822", "Hypertension"), 0.18),
    (Term("HP:0002099", "Asthma"), 0.08),
    (Term("HP:0002076", "Migraine"), 0.1),
    (Term("HP:0003124", "Hypercholesterolemia"), 0.12),
    (Term("HP:0000716", "Depression"), 0.07),
    (Term("HP:0000407", "Sensorineural hearing impairment"), 0.03),
)
OBESITY = Term("HP:0001513", "Obesity")


@dataclass
class Person:
    """One simulated individual, before rendering into any format."""

    id: str
    population: str
    sex: str  # MALE | FEMALE
    age: int
    quantitative: float
    affected: bool
    onset_age: int | None = None
    features: list[tuple[Term, bool]] = field(default_factory=list)  # (term, excluded)


def make_people(
    ids: Sequence[str],
    populations: Sequence[str],
    quantitative: np.ndarray,
    affected: np.ndarray,
    *,
    disease: DiseaseSpec,
    trait: QuantitativeTraitSpec,
    rng: np.random.Generator,
) -> list[Person]:
    """Sex, age, HPO features (observed and excluded) and onset for each individual."""
    people: list[Person] = []
    lo, hi = disease.age_range
    for i, pid in enumerate(ids):
        sex = "FEMALE" if rng.random() < 0.5 else "MALE"
        age = int(rng.integers(lo, hi + 1))
        person = Person(
            id=pid, population=populations[i], sex=sex, age=age,
            quantitative=round(float(quantitative[i]), 2), affected=bool(affected[i]),
        )  # fmt: skip
        draws = rng.random(len(disease.case_features))
        if person.affected:
            o_lo, o_hi = disease.onset_age
            person.onset_age = min(age, int(rng.integers(o_lo, o_hi + 1)))
            chosen = [t for (t, p), u in zip(disease.case_features, draws, strict=True) if u < p]
            person.features.extend((t, False) for t in chosen or [disease.case_features[0][0]])
        elif draws[0] < 0.3:  # clinicians record a key finding as absent for some controls
            person.features.append((disease.case_features[0][0], True))
        for term, p in BACKGROUND_FEATURES:
            if rng.random() < p:
                person.features.append((term, False))
        if trait.name == "BMI" and person.quantitative >= 30.0:
            person.features.append((OBESITY, False))
        people.append(person)
    return people


def _age(years: int) -> dict[str, Any]:
    """A Phenopackets v2 TimeElement holding an age."""
    return {"age": {"iso8601duration": f"P{years}Y"}}


def _bff_age(years: int) -> dict[str, Any]:
    """A Beacon v2 TimeElement holding an age: the Age object itself (oneOf, no wrapper)."""
    return {"iso8601duration": f"P{years}Y"}


def phenopacket(
    person: Person,
    *,
    disease: DiseaseSpec,
    trait: QuantitativeTraitSpec,
    created: str,
    creator: str,
) -> dict[str, Any]:
    """The person as Phenopackets v2 JSON (protobuf JSON names, camelCase)."""
    doc: dict[str, Any] = {
        "id": f"{person.id}-phenopacket",
        "subject": {
            "id": person.id,
            "timeAtLastEncounter": _age(person.age),
            "sex": person.sex,
            "taxonomy": {"id": "NCBITaxon:9606", "label": "Homo sapiens"},
        },
        "phenotypicFeatures": [
            {"type": t.as_dict(), **({"excluded": True} if excluded else {})}
            for t, excluded in person.features
        ],
        "measurements": [
            {
                "assay": {"id": trait.assay_id, "label": trait.assay_label},
                "value": {
                    "quantity": {
                        "unit": {"id": trait.unit_id, "label": trait.unit_label},
                        "value": person.quantitative,
                    }
                },
                "timeObserved": _age(person.age),
            }
        ],
    }
    if person.affected:
        doc["diseases"] = [{"term": disease.term.as_dict(), "onset": _age(person.onset_age or 0)}]
    doc["metaData"] = {
        "created": created,
        "createdBy": creator,
        "phenopacketSchemaVersion": "2.0",
        "resources": _resources(disease),
    }
    return doc


def _resources(disease: DiseaseSpec) -> list[dict[str, str]]:
    """metaData.resources; the OMIM entry is phenopacket-store's (where the DEE4 term is from)."""
    resources = [
        {
            "id": "hp", "name": "human phenotype ontology",
            "url": "http://purl.obolibrary.org/obo/hp.owl", "version": HPO_RELEASE,
            "namespacePrefix": "HP", "iriPrefix": "http://purl.obolibrary.org/obo/HP_",
        },
        {
            "id": "ncbitaxon", "name": "NCBI organismal classification",
            "url": "http://purl.obolibrary.org/obo/ncbitaxon.owl", "version": UNVERSIONED,
            "namespacePrefix": "NCBITaxon",
            "iriPrefix": "http://purl.obolibrary.org/obo/NCBITaxon_",
        },
        {
            "id": "loinc", "name": "Logical Observation Identifiers Names and Codes",
            "url": "https://loinc.org", "version": UNVERSIONED, "namespacePrefix": "LOINC",
            "iriPrefix": "https://loinc.org/",
        },
        {
            "id": "ncit", "name": "NCI Thesaurus", "url": "http://purl.obolibrary.org/obo/ncit.owl",
            "version": UNVERSIONED, "namespacePrefix": "NCIT",
            "iriPrefix": "http://purl.obolibrary.org/obo/NCIT_",
        },
    ]  # fmt: skip
    prefix = disease.term.id.split(":")[0]
    if prefix == "MONDO":
        resources.append({
            "id": "mondo", "name": "Mondo Disease Ontology",
            "url": "http://purl.obolibrary.org/obo/mondo.obo", "version": UNVERSIONED,
            "namespacePrefix": "MONDO", "iriPrefix": "http://purl.obolibrary.org/obo/MONDO_",
        })  # fmt: skip
    elif prefix == "OMIM":
        resources.append({
            "id": "omim", "name": "An Online Catalog of Human Genes and Genetic Disorders",
            "url": "https://www.omim.org", "version": "06/01/25",
            "namespacePrefix": "OMIM", "iriPrefix": "https://www.omim.org/entry/",
        })  # fmt: skip
    return resources


def bff_individual(
    person: Person,
    *,
    disease: DiseaseSpec,
    trait: QuantitativeTraitSpec,
    country: str | None,
) -> dict[str, Any]:
    """The person as a Beacon v2 individual (BFF, as in the CINECA UK1 individuals.json)."""
    sex_id, sex_label = SEX_NCIT[person.sex]
    eth_id, eth_label = ETHNICITY_NCIT[person.population]
    doc: dict[str, Any] = {
        "id": person.id,
        "sex": {"id": sex_id, "label": sex_label},
        "ethnicity": {"id": eth_id, "label": eth_label},
    }
    if country and country.upper() in COUNTRY_GAZ:
        gaz_id, gaz_label = COUNTRY_GAZ[country.upper()]
        doc["geographicOrigin"] = {"id": gaz_id, "label": gaz_label}
    if person.features:
        doc["phenotypicFeatures"] = [
            {"featureType": t.as_dict(), "excluded": excluded} for t, excluded in person.features
        ]
    if person.affected:
        doc["diseases"] = [
            {"diseaseCode": disease.term.as_dict(), "ageOfOnset": _bff_age(person.onset_age or 0)}
        ]
    doc["measures"] = [
        {
            "assayCode": {"id": trait.assay_id, "label": trait.assay_label},
            "measurementValue": {
                "unit": {"id": trait.unit_id, "label": trait.unit_label},
                "value": person.quantitative,
            },
            "observationMoment": _bff_age(person.age),
        }
    ]
    return doc


__all__ = [
    "BACKGROUND_FEATURES",
    "COUNTRY_GAZ",
    "DEE4",
    "DISEASES",
    "ETHNICITY_NCIT",
    "HPO_ACKNOWLEDGEMENT",
    "HPO_RELEASE",
    "SEX_NCIT",
    "T2D",
    "DiseaseSpec",
    "Person",
    "Term",
    "bff_individual",
    "make_people",
    "phenopacket",
]
