"""Independent expected answers for the CINECA cohort, straight from the files (cyvcf2 + JSON).

Deliberately shares no code with genomesh.store or genomesh.beacon: multi-allelic records are
split and alleles trimmed here with a few lines of plain Python.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
from cyvcf2 import VCF


@dataclass
class TruthVariant:
    chrom: str
    pos: int  # 1-based after trimming
    ref: str
    alt: str
    carriers: frozenset[str]
    genes: set[str] = field(default_factory=set)
    aa_changes: set[str] = field(default_factory=set)

    @property
    def start(self) -> int:
        return self.pos - 1

    @property
    def end(self) -> int:
        return self.start + len(self.ref)


def _trim(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


@cache
def cineca_variants(vcf_path: Path) -> tuple[TruthVariant, ...]:
    vcf = VCF(str(vcf_path), gts012=False)
    samples = np.array(vcf.samples)
    out: list[TruthVariant] = []
    for v in vcf:
        calls = v.genotype.array()[:, :-1]  # alleles per sample (-1 missing), phase dropped
        ann = v.INFO.get("ANN") or ""
        for k, alt in enumerate(v.ALT, start=1):
            if alt.startswith("<") or alt == "*":
                continue
            has = (calls == k).any(axis=1)
            pos, ref, a = _trim(v.POS, v.REF, alt)
            genes = {
                e.split("|")[3]
                for e in ann.split(",")
                if e and e.split("|")[0] == alt and e.split("|")[3]
            }
            entries = [e.split("|") for e in ann.split(",") if e and e.split("|")[0] == alt]
            aa = {e[10] for e in entries if len(e) > 10 and e[10].startswith("p.")}
            out.append(TruthVariant(str(v.CHROM), pos, ref, a, frozenset(samples[has]), genes, aa))
    vcf.close()
    return tuple(out)


@cache
def cineca_individuals(bff_path: Path) -> tuple[dict, ...]:
    return tuple(json.loads(bff_path.read_text()))


def individuals_with(bff_path: Path, predicate) -> set[str]:  # type: ignore[no-untyped-def]
    return {ind["id"] for ind in cineca_individuals(bff_path) if predicate(ind)}


def measure(ind: dict, label: str) -> float | None:
    for m in ind.get("measures", []):
        if m["assayCode"]["label"] == label:
            return float(m["measurementValue"]["value"])
    return None
