"""The demo's GWAS study: one simulated population with a planted quantitative trait, its
participants recruited at the three demo nodes (a third each).

The three demo cohorts are simulated independently (their own seeds and genealogies), so
they share no variant sites: a trait planted in each would sit at different variants, and a
GWAS across them would have nothing to pool. The study is therefore simulated once — body-mass
index (LOINC:39156-5) with three planted causal variants (10% of its variance), plus a planted type 2 diabetes
liability — and split round-robin over the nodes (`genomesh.testing.split.split_cohort`), each
part ingested as the node's `<node>-bmi` dataset. A GWAS over the three datasets recovers
the planted variants (`truth.json` in `demo/data/gwas-bmi` lists them).

    genomesh analysis submit gwas --trait LOINC:39156-5 --covariates sex,age --mode secure \\
        -d nl-umc/nl-umc-bmi -d gb-biobank/gb-biobank-bmi -d au-rd/au-rd-bmi --wait
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from rich.console import Console

STUDY_KEY = "gwas-bmi"
STUDY_SEED = 6604
STUDY_PEOPLE = 1_500
STUDY_LENGTH = 300_000
TRAIT = "LOINC:39156-5"


class _Node(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def country(self) -> str: ...


def dataset_id(node: str) -> str:
    return f"{node}-bmi"


def prepare_gwas_study(root: Path, nodes: Sequence[_Node], *, console: Console) -> None:
    """Simulate the study once and ingest each node's part (skips what is already there)."""
    from genomesh.core.consent import DataUseTerm
    from genomesh.simulate.cohort import simulate_cohort
    from genomesh.simulate.traits import BinaryTraitSpec, QuantitativeTraitSpec
    from genomesh.store import ingest_dataset
    from genomesh.testing.split import split_cohort

    todo = [
        (i, n) for i, n in enumerate(nodes)
        if not (root / "nodes" / n.name / "datasets" / dataset_id(n.name) / "CURRENT").is_file()
    ]  # fmt: skip
    if not todo:
        return
    data_dir = root / "data" / STUDY_KEY
    with console.status(
        f"simulating the GWAS study ({STUDY_PEOPLE:,} people, planted BMI effects)"
    ):
        files = simulate_cohort(
            data_dir, n_individuals=STUDY_PEOPLE, length=STUDY_LENGTH, seed=STUDY_SEED,
            populations={"EUR": 0.7, "AFR": 0.15, "EAS": 0.15}, country="GB",
            # modest effects and no population mean shifts: the demo has no PCs, and the
            # whole 300 kb window is in linkage disequilibrium, so a stronger or stratified
            # trait lights up the window rather than the planted peak
            quantitative=QuantitativeTraitSpec(
                heritability=0.1, n_causal=3, population_shift={"AFR": 0.0, "EUR": 0.0, "EAS": 0.0}
            ),
            binary=BinaryTraitSpec(prevalence=0.2, heritability=0.5, n_causal=3),
            id_prefix="BMI", overwrite=True,  # same seed: same data
        )  # fmt: skip
        parts = split_cohort(files, data_dir / "parts", parts=len(nodes))
    for i, node in todo:
        part = parts[i]
        with console.status(f"ingesting {dataset_id(node.name)} into {node.name}"):
            ingest_dataset(
                root / "nodes" / node.name, dataset_id(node.name), vcf=part.vcf,
                individuals=part.individuals, consent=part.consent,
                duo=[DataUseTerm(id="DUO:0000006")],  # HMB
                name=f"BMI genetics study, {node.country} recruitment site (simulated)",
                description=(
                    "One simulated population with planted body-mass-index effects "
                    f"(LOINC:39156-5), split over three nodes; this node's {len(part.ids)} "
                    "participants. For the federated GWAS demo."
                ),
                attribution=files.attribution,
            )  # fmt: skip
        console.print(f"[green]✓[/] {node.name}: {dataset_id(node.name)}")


__all__ = ["TRAIT", "dataset_id", "prepare_gwas_study"]
