"""Beacon v2 default-model records built from the store (one function per entry type).

Biosamples, runs and analyses are derived from the genotype samples (one of each per sample
with genotypes, as the CINECA BFF does): biosample id = VCF sample id, run id =
`<sample>-run`, analysis id = `<sample>-analysis`.
"""

from __future__ import annotations

import json
import re
from typing import Any

RUN_SUFFIX = "-run"
ANALYSIS_SUFFIX = "-analysis"
ZYGOSITY = {
    1: {"id": "GENO:GENO_0000458", "label": "heterozygous"},
    2: {"id": "GENO:GENO_0000136", "label": "homozygous"},
}
MOLECULAR_EFFECT_PREFIX = "ENSGLOSSARY"
_PLAIN = re.compile(r"^[ACGTUNRYSWKMBDHV.-]*$")


def run_id(sample_id: str) -> str:
    return f"{sample_id}{RUN_SUFFIX}"


def analysis_id(sample_id: str) -> str:
    return f"{sample_id}{ANALYSIS_SUFFIX}"


def individual_record(individual_id: str, document: str | None, dataset_id: str) -> dict[str, Any]:
    """The stored Beacon individual JSON (id and sex guaranteed, as the schema requires)."""
    doc: dict[str, Any] = {}
    if document:
        try:
            loaded = json.loads(document)
            if isinstance(loaded, dict):
                doc = loaded
        except json.JSONDecodeError:
            doc = {}
    doc["id"] = individual_id
    doc.setdefault("sex", {"id": "NCIT:C17998", "label": "unknown"})
    doc.setdefault("info", {})
    if isinstance(doc["info"], dict):
        doc["info"]["datasetId"] = dataset_id
    return doc


def biosample_record(sample_id: str, individual_id: str, dataset_id: str) -> dict[str, Any]:
    return {
        "id": sample_id,
        "individualId": individual_id,
        "biosampleStatus": {"id": "EFO:0009654", "label": "reference sample"},
        "sampleOriginType": {"id": "OBI:0000655", "label": "blood specimen"},
        "info": {"datasetId": dataset_id, "derivedFrom": "genotype sample"},
    }


def run_record(sample_id: str, individual_id: str, dataset_id: str) -> dict[str, Any]:
    return {
        "id": run_id(sample_id),
        "biosampleId": sample_id,
        "individualId": individual_id,
        "runDate": "1970-01-01",
        "info": {"datasetId": dataset_id, "derivedFrom": "genotype sample", "runDateKnown": False},
    }


def analysis_record(
    sample_id: str, individual_id: str, dataset_id: str, *, assembly: str
) -> dict[str, Any]:
    return {
        "id": analysis_id(sample_id),
        "runId": run_id(sample_id),
        "biosampleId": sample_id,
        "individualId": individual_id,
        "analysisDate": "1970-01-01",
        "pipelineName": "genomesh ingest (VCF genotypes)",
        "info": {"datasetId": dataset_id, "assembly": assembly, "analysisDateKnown": False},
    }


def refseq_accession(chrom: str, assembly: str) -> str | None:
    """`NC_000022.10` for chromosome 22 on GRCh37 (`.11` on GRCh38); None if unknown."""
    from genomesh.core.genome import _REFSEQ_VERSIONS  # the table behind assembly_of_refseq

    versions = _REFSEQ_VERSIONS.get(chrom)
    if versions is None:
        return "NC_012920.1" if chrom == "MT" else None
    number = {"X": "23", "Y": "24"}.get(chrom, chrom).zfill(6)
    return f"NC_{number}.{versions[0] if assembly == 'GRCh37' else versions[1]}"


