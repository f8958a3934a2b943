"""Three demo cohorts for a federation: a Dutch hospital, a UK biobank, an Australian programme.

They differ in size, ancestry, consent and disease, so the demo shows what federation is for:
the same question gets different answers (and different permissions) at each node. Sizes are
small enough that all three simulate in a few seconds on 2 cores.

    from genomesh.simulate.presets import DEMO_COHORTS
    for preset in DEMO_COHORTS.values():
        files = preset.simulate(tmp / preset.key)

Ancestry shares are rough pictures of each setting, not census figures: a Dutch academic
hospital's patients are mostly of European ancestry; a UK biobank recruits a more mixed
population; an Australian rare-disease programme (in this simulation) mostly European with a
substantial East Asian share. Consent mixes are the named mixes in `genomesh.simulate.consent`
(rationale in docs/simulate.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genomesh.core.consent import DataUseTerm
from genomesh.simulate.cohort import CohortFiles, Progress, simulate_cohort
from genomesh.simulate.phenotypes import DISEASES
from genomesh.simulate.traits import BinaryTraitSpec


@dataclass(frozen=True)
class CohortPreset:
    """Everything `simulate_cohort` needs for one demo node's dataset, plus its catalogue text."""

    key: str  # short name, also a good node / dataset slug
    dataset_id: str
    name: str
    description: str
    country: str  # ISO 3166 alpha-2, the node's jurisdiction
    n_individuals: int
    populations: Mapping[str, float]
    duo_mix: str
    disease: str  # genomesh.simulate.phenotypes.DISEASES key
    dataset_duo: tuple[str, ...]  # suggested dataset-level DUO ids (catalogue / --duo)
    seed: int
    id_prefix: str
    length: int = 500_000
    binary: BinaryTraitSpec = field(default_factory=BinaryTraitSpec)

    def dataset_terms(self) -> list[DataUseTerm]:
        """`dataset_duo` as DataUseTerms (DS gets the disease, GS the country)."""
        disease_id = DISEASES[self.disease].term.id
        terms = []
        for code in self.dataset_duo:
            diseases = (disease_id,) if code == "DUO:0000007" else ()
            countries = (self.country,) if code == "DUO:0000022" else ()
            terms.append(DataUseTerm(id=code, diseases=diseases, countries=countries))
        return terms

    def simulate(
        self, out_dir: str | Path, *, overwrite: bool = False, progress: Progress | None = None,
        **overrides: Any,
    ) -> CohortFiles:  # fmt: skip
        """Run `simulate_cohort` with this preset (keyword `overrides` win)."""
        kwargs: dict[str, Any] = {
            "n_individuals": self.n_individuals,
            "populations": dict(self.populations),
            "length": self.length,
            "seed": self.seed,
            "duo_mix": self.duo_mix,
            "country": self.country,
            "disease": self.disease,
            "binary": self.binary,
            "id_prefix": self.id_prefix,
            "overwrite": overwrite,
            "progress": progress,
        }
        kwargs.update(overrides)
        return simulate_cohort(out_dir, **kwargs)


DEMO_COHORTS: dict[str, CohortPreset] = {
    "nl-hospital": CohortPreset(
        key="nl-hospital",
        dataset_id="nl-umc-diabetes",
        name="Dutch academic hospital: diabetes outpatient cohort (simulated)",
        description=(
            "Simulated patients of a Dutch university medical centre's internal-medicine "
            "clinics, enriched for type 2 diabetes; consent mostly health/medical research, "
            "often requiring ethics approval, some restricted to the Netherlands."
        ),
        country="NL",
        n_individuals=800,
        populations={"EUR": 0.85, "AFR": 0.10, "EAS": 0.05},
        duo_mix="hospital",
        disease="t2d",
        dataset_duo=("DUO:0000006", "DUO:0000021"),  # HMB + IRB
        seed=3101,
        id_prefix="NLH",
        binary=BinaryTraitSpec(prevalence=0.25, heritability=0.4, n_causal=10),
    ),
    "gb-biobank": CohortPreset(
        key="gb-biobank",
        dataset_id="gb-biobank-chr22",
        name="UK population biobank, chromosome 22 (simulated)",
        description=(
            "A simulated UK-Biobank-like population cohort with broad consent (mostly general "
            "research use); type 2 diabetes at population prevalence."
        ),
        country="GB",
        n_individuals=3000,
        populations={"EUR": 0.80, "AFR": 0.10, "EAS": 0.10},
        duo_mix="biobank",
        disease="t2d",
        dataset_duo=("DUO:0000042",),  # GRU
        seed=4402,
        id_prefix="GBB",
        binary=BinaryTraitSpec(prevalence=0.07, heritability=0.4, n_causal=10),
    ),
    "au-rare-disease": CohortPreset(
        key="au-rare-disease",
        dataset_id="au-rd-epilepsy",
        name="Australian rare-disease programme: developmental and epileptic encephalopathy (simulated)",
        description=(
            "Simulated children and young adults referred for genomic testing for "
            "developmental and epileptic encephalopathy, with unaffected relatives as controls; "
            "consent mostly disease-specific."
        ),
        country="AU",
        n_individuals=400,
        populations={"EUR": 0.70, "EAS": 0.20, "AFR": 0.10},
        duo_mix="rare-disease",
        disease="dee4",
        dataset_duo=("DUO:0000007",),  # DS (OMIM:612164)
        seed=5503,
        id_prefix="AUR",
        binary=BinaryTraitSpec(prevalence=0.4, heritability=0.6, n_causal=5),
    ),
}


__all__ = ["DEMO_COHORTS", "CohortPreset"]
