"""Write a stored individual as a GA4GH Phenopacket v2 (portable copies, issue 14 part 1).

Built with the `phenopackets` package's protobuf classes and serialised with protobuf's
json_format, so the packet is what the reference schema accepts; `read_individuals` reads it
back (the round trip is tested). What the store holds maps onto the packet as:

    sex                      subject.sex (NCIT male/female/intersex/unknown)
    age (LOINC:30525-0, yr)  subject.timeAtLastEncounter.age (ISO 8601, e.g. P45Y)
    phenotypic features      phenotypicFeatures (with excluded)
    diseases                 diseases
    other measures           measurements (value + unit when recorded)
    interventions            medicalActions[].procedure.code
    genotypes                files[] naming the exported VCF, its assembly and sample

Ethnicity and geographic origin have no field in Phenopacket v2; the export keeps them in
the Beacon v2 individual documents next to the packets.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format
from phenopackets import (
    Age,
    Disease,
    File,
    Individual,
    Measurement,
    MedicalAction,
    MetaData,
    OntologyClass,
    Phenopacket,
    PhenotypicFeature,
    Procedure,
    Quantity,
    Resource,
    Sex,
    TimeElement,
    Value,
)

from genomesh.core.errors import NotFoundError
from genomesh.store.dataset import DatasetStore
from genomesh.store.individuals import AGE_ASSAY, YEAR_UNIT

SCHEMA_VERSION = "2.0"
_SEX = {
    "NCIT:C20197": Sex.MALE,
    "NCIT:C16576": Sex.FEMALE,
    "NCIT:C45908": Sex.OTHER_SEX,
    "NCIT:C17998": Sex.UNKNOWN_SEX,
}
# Ontology resources a packet must declare in metaData.resources, by CURIE prefix.
_RESOURCES = {
    "HP": ("hp", "Human Phenotype Ontology", "http://purl.obolibrary.org/obo/hp.owl",
           "http://purl.obolibrary.org/obo/HP_"),
    "MONDO": ("mondo", "Mondo Disease Ontology", "http://purl.obolibrary.org/obo/mondo.obo",
              "http://purl.obolibrary.org/obo/MONDO_"),
    "NCIT": ("ncit", "NCI Thesaurus", "http://purl.obolibrary.org/obo/ncit.owl",
             "http://purl.obolibrary.org/obo/NCIT_"),
    "LOINC": ("loinc", "Logical Observation Identifiers Names and Codes", "https://loinc.org",
              "https://loinc.org/"),
    "OMIM": ("omim", "Online Mendelian Inheritance in Man", "https://www.omim.org",
             "https://www.omim.org/entry/"),
    "ORPHA": ("orpha", "Orphanet Rare Disease Ontology", "http://www.orpha.net",
              "http://www.orpha.net/ORDO/Orphanet_"),
    "ICD10": ("icd10", "ICD-10", "https://icd.who.int/browse10", "https://icd.who.int/browse10/"),
    "UO": ("uo", "Units of measurement ontology", "http://purl.obolibrary.org/obo/uo.owl",
           "http://purl.obolibrary.org/obo/UO_"),
}  # fmt: skip


def _rows(con: Any, table: str, individual_id: str) -> list[dict[str, Any]]:
    cur = con.execute(f"SELECT * FROM {table} WHERE individual_id = ?", [individual_id])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _term(term_id: str, label: str | None) -> OntologyClass:
    return OntologyClass(id=term_id, label=label or term_id)


def _duration(years: float) -> str:
    """An age in years as an ISO 8601 duration (`P45Y`, `P45.5Y`)."""
    text = f"{years:.4f}".rstrip("0").rstrip(".")
    return f"P{text}Y"


def build_phenopacket(
    dataset: DatasetStore,
    individual_id: str,
    *,
    vcf_uri: str | None = None,
    created_by: str = "genomesh",
) -> Phenopacket:
    """The Phenopacket v2 of one individual of a dataset (NotFoundError if absent)."""
    con = dataset.connect()
    try:
        people = _rows(con, "individuals", individual_id)
        if not people:
            raise NotFoundError(f"dataset {dataset.id!r} has no individual {individual_id!r}")
        person = people[0]
        features = _rows(con, "features", individual_id)
        diseases = _rows(con, "diseases", individual_id)
        measures = _rows(con, "measures", individual_id)
        interventions = _rows(con, "interventions", individual_id)
    finally:
        con.close()
    subject = Individual(id=individual_id, sex=_SEX.get(person["sex_id"] or "", Sex.UNKNOWN_SEX))
    packet = Phenopacket(id=f"{dataset.id}.{individual_id}", subject=subject)
    age_taken = False
    for m in measures:
        is_age = (m["assay_id"], m["unit_id"]) == (AGE_ASSAY[0], YEAR_UNIT[0])
        if is_age and not age_taken and m["value"] is not None:
            age_taken = True
            packet.subject.time_at_last_encounter.CopyFrom(
                TimeElement(age=Age(iso8601duration=_duration(float(m["value"]))))
            )
            continue
        measurement = Measurement(assay=_term(m["assay_id"], m["assay_label"]))
        if m["value"] is not None:
            unit = _term(m["unit_id"], m["unit_label"]) if m["unit_id"] else OntologyClass()
            measurement.value.CopyFrom(Value(quantity=Quantity(unit=unit, value=float(m["value"]))))
        packet.measurements.append(measurement)
    packet.phenotypic_features.extend(
        PhenotypicFeature(type=_term(f["term_id"], f["label"]), excluded=bool(f["excluded"]))
        for f in features
    )
    packet.diseases.extend(Disease(term=_term(d["term_id"], d["label"])) for d in diseases)
    packet.medical_actions.extend(
        MedicalAction(procedure=Procedure(code=_term(i["term_id"], i["label"])))
        for i in interventions
    )
    if vcf_uri is not None and person.get("sample_index") is not None:
        packet.files.append(
            File(
                uri=vcf_uri,
                individual_to_file_identifiers={individual_id: individual_id},
                file_attributes={
                    "genomeAssembly": dataset.info.assembly,
                    "fileFormat": "VCF",
                    "description": "genotypes as stored by the node (bgzipped VCF)",
                },
            )
        )
    prefixes = sorted(
        {
            term.split(":", 1)[0]
            for term in _terms_used(packet)
            if ":" in term and term.split(":", 1)[0] in _RESOURCES
        }
    )
    meta = MetaData(
        created_by=created_by,
        phenopacket_schema_version=SCHEMA_VERSION,
        resources=[
            Resource(
                id=_RESOURCES[p][0], name=_RESOURCES[p][1], url=_RESOURCES[p][2],
                version=_resource_version(p, dataset), namespace_prefix=p,
                iri_prefix=_RESOURCES[p][3],
            )
            for p in prefixes
        ],
    )  # fmt: skip
    meta.created.FromDatetime(datetime.now(UTC))
    packet.meta_data.CopyFrom(meta)
    return packet


def _resource_version(prefix: str, dataset: DatasetStore) -> str:
    if prefix == "HP" and dataset.info.hpo_version:
        return dataset.info.hpo_version
    return "unknown"


def _terms_used(packet: Phenopacket) -> Sequence[str]:
    terms = [f.type.id for f in packet.phenotypic_features]
    terms += [d.term.id for d in packet.diseases]
    terms += [m.assay.id for m in packet.measurements]
    terms += [m.value.quantity.unit.id for m in packet.measurements if m.value.quantity.unit.id]
    terms += [a.procedure.code.id for a in packet.medical_actions]
    terms.append("NCIT:C17998")  # the sex vocabulary
    return terms


def phenopacket_json(packet: Phenopacket) -> str:
    """The packet as Phenopacket v2 JSON (camelCase field names, as the schema writes them)."""
    return json_format.MessageToJson(packet, indent=2, preserving_proto_field_name=False)


__all__ = ["SCHEMA_VERSION", "build_phenopacket", "phenopacket_json"]
