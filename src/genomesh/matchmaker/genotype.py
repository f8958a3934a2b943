"""Genotype evidence of a match: same variant, same gene, zygosity.

Per query genomic feature, the best candidate feature scores 1.0 for the same variant (same
assembly family, chromosome, 0-based start, bases when both give them), 0.5 for the same
gene, 0.75 when the zygosity also agrees; the genotype score is the mean over the query's
features. `patientmatcher` weighting: a full share for the same variant, a quarter share for
the same gene, zygosity ignored. Variants on different assemblies are compared by gene only:
no liftover data ships offline, so a GRCh37 and a GRCh38 description of one variant match as
"same gene", never as "same variant".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from genomesh.matchmaker.genes import gene_symbol, normalise_gene

Weighting = Literal["genomesh", "patientmatcher"]


def _assembly_family(assembly: str) -> str:
    return str(assembly).split(".")[0].upper()


@dataclass(frozen=True)
class GenomicKey:
    """One genomic feature reduced to what matching compares."""

    gene: str
    gene_label: str
    zygosity: int | None = None
    variant: tuple[str, str, int, str | None, str | None] | None = None


def genomic_keys(patient: dict[str, Any]) -> list[GenomicKey]:
    keys = []
    for feature in patient.get("genomicFeatures") or []:
        gene_id = str((feature.get("gene") or {}).get("id", ""))
        variant = feature.get("variant")
        vkey = None
        if isinstance(variant, dict) and "start" in variant:
            vkey = (
                _assembly_family(variant.get("assembly", "")),
                str(variant.get("referenceName", "")).upper().removeprefix("CHR"),
                int(variant["start"]),
                variant.get("referenceBases"),
                variant.get("alternateBases"),
            )
        zygosity = feature.get("zygosity")
        keys.append(
            GenomicKey(
                normalise_gene(gene_id),
                gene_symbol(gene_id),
                int(zygosity) if isinstance(zygosity, int) else None,
                vkey,
            )
        )
    return keys


def _same_variant(a: GenomicKey, b: GenomicKey) -> bool:
    if a.variant is None or b.variant is None:
        return False
    (asm_a, chr_a, start_a, ref_a, alt_a), (asm_b, chr_b, start_b, ref_b, alt_b) = (
        a.variant,
        b.variant,
    )
    if (asm_a, chr_a, start_a) != (asm_b, chr_b, start_b):
        return False
    return (ref_a is None or ref_b is None or ref_a == ref_b) and (
        alt_a is None or alt_b is None or alt_a == alt_b
    )


def genotype_score(
    query: Sequence[GenomicKey], candidate: Sequence[GenomicKey], *, weighting: Weighting
) -> tuple[float, list[str]]:
    """The genotype score in [0, 1] and the shared gene symbols."""
    if not query:
        return 0.0, []
    total, shared = 0.0, []
    for q in query:
        best = 0.0
        for c in candidate:
            if _same_variant(q, c):
                best = 1.0
            elif q.gene == c.gene:
                if weighting == "patientmatcher":
                    best = max(best, 0.25)
                else:
                    zyg = q.zygosity is not None and q.zygosity == c.zygosity
                    best = max(best, 0.75 if zyg else 0.5)
            if q.gene == c.gene and q.gene_label not in shared:
                shared.append(q.gene_label)
        total += best
    return total / len(query), shared


__all__ = ["GenomicKey", "Weighting", "genomic_keys", "genotype_score"]
