"""Planted genetic effects: a quantitative trait and a binary (liability-threshold) trait.

Quantitative: y = mu + sd · (G + shift[pop] + e), with G = Σ beta_j x_j over the causal
variants, scaled so var(G) = h2 in the simulated sample, and e ~ N(0, 1 - h2). Effects are
reported per ALT allele in the trait's own unit, so an OLS of y on the dosage of a causal
variant (with population covariates) estimates `beta`.

Binary: liability L = G_b + e_b on the standard normal scale with var(G_b) = h2; a person is
affected when L exceeds the threshold z with P(N(0,1) > z) = prevalence (Falconer 1965, Ann Hum
Genet 29:51), so the expected prevalence is the target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import norm

from genomesh.core.errors import InvalidInputError
from genomesh.simulate.genotypes import SiteTable


@dataclass(frozen=True)
class QuantitativeTraitSpec:
    """A measured trait (default: BMI in kg/m², LOINC 39156-5) with planted effects."""

    name: str = "BMI"
    assay_id: str = "LOINC:39156-5"
    assay_label: str = "Body mass index (BMI) [Ratio]"
    unit_id: str = "NCIT:C49671"
    unit_label: str = "Kilogram per Square Meter"
    mean: float = 27.0
    sd: float = 4.5
    heritability: float = 0.5
    n_causal: int = 10
    # mean shift per population, in trait SDs (population stratification a GWAS must handle)
    population_shift: Mapping[str, float] = field(
        default_factory=lambda: {"AFR": 0.15, "EUR": 0.0, "EAS": -0.3}
    )


@dataclass(frozen=True)
class BinaryTraitSpec:
    """A disease under a liability-threshold model."""

    prevalence: float = 0.1
    heritability: float = 0.4
    n_causal: int = 10


@dataclass(frozen=True)
class CausalVariant:
    """One planted effect: where, how strong, how common."""

    trait: str  # "quantitative" | "binary"
    variant_index: int  # row in the VCF (0-based)
    variant_id: str
    chrom: str
    pos: int
    ref: str
    alt: str
    beta: float  # per ALT allele: trait units (quantitative) or liability SDs (binary)
    alt_frequency: float
    alt_frequency_by_population: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "trait": self.trait, "variant_index": self.variant_index,
            "variant_id": self.variant_id, "chrom": self.chrom, "pos": self.pos,
            "ref": self.ref, "alt": self.alt, "beta": self.beta,
            "alt_frequency": self.alt_frequency,
            "alt_frequency_by_population": self.alt_frequency_by_population,
        }  # fmt: skip


def choose_causal_sites(
    sites: SiteTable, n: int, *, rng: np.random.Generator, min_maf: float = 0.05
) -> np.ndarray:
    """`n` distinct site indices among common variants (MAF ≥ min_maf), sorted."""
    freq = sites.alt_counts / max(sites.n_haplotypes, 1)
    maf = np.minimum(freq, 1 - freq)
    candidates = np.flatnonzero(maf >= min_maf)
    if len(candidates) < n:
        candidates = np.flatnonzero(maf > 0)
    if len(candidates) < n:
        raise InvalidInputError(
            f"only {len(candidates)} polymorphic sites for {n} causal variants; "
            "simulate a longer region or more individuals",
            field="length",
        )
    return np.sort(rng.choice(candidates, size=n, replace=False))


def _scaled_effects(
    dosages: np.ndarray, h2: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Per-allele effects with var(Σ beta_j x_j) = h2 in this sample, and the genetic values."""
    raw = rng.normal(0.0, 1.0, size=dosages.shape[0])
    x = dosages.astype(np.float64)
    sd = x.std(axis=1)
    sd[sd == 0] = 1.0
    beta = raw / sd  # standardised effects ~ N(0,1), expressed per allele
    g = beta @ x
    scale = np.sqrt(h2 / g.var()) if g.var() > 0 else 0.0
    beta = beta * scale
    g = beta @ x
    return beta, g - g.mean()


def simulate_traits(
    dosages_q: np.ndarray,
    dosages_b: np.ndarray,
    *,
    populations: Sequence[str],
    quantitative: QuantitativeTraitSpec,
    binary: BinaryTraitSpec,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Trait values from causal dosages (causal × individuals).

    Returns (y, affected, liability, beta_q in trait units, beta_b in liability SDs, threshold).
    """
    for name, h2 in (("quantitative", quantitative.heritability), ("binary", binary.heritability)):
        if not 0.0 <= h2 < 1.0:
            raise InvalidInputError(f"heritability must be in [0, 1), got {h2}", field=name)
    if not 0.0 < binary.prevalence < 1.0:
        raise InvalidInputError(
            f"prevalence must be in (0, 1), got {binary.prevalence}", field="prevalence"
        )
    n = dosages_q.shape[1]
    beta_q, g_q = _scaled_effects(dosages_q, quantitative.heritability, rng)
    shift = np.array([quantitative.population_shift.get(p, 0.0) for p in populations])
    e_q = rng.normal(0.0, np.sqrt(1.0 - quantitative.heritability), size=n)
    y = quantitative.mean + quantitative.sd * (g_q + shift + e_q)
    beta_b, g_b = _scaled_effects(dosages_b, binary.heritability, rng)
    liability = g_b + rng.normal(0.0, np.sqrt(1.0 - binary.heritability), size=n)
    threshold = float(norm.isf(binary.prevalence))
    affected = liability > threshold
    return y, affected, liability, beta_q * quantitative.sd, beta_b, threshold


def allele_frequencies(dosages: np.ndarray, populations: Sequence[str]) -> list[dict[str, float]]:
    """ALT frequency per causal variant, per population."""
    pops = np.asarray(populations)
    out: list[dict[str, float]] = []
    for row in dosages:
        out.append(
            {str(p): round(float(row[pops == p].mean() / 2), 6) for p in sorted(set(populations))}
        )
    return out


__all__ = [
    "BinaryTraitSpec",
    "CausalVariant",
    "QuantitativeTraitSpec",
    "allele_frequencies",
    "choose_causal_sites",
    "simulate_traits",
]
