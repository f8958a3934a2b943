"""Realistic synthetic cohorts with msprime (optional extra `genomesh[simulate]`).

`simulate_cohort(out_dir, *, n_individuals, ...)` writes a VCF, phenopackets, Beacon BFF
individuals, consent, traits and the truth behind them, all from one seed. msprime (GPL-3)
is imported only when a simulation runs; without it a SimulationDependencyError says how to
install it.
"""

from __future__ import annotations

from genomesh.simulate.cohort import CohortFiles, simulate_cohort, software_versions
from genomesh.simulate.demography import SimulationDependencyError
from genomesh.simulate.phenotypes import DiseaseSpec
from genomesh.simulate.provenance import replay_cohort
from genomesh.simulate.traits import BinaryTraitSpec, QuantitativeTraitSpec

__all__ = [
    "BinaryTraitSpec",
    "CohortFiles",
    "DiseaseSpec",
    "QuantitativeTraitSpec",
    "SimulationDependencyError",
    "replay_cohort",
    "simulate_cohort",
    "software_versions",
]
