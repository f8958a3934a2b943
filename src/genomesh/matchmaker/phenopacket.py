"""Turn a GA4GH Phenopacket v2 into a Matchmaker Exchange patient, on the fly.

Mapping: `subject.id` (or the packet id) -> `id`; `subject.sex` -> `sex`; each phenotypic
feature -> a feature (`excluded: true` -> `observed: "no"`); each disease and each
interpretation's diagnosis -> a disorder when it is OMIM or Orphanet (MME allows only those);
each genomic interpretation -> a genomic feature with the gene symbol (`geneContext`), the
VCF record as the variant (1-based POS becomes the 0-based `start` MME uses; `hg38`/`hg19`
become GRCh38/GRCh37) and the allelic state as zygosity (heterozygous/hemizygous 1,
homozygous 2). The contact is the caller's, since a phenopacket names none.
"""

from __future__ import annotations

from typing import Any

from genomesh.core.errors import InvalidInputError

_ASSEMBLIES = {
    "hg19": "GRCh37", "grch37": "GRCh37", "b37": "GRCh37", "hs37d5": "GRCh37",
    "hg38": "GRCh38", "grch38": "GRCh38",
}  # fmt: skip
_ZYGOSITY = {
    "GENO:0000135": 1, "GENO:0000134": 1, "GENO:0000136": 2,
    "heterozygous": 1, "hemizygous": 1, "homozygous": 2,
}  # fmt: skip
_SEX = {"FEMALE": "FEMALE", "MALE": "MALE", "OTHER_SEX": "OTHER"}


def _disorder(term: dict[str, Any]) -> dict[str, str] | None:
    code = str(term.get("id", ""))
    if code.startswith("OMIM:"):
        code = "MIM:" + code.split(":", 1)[1]
    elif code.upper().startswith("ORPHA:") or code.startswith("Orphanet:"):
        code = "Orphanet:" + code.split(":", 1)[1]
    else:
        return None
    out = {"id": code}
    if term.get("label"):
        out["label"] = str(term["label"])
    return out


def _genomic_feature(descriptor: dict[str, Any]) -> dict[str, Any] | None:
    gene = (descriptor.get("geneContext") or {}).get("symbol")
    if not gene:
        return None
    feature: dict[str, Any] = {"gene": {"id": str(gene)}}
    record = descriptor.get("vcfRecord") or {}
    assembly = _ASSEMBLIES.get(str(record.get("genomeAssembly", "")).lower())
    if assembly and record.get("chrom") and isinstance(record.get("pos"), int | str):
        variant: dict[str, Any] = {
            "assembly": assembly,
            "referenceName": str(record["chrom"]).removeprefix("chr"),
            "start": int(record["pos"]) - 1,
        }
        ref, alt = record.get("ref"), record.get("alt")
        if ref and set(str(ref)) <= set("ACGTN"):
            variant["referenceBases"] = str(ref)
            variant["end"] = variant["start"] + len(str(ref))
        if alt and set(str(alt)) <= set("ACGTN"):
            variant["alternateBases"] = str(alt)
        feature["variant"] = variant
    state = descriptor.get("allelicState") or {}
    zygosity = _ZYGOSITY.get(str(state.get("id"))) or _ZYGOSITY.get(str(state.get("label")))
    if zygosity:
        feature["zygosity"] = zygosity
    kind = descriptor.get("structuralType") or {}
    if str(kind.get("id", "")).startswith("SO:"):
        feature["type"] = {
            "id": kind["id"],
            **({"label": kind["label"]} if kind.get("label") else {}),
        }
    return feature


def phenopacket_to_patient(
    packet: dict[str, Any], *, contact: dict[str, Any], hide_genes: bool = False
) -> dict[str, Any]:
    """An MME patient for one phenopacket (JSON dict). `hide_genes` drops the genomic
    features (phenotype-only matching)."""
    if not isinstance(packet, dict) or not ("phenotypicFeatures" in packet or "subject" in packet):
        raise InvalidInputError("not a Phenopacket v2 (no subject or phenotypicFeatures)")
    subject = packet.get("subject") or {}
    pid = subject.get("id") or packet.get("id")
    if not pid:
        raise InvalidInputError("phenopacket has no subject.id or id", field="subject.id")
    patient: dict[str, Any] = {"id": str(pid), "contact": dict(contact)}
    sex = _SEX.get(str(subject.get("sex", "")))
    if sex:
        patient["sex"] = sex
    features = []
    for f in packet.get("phenotypicFeatures") or []:
        term = f.get("type") or {}
        if str(term.get("id", "")).startswith("HP:"):
            item = {"id": term["id"], "observed": "no" if f.get("excluded") else "yes"}
            if term.get("label"):
                item["label"] = term["label"]
            features.append(item)
    if features:
        patient["features"] = features
    disorders: list[dict[str, str]] = []
    terms = [d.get("term") or {} for d in packet.get("diseases") or [] if not d.get("excluded")]
    genomic: list[dict[str, Any]] = []
    for interpretation in packet.get("interpretations") or []:
        diagnosis = interpretation.get("diagnosis") or {}
        terms.append(diagnosis.get("disease") or {})
        for gi in diagnosis.get("genomicInterpretations") or []:
            descriptor = (gi.get("variantInterpretation") or {}).get("variationDescriptor") or {}
            feature = _genomic_feature(descriptor)
            if feature is None and gi.get("gene", {}).get("symbol"):
                feature = {"gene": {"id": gi["gene"]["symbol"]}}
            if feature is not None:
                genomic.append(feature)
    for term in terms:
        disorder = _disorder(term)
        if disorder and disorder not in disorders:
            disorders.append(disorder)
    if disorders:
        patient["disorders"] = disorders
    if genomic and not hide_genes:
        patient["genomicFeatures"] = genomic
    return patient


__all__ = ["phenopacket_to_patient"]
