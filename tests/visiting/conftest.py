"""A node holding two parts of one simulated cohort, and the pooled truth to check against."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genomesh.access.identity import Identity
from genomesh.access.purpose_match import match_purpose
from genomesh.core.consent import DataUseTerm
from genomesh.core.purpose import ResearchPurpose
from genomesh.core.settings import DatasetPolicy, NodeSettings
from genomesh.store import ingest_dataset, init_node, open_node
from genomesh.testing.cohorts import shared_cohort
from genomesh.testing.split import split_cohort

PURPOSE = ResearchPurpose(
    category="health_medical",
    institution="uni.example.org",
    country="NL",
    ethics_approval="METC-2026-031",
    will_publish=True,
)
HMB = DataUseTerm(id="DUO:0000006")


@dataclass
class AnalysisNode:
    node_dir: Path
    settings: NodeSettings
    datasets: tuple[str, ...]

    def identity(self, datasets: tuple[str, ...] | None = None) -> Identity:
        return Identity(
            tier="controlled",
            subject="rita",
            issuer="https://hub.example.org",
            controlled_datasets=frozenset(datasets or self.datasets),
            purpose=PURPOSE,
            country="NL",
        )

    def allowed(self, dataset_id: str, withdrawn: frozenset[str] = frozenset()) -> set[str]:
        """Individuals whose consent approves PURPOSE (the policy engine as oracle)."""
        consents = open_node(self.node_dir).dataset(dataset_id).consents()
        today = datetime.now(UTC).date()
        return {
            i for i, terms in consents.items()
            if match_purpose(PURPOSE, terms, today=today).decision == "approve"
        } - withdrawn  # fmt: skip


def pooled_dosages(
    node: AnalysisNode, dataset_id: str
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """(variants, individuals in sample order, dosages variants x individuals) read straight
    from the store with DatasetStore.genotypes (the store's own reader, not dask)."""
    ds = open_node(node.node_dir).dataset(dataset_id)
    con = ds.connect()
    variants = con.execute("SELECT * FROM variants ORDER BY variant_index").fetchdf()
    people = con.execute("SELECT * FROM individuals ORDER BY sample_index").fetchdf()
    con.close()
    chunks = list(ds.genotypes(individual_ids=list(people["individual_id"])))
    dosages = np.concatenate([c.dosages for c in chunks], axis=0)
    return variants, people, dosages


@pytest.fixture(scope="module")
def analysis_node(tmp_path_factory: pytest.TempPathFactory) -> AnalysisNode:
    root = tmp_path_factory.mktemp("analysis-node")
    cohort = shared_cohort()
    parts = split_cohort(cohort, root / "parts", parts=2)
    node_dir = root / "node"
    init_node(node_dir, name="nl-node", jurisdiction="NL")
    for i, part in enumerate(parts):
        ingest_dataset(
            node_dir, f"part{i}", vcf=part.vcf, individuals=part.individuals,
            consent=part.consent, duo=[HMB], name=f"part {i}",
        )  # fmt: skip
    settings = NodeSettings.load(
        node_dir,
        jurisdiction="NL",
        default_policy=DatasetPolicy(min_count=3),
        anti_differencing_answers=0,
        query_budget=1_000_000,
        analysis_chunk_variants=100,
    )
    return AnalysisNode(node_dir, settings, ("part0", "part1"))
