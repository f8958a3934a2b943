"""A simulated cohort with planted effects, split over three in-memory nodes."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from genomesh.testing.cohorts import shared_cohort
from genomesh.testing.federation import InMemoryLocalData
from genomesh.testing.gwas import load_cohort, split_nodes

requires_plink2 = pytest.mark.skipif(shutil.which("plink2") is None, reason="plink2 not installed")


@dataclass
class Cohort:
    individuals: pd.DataFrame
    variants: pd.DataFrame
    dosages: np.ndarray
    truth: dict


@pytest.fixture(scope="session")
def cohort() -> Cohort:
    """1,500 people x 150 kb (seed 5): ~1,200 variants, 10 planted effects per trait."""
    files = shared_cohort(n_individuals=1500, length=150_000, seed=5, country=None)
    individuals, variants, dosages = load_cohort(files)
    return Cohort(individuals, variants, dosages, files.read_truth())


@pytest.fixture(scope="session")
def nodes(cohort: Cohort) -> dict[str, InMemoryLocalData]:
    nodes, _ = split_nodes(cohort.individuals, cohort.variants, cohort.dosages, n_nodes=3)
    return nodes
