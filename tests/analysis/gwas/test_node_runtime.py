"""Node-side behaviour: a withdrawal changes the next result; a Dask distributed scheduler
gives the same numbers as local threads; PC scores beyond the secure bounds are refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genomesh.analysis.gwas import GWAS, nodesets, reference_loadings
from genomesh.analysis.results import result_rows
from genomesh.core.errors import InvalidInputError
from genomesh.testing.federation import InMemoryLocalData, run_rounds
from genomesh.testing.gwas import split_nodes

PARAMS = {"trait": "quantitative", "covariates": ["sex", "age"], "min_mac": 0}


def _rows(nodes) -> pd.DataFrame:
    result, _ = run_rounds(GWAS, PARAMS, nodes)
    return pd.DataFrame(result["table"])


def test_withdrawn_participant__changes_the_next_result(cohort) -> None:
    nodes, _ = split_nodes(cohort.individuals, cohort.variants, cohort.dosages)
    before = _rows(nodes)
    # the node's guard drops a withdrawn person: its LocalData no longer shows them
    people, variants, dosages = nodes["node-2"]._data["ds-2"]
    nodes["node-2"] = InMemoryLocalData(
        {"ds-2": (people.iloc[1:], variants, np.ascontiguousarray(dosages[:, 1:]))}
    )
    after = _rows(nodes)
    assert (after.OBS_CT == before.OBS_CT - 1).all()
    both = after.BETA.notna() & before.BETA.notna()
    assert (after.BETA[both] != before.BETA[both]).mean() > 0.9


def test_distributed_scheduler__same_numbers(cohort) -> None:
    distributed = pytest.importorskip("distributed")
    nodes, _ = split_nodes(cohort.individuals, cohort.variants, cohort.dosages)
    threads = _rows(nodes)
    with (
        distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                 dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):  # fmt: skip
        for data in nodes.values():
            data._scheduler = client.get
        on_cluster = _rows(nodes)
    pd.testing.assert_frame_equal(threads, on_cluster, check_exact=False, rtol=1e-12)


def test_sparse_and_dense_dosages__same_numbers(cohort) -> None:
    """The kernel over the sparse layout (non-zero and missing calls per variant) gives the
    dense layout's results, with missing genotypes and people left out for a missing age."""
    rng = np.random.default_rng(4)
    dosages = cohort.dosages.copy()
    dosages[rng.random(dosages.shape) < 0.002] = -1
    people = cohort.individuals.copy()
    people.loc[people.index[rng.random(len(people)) < 0.05], "age"] = np.nan
    frames = []
    for sparse in (True, False):
        nodes, _ = split_nodes(people, cohort.variants, dosages, sparse=sparse)
        frames.append(_rows(nodes))
    assert (frames[0].OBS_CT.max() > frames[0].OBS_CT).any()  # missing calls were used
    pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=False, rtol=1e-12)


def test_pc_scores_beyond_the_secure_bound__refused(cohort) -> None:
    nodesets.set_ledger(nodesets.InMemoryNodeSetLedger())
    nodes, panel = split_nodes(cohort.individuals, cohort.variants, cohort.dosages, panel=200)
    keys = [
        f"22:{p}:{r}:{a}"
        for p, r, a in cohort.variants[["pos", "ref", "alt"]].itertuples(index=False)
    ]
    reference = reference_loadings(panel, variant_keys=keys, n_pcs=2)
    params = {
        **PARAMS,
        "mode": "secure",
        "n_pcs": 2,
        "pcs_reference": reference,
        "covariate_bound": 80.0,
    }
    with pytest.raises(InvalidInputError, match="PC score\\) exceeds covariate_bound 80"):
        run_rounds(GWAS, params, nodes)


def test_different_variant_sets__union_with_absent_datasets_left_out(cohort) -> None:
    from genomesh.testing.gwas import design_matrix, naive_linear, pooled

    nodes, _ = split_nodes(cohort.individuals, cohort.variants, cohort.dosages)
    people, variants, dosages = nodes["node-3"]._data["ds-3"]
    keep = np.arange(len(variants)) % 10 != 0  # node 3 lacks every tenth variant
    nodes["node-3"] = InMemoryLocalData(
        {"ds-3": (people, variants[keep], np.ascontiguousarray(dosages[keep]))}
    )
    result, state = run_rounds(GWAS, PARAMS, nodes)
    assert "variants_digest" not in state  # the sites differ: the hub sent the union
    rows = pd.DataFrame(result["table"])
    assert len(rows) == len(variants)
    absent = rows.iloc[::10]
    assert (absent.DATASETS == "ds-1,ds-2").all()
    full, _ = split_nodes(cohort.individuals, cohort.variants, cohort.dosages)
    two = {n: d for n, d in full.items() if n != "node-3"}
    everyone, G, sites = pooled(two)
    C = design_matrix(everyone, sites, ["sex", "age"], None)
    ref = naive_linear(G[::10], C, everyone.quantitative.to_numpy(float))
    ok = np.isfinite(ref["beta"])
    np.testing.assert_allclose(absent.BETA.to_numpy()[ok], ref["beta"][ok], rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(absent.OBS_CT.to_numpy()[ok], ref["n"][ok])


def test_logistic_trait_from_a_phenotype_term(cohort) -> None:
    nodes, _ = split_nodes(cohort.individuals, cohort.variants, cohort.dosages)
    term = "HP:0000822"  # hypertension, recorded for part of the simulated people
    params = {"trait": term, "model": "logistic", "covariates": ["sex", "age"], "min_mac": 0,
              "top_max": 0}  # fmt: skip
    result, _ = run_rounds(GWAS, params, nodes)
    cases = sum(
        term in terms
        for d in nodes.values()
        for terms in d.individuals(d.dataset_ids[0]).phenotypes
    )
    assert 5 < cases < 1495
    assert len(result_rows(result)) == len(cohort.variants)
