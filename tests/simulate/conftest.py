"""Simulated cohorts shared by the simulate tests (each simulated once per session)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from genomesh.simulate import BinaryTraitSpec, CohortFiles, QuantitativeTraitSpec, simulate_cohort
from genomesh.testing.cohorts import shared_cohort


@pytest.fixture(scope="session")
def cohort() -> CohortFiles:
    """60 individuals × 200 kb, seed 7 (the genomesh.testing default)."""
    return shared_cohort()


@pytest.fixture(scope="session")
def trait_cohort(tmp_path_factory: pytest.TempPathFactory) -> CohortFiles:
    """3,000 individuals × 500 kb: enough power to recover planted effects and prevalence."""
    return simulate_cohort(
        tmp_path_factory.mktemp("trait-cohort"),
        n_individuals=3000,
        length=500_000,
        seed=2024,
        country="GB",
        quantitative=QuantitativeTraitSpec(heritability=0.5, n_causal=6),
        binary=BinaryTraitSpec(prevalence=0.1, heritability=0.4, n_causal=6),
    )


def read_tsv(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a tab-separated file (no comment lines)."""
    lines = path.read_text(encoding="utf-8").rstrip("\n").split("\n")
    return lines[0].split("\t"), [line.split("\t") for line in lines[1:]]


@functools.lru_cache(maxsize=4)
def read_vcf(path: Path) -> tuple[list[str], np.ndarray, np.ndarray, list[tuple[str, str]]]:
    """Samples, POS (int64), haplotypes (sites × 2·samples, int8) and (REF, ALT) via cyvcf2.

    Cached: callers must not modify the arrays.
    """
    from cyvcf2 import VCF

    vcf = VCF(str(path))
    samples = list(vcf.samples)
    positions, haps, alleles = [], [], []
    for v in vcf:
        positions.append(v.POS)
        alleles.append((v.REF, ",".join(v.ALT)))
        haps.append(v.genotype.array()[:, :2].ravel().astype(np.int8))
    vcf.close()
    return samples, np.array(positions, dtype=np.int64), np.array(haps), alleles