def variant_record(
    row: dict[str, Any],
    *,
    dataset_id: str,
    assembly: str,
    carriers: list[tuple[str, str, int]] | None = None,
) -> dict[str, Any]:
    """A genomicVariation record; `carriers` = [(biosample, individual, dosage)] if disclosed."""
    chrom, pos, ref, alt = row["chrom"], int(row["pos"]), row["ref"], row["alt"]
    start, end = int(row["start"]), int(row["end"])
    accession = refseq_accession(chrom, assembly)
    sequence = accession or chrom
    hgvs = f"{sequence}:g.{pos}{ref}>{alt}" if len(ref) == len(alt) == 1 else None
    doc: dict[str, Any] = {
        "variantInternalId": row["variant_id"],
        "variation": {
            "location": {
                "type": "SequenceLocation",
                "sequence_id": f"refseq:{sequence}",
                "interval": {
                    "type": "SequenceInterval",
                    "start": {"type": "Number", "value": start},
                    "end": {"type": "Number", "value": end},
                },
            },
            "referenceBases": ref,
            "alternateBases": alt,
            "variantType": row.get("variant_type") or "SNV",
        },
        "identifiers": {},
        "info": {"datasetId": dataset_id, "assemblyId": assembly, "length": row.get("length")},
    }
    if alt.startswith("<") or not _PLAIN.match(alt):
        # Symbolic allele (<CN3>, <DEL>, breakends): not expressible as bases in the schema.
        doc["variation"]["alternateBases"] = ""
        doc["info"]["symbolicAllele"] = alt
    if hgvs:
        doc["identifiers"]["genomicHGVSId"] = hgvs
    if row.get("rsid"):
        doc["identifiers"]["variantAlternativeIds"] = [{"id": f"dbSNP:{row['rsid']}"}]
    genes = [g for g in (row.get("genes") or []) if g]
    if genes:
        attrs: dict[str, Any] = {"geneIds": genes}
        aa = [a for a in (row.get("aa_changes") or []) if a]
        if aa:
            attrs["aminoacidChanges"] = aa
        effects = [e for e in (row.get("consequences") or []) if e]
        if effects:
            attrs["molecularEffects"] = [
                {"id": f"{MOLECULAR_EFFECT_PREFIX}:{e}", "label": e} for e in effects
            ]
        doc["molecularAttributes"] = attrs
    if not doc["identifiers"]:
        del doc["identifiers"]
    if carriers:
        doc["caseLevelData"] = [
            {"biosampleId": sample, "zygosity": ZYGOSITY.get(dosage, ZYGOSITY[1])}
            for sample, _individual, dosage in carriers
        ]
    return doc


def dataset_record(
    info: Any, *, policy_handovers: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The Beacon dataset record from the store's DatasetInfo."""
    doc: dict[str, Any] = {
        "id": info.id,
        "name": info.name,
        "createDateTime": info.created.isoformat(),
        "updateDateTime": info.created.isoformat(),
        "version": info.version,
        "info": {
            "assemblyId": info.assembly,
            "individuals": info.n_individuals,
            "samples": info.n_samples,
            "variants": info.n_variants,
        },
    }
    if info.description:
        doc["description"] = info.description
    if info.attribution:
        doc["info"]["attribution"] = info.attribution
    duo = [_duo_term(t) for t in info.duo]
    if duo:
        doc["dataUseConditions"] = {"duoDataUse": duo}
    return doc


def _duo_term(term: Any) -> dict[str, Any]:
    """A DUODataUse object: id, label and version from the packaged DUO, modifiers as terms."""
    from genomesh.ontology.duo import get_duo

    duo = get_duo()
    out: dict[str, Any] = {"id": term.id, "version": str(duo.version)}
    if duo.has(term.id):
        out["label"] = duo.term(term.id).label
    modifiers = [{"id": d} for d in term.diseases] + [
        {"id": f"GAZ:{c}", "label": c} for c in term.countries
    ]
    if modifiers:
        out["modifiers"] = modifiers
    return out


def cohort_record(info: Any, *, n_individuals: int | None) -> dict[str, Any]:
    """One study-defined cohort per dataset (the store keeps no separate cohort table)."""
    doc: dict[str, Any] = {
        "id": info.id,
        "name": info.name,
        "cohortType": "study-defined",
        "info": {"datasetId": info.id},
    }
    if n_individuals is not None:
        doc["cohortSize"] = n_individuals
    return doc


__all__ = [
    "ANALYSIS_SUFFIX",
    "RUN_SUFFIX",
    "analysis_id",
    "analysis_record",
    "biosample_record",
    "cohort_record",
    "dataset_record",
    "individual_record",
    "run_id",
    "run_record",
    "variant_record",
]
