"""Human out-of-Africa demography and the coalescent simulation behind every simulated cohort.

The model is the three-population out-of-Africa model of Gutenkunst et al. (2009), "Inferring
the joint demographic history of multiple populations from multidimensional SNP frequency
data", PLoS Genetics 5(10):e1000695, doi:10.1371/journal.pgen.1000695 (Table 1, the parameters
fitted to the 1000 Genomes-precursor YRI/CEU/CHB data; the same values as stdpopsim's
HomSap `OutOfAfrica_3G09`). They are written out here so nothing is downloaded.

genomesh labels the sampled populations by the 1000 Genomes super-population they stand in
for: AFR -> YRI, EUR -> CEU, EAS -> CHB.

Rates (uniform along the simulated window):
- recombination 1e-8 per bp per generation (≈ 1 cM/Mb, the human genome-wide average;
  Kong et al. 2002, Nature Genetics 31:241, doi:10.1038/ng917);
- mutation 1.25e-8 per bp per generation (Scally & Durbin 2012, Nature Reviews Genetics
  13:745, doi:10.1038/nrg3295: 0.5e-9 /bp/year × 25-year generations; Kong et al. 2012,
  Nature 488:471, doi:10.1038/nature11396 measured 1.20e-8 in trios).

msprime is GPL-3 and an optional extra (`genomesh[simulate]`): it is imported lazily here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from genomesh.core.errors import GenomeshError, InvalidInputError

# Gutenkunst et al. 2009, Table 1 (YRI/CEU/CHB fit), generation time 25 years.
GENERATION_TIME_YEARS = 25
N_A = 7_300  # ancestral effective size
N_AF = 12_300  # African size after the first expansion (T_AF)
N_B = 2_100  # bottleneck size of the out-of-Africa founders
N_EU0 = 1_000  # CEU size at the EU/AS split, then exponential growth
N_AS0 = 510  # CHB size at the EU/AS split, then exponential growth
R_EU = 0.004  # CEU growth rate per generation
R_AS = 0.0055  # CHB growth rate per generation
T_AF = 220_000 / GENERATION_TIME_YEARS  # generations ago: African expansion
T_B = 140_000 / GENERATION_TIME_YEARS  # generations ago: out-of-Africa split
T_EU_AS = 21_200 / GENERATION_TIME_YEARS  # generations ago: European / East Asian split
M_AF_B = 25e-5  # YRI <-> OOA founders
M_AF_EU = 3e-5  # YRI <-> CEU
M_AF_AS = 1.9e-5  # YRI <-> CHB
M_EU_AS = 9.6e-5  # CEU <-> CHB

RECOMBINATION_RATE = 1e-8
MUTATION_RATE = 1.25e-8

# genomesh population label -> (model population, 1000 Genomes-like description)
POPULATIONS: dict[str, str] = {"AFR": "YRI", "EUR": "CEU", "EAS": "CHB"}
POPULATION_ALIASES: dict[str, str] = {
    "AFR": "AFR", "YRI": "AFR", "EUR": "EUR", "CEU": "EUR", "EAS": "EAS", "CHB": "EAS",
}  # fmt: skip

MODEL_CITATION = (
    "Gutenkunst RN, Hernandez RD, Williamson SH, Bustamante CD (2009) Inferring the joint "
    "demographic history of multiple populations from multidimensional SNP frequency data. "
    "PLoS Genet 5(10): e1000695. doi:10.1371/journal.pgen.1000695"
)


class SimulationDependencyError(GenomeshError):
    """The optional simulation dependencies (msprime, tskit) are not installed."""

    exit_code = 2


def require_msprime() -> ModuleType:
    """Import msprime lazily, with an error that says how to install it."""
    try:
        import msprime
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise SimulationDependencyError(
            "simulating cohorts needs msprime (GPL-3, optional): "
            "install it with `pip install 'genomesh[simulate]'`"
        ) from exc
    return msprime


def normalize_population(label: str) -> str:
    """AFR / EUR / EAS (also accepting YRI / CEU / CHB); a clear error for anything else."""
    key = label.strip().upper()
    if key not in POPULATION_ALIASES:
        raise InvalidInputError(
            f"unknown population {label!r}; choose from AFR, EUR, EAS", field="populations"
        )
    return POPULATION_ALIASES[key]


def out_of_africa_demography() -> Any:
    """The Gutenkunst et al. 2009 three-population model as an `msprime.Demography`."""
    msprime = require_msprime()
    n_eu = N_EU0 / math.exp(-R_EU * T_EU_AS)  # present-day sizes after exponential growth
    n_as = N_AS0 / math.exp(-R_AS * T_EU_AS)
    demography = msprime.Demography()
    demography.add_population(name="YRI", description="Yoruba in Ibadan (AFR)", initial_size=N_AF)
    demography.add_population(
        name="CEU", description="Utah residents, N/W European (EUR)", initial_size=n_eu,
        growth_rate=R_EU,
    )  # fmt: skip
    demography.add_population(
        name="CHB", description="Han Chinese in Beijing (EAS)", initial_size=n_as,
        growth_rate=R_AS,
    )  # fmt: skip
    demography.add_population(name="OOA", description="out-of-Africa founders", initial_size=N_B)
    demography.add_population(
        name="AMH", description="anatomically modern humans", initial_size=N_AF
    )
    demography.add_population(name="ANC", description="ancestral humans", initial_size=N_A)
    demography.set_symmetric_migration_rate(["YRI", "CEU"], M_AF_EU)
    demography.set_symmetric_migration_rate(["YRI", "CHB"], M_AF_AS)
    demography.set_symmetric_migration_rate(["CEU", "CHB"], M_EU_AS)
    demography.add_population_split(time=T_EU_AS, derived=["CEU", "CHB"], ancestral="OOA")
    demography.add_symmetric_migration_rate_change(
        time=T_EU_AS, populations=["YRI", "OOA"], rate=M_AF_B
    )
    demography.add_population_split(time=T_B, derived=["YRI", "OOA"], ancestral="AMH")
    demography.add_population_split(time=T_AF, derived=["AMH"], ancestral="ANC")
    demography.sort_events()
    return demography


def simulate_tree_sequence(
    counts: Mapping[str, int],
    *,
    length: int,
    ancestry_seed: int,
    mutation_seed: int,
    recombination_rate: float = RECOMBINATION_RATE,
    mutation_rate: float = MUTATION_RATE,
) -> Any:
    """Diploid individuals per population (`{"AFR": n, ...}`) over `length` bp, with mutations.

    Individuals come out grouped by population in the order of `counts`. The genome is
    discrete (integer positions); mutations follow msprime's default JC69 nucleotide model,
    so a site can carry more than one mutation — callers keep single-mutation sites only.
    """
    msprime = require_msprime()
    samples = [
        msprime.SampleSet(n, population=POPULATIONS[pop], ploidy=2)
        for pop, n in counts.items()
        if n > 0
    ]
    ts = msprime.sim_ancestry(
        samples=samples,
        demography=out_of_africa_demography(),
        sequence_length=length,
        recombination_rate=recombination_rate,
        random_seed=ancestry_seed,
    )
    return msprime.sim_mutations(ts, rate=mutation_rate, random_seed=mutation_seed)


def model_parameters() -> dict[str, Any]:
    """The demographic model and rates, for truth.json / provenance."""
    return {
        "model": "OutOfAfrica_3G09 (Gutenkunst et al. 2009)",
        "citation": MODEL_CITATION,
        "generation_time_years": GENERATION_TIME_YEARS,
        "N_A": N_A, "N_AF": N_AF, "N_B": N_B, "N_EU0": N_EU0, "N_AS0": N_AS0,
        "r_EU": R_EU, "r_AS": R_AS, "T_AF": T_AF, "T_B": T_B, "T_EU_AS": T_EU_AS,
        "m_AF_B": M_AF_B, "m_AF_EU": M_AF_EU, "m_AF_AS": M_AF_AS, "m_EU_AS": M_EU_AS,
        "recombination_rate": RECOMBINATION_RATE,
        "mutation_rate": MUTATION_RATE,
        "populations": dict(POPULATIONS),
    }  # fmt: skip


__all__ = [
    "MODEL_CITATION",
    "MUTATION_RATE",
    "POPULATIONS",
    "RECOMBINATION_RATE",
    "SimulationDependencyError",
    "model_parameters",
    "normalize_population",
    "out_of_africa_demography",
    "require_msprime",
    "simulate_tree_sequence",
]
