"""Linear pooled GWAS: equal to a naive float64 pooled reference and to plink2 --glm."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genomesh.analysis.gwas import GWAS, reference_loadings
from genomesh.core.errors import AccessDeniedError, InvalidInputError
from genomesh.testing.federation import InMemoryLocalData, run_rounds
from genomesh.testing.gwas import (
    design_matrix,
    naive_linear,
    pooled,
    run_plink2_glm,
    split_nodes,
    write_vcf,
)

from .conftest import Cohort, requires_plink2

PARAMS = {"trait": "quantitative", "covariates": ["sex", "age"], "min_mac": 0}


def _frame(result: dict) -> pd.DataFrame:
    return pd.DataFrame(result["table"])


def _reference(nodes, covariates=("sex", "age"), pcs=None, trait="quantitative"):
    people, G, sites = pooled(nodes)
    C = design_matrix(people, sites, covariates, pcs)
    return people, G, sites, C, naive_linear(G, C, people[trait].to_numpy(float))


def _assert_close(rows: pd.DataFrame, ref: dict, rtol: float) -> None:
    ok = np.isfinite(ref["beta"])
    assert ok.sum() > 0.9 * len(rows)
    assert rows.BETA.notna().to_numpy().tolist() == ok.tolist()
    se = ref["se"][ok]
    # beta relative to its size, or to its SE for a beta indistinguishable from 0
    diff = np.abs(rows.BETA.to_numpy()[ok] - ref["beta"][ok])
    scale = np.maximum(np.abs(ref["beta"][ok]), se)
    assert (diff <= rtol * scale).all(), f"max relative beta error {(diff / scale).max():.2e}"
    np.testing.assert_allclose(rows.SE.to_numpy()[ok], se, rtol=rtol)
    np.testing.assert_array_equal(rows.OBS_CT.to_numpy()[ok], ref["n"][ok])


@pytest.fixture(scope="module")
def pooled_result(nodes) -> pd.DataFrame:
    result, _ = run_rounds(GWAS, PARAMS, nodes)
    return _frame(result)


@pytest.fixture(scope="module")
def reference(nodes):
    return _reference(nodes)


def test_pooled__equals_naive_float64_reference(pooled_result, reference) -> None:
    _assert_close(pooled_result, reference[4], rtol=1e-6)
    assert set(pooled_result.METHOD) == {"ols"}
    assert pooled_result.DATASETS.iloc[0] == "ds-1,ds-2,ds-3"


def _plink2(tmp_path: Path, people, G, sites, C, variants) -> pd.DataFrame:
    vcf = write_vcf(tmp_path / "pooled.vcf", variants, people.individual_id.tolist(), G)
    return run_plink2_glm(
        tmp_path, genotypes=vcf, people=people, y=people["quantitative"].to_numpy(float),
        covariates=C[:, 1:], covariate_names=[f"S{i}" for i in range(1, C.shape[1])],
    )  # fmt: skip


def _assert_plink2(rows: pd.DataFrame, plink: pd.DataFrame, *, only_all_sites: bool) -> None:
    merged = rows.merge(plink, on="POS", suffixes=("", "_pl"))
    assert len(merged) == len(rows)
    if only_all_sites:
        merged = merged[merged.DATASETS == "ds-1,ds-2,ds-3"]
        assert len(merged) > 0.9 * len(rows)
    assert (merged.BETA.isna() == merged.BETA_pl.isna()).all()
    both = merged[merged.BETA.notna()]
    for col in ("BETA", "SE", "T_STAT", "P"):  # plink2 prints 6 significant digits
        np.testing.assert_allclose(both[col], both[f"{col}_pl"], rtol=1e-5, err_msg=col)
    np.testing.assert_array_equal(both.OBS_CT, both.OBS_CT_pl)
    assert (both.A1_pl == both.A1).all()


@requires_plink2
def test_pooled__equals_plink2_glm(tmp_path, pooled_result, reference, cohort: Cohort) -> None:
    people, G, sites, C, _ = reference
    plink = _plink2(tmp_path, people, G, sites, C, cohort.variants)
    _assert_plink2(pooled_result, plink, only_all_sites=False)


@requires_plink2
def test_missing_genotypes__equal_plink2(tmp_path, cohort: Cohort) -> None:
    rng = np.random.default_rng(11)
    dosages = cohort.dosages.copy()
    dosages[rng.random(dosages.shape) < 0.03] = -1
    nodes, _ = split_nodes(cohort.individuals, cohort.variants, dosages, n_nodes=3)
    result, _ = run_rounds(GWAS, PARAMS, nodes)
    rows = _frame(result)
    people, G, sites, C, ref = _reference(nodes)
    assert (len(people) > rows.OBS_CT).mean() > 0.9  # most variants lost people
    full = (rows.DATASETS == "ds-1,ds-2,ds-3").to_numpy()
    _assert_close(rows[full], {k: v[full] for k, v in ref.items()}, rtol=1e-6)
    _assert_plink2(
        rows, _plink2(tmp_path, people, G, sites, C, cohort.variants), only_all_sites=True
    )


def test_pcs_from_reference_panel__equal_naive_projection(cohort: Cohort) -> None:
    nodes, panel = split_nodes(
        cohort.individuals, cohort.variants, cohort.dosages, n_nodes=3, panel=300
    )
    keys = [
        f"22:{p}:{r}:{a}"
        for p, r, a in cohort.variants[["pos", "ref", "alt"]].itertuples(index=False)
    ]
    reference = reference_loadings(panel, variant_keys=keys, n_pcs=3)
    result, _ = run_rounds(GWAS, {**PARAMS, "n_pcs": 3, "pcs_reference": reference}, nodes)
    people, G, sites = pooled(nodes)
    # independent projection: standardise with the panel's means/scales, missing -> 0
    rows = np.array([keys.index(k) for k in reference["variant_keys"]])
    mean, scale = np.array(reference["means"]), np.array(reference["scales"])
    z = (G[rows].astype(float) - mean[:, None]) / scale[:, None]
    scores = z.T @ np.array(reference["loadings"])
    C = design_matrix(people, sites, ["sex", "age"], scores)
    ref = naive_linear(G, C, people["quantitative"].to_numpy(float))
    out = _frame(result)
    _assert_close(out, ref, rtol=1e-6)
    assert result["covariates"][-3:] == ["PC1", "PC2", "PC3"]
    # the PCs capture population structure: PC1 separates the simulated populations
    by_pop = pd.Series(scores[:, 0]).groupby(people.population.to_numpy()).mean()
    assert by_pop.max() - by_pop.min() > 2 * scores[:, 0].std() / 2


def test_planted_variants_are_found(pooled_result, cohort: Cohort) -> None:
    causal = {c["pos"]: c for c in cohort.truth["quantitative"]["causal"]}
    hits = pooled_result[pooled_result.POS.isin(causal)]
    significant = hits[hits.P < 5e-8]
    assert len(significant) >= len(causal) // 2
    # (marginal betas may differ in sign from the planted ones: causal variants are in LD)
    top = pooled_result.nsmallest(1, "P").iloc[0]
    assert top.POS in causal or top.P < 1e-20


def test_rare_variant_is_withheld_by_the_dataset(nodes) -> None:
    result, _ = run_rounds(GWAS, {**PARAMS, "min_mac": 5}, nodes)
    rows = _frame(result)
    partial = rows[rows.DATASETS != "ds-1,ds-2,ds-3"]
    assert len(partial) > 0
    # a withheld dataset is left out of that variant's regression entirely
    people, G, _sites, C, _ = _reference(nodes)
    row = partial[partial.DATASETS.str.count(",") == 1].iloc[0]
    v = int(np.flatnonzero(rows.POS == row.POS)[0])
    keep = people.site.isin(row.DATASETS.split(",")).to_numpy()
    ref = naive_linear(G[v : v + 1, keep], C[keep], people.quantitative.to_numpy(float)[keep])
    assert keep.sum() == row.OBS_CT
    np.testing.assert_allclose(row.BETA, ref["beta"][0], rtol=1e-6)


def test_local_reply__names_withheld_variants(nodes, cohort: Cohort) -> None:
    from genomesh.analysis.protocol import RoundRequest

    data = nodes["node-1"]
    keys = [
        f"22:{p}:{r}:{a}"
        for p, r, a in cohort.variants[["pos", "ref", "alt"]].itertuples(index=False)
    ]
    params = {
        **PARAMS,
        "min_mac": 5,
        "phase": "stats",
        "sites": ["ds-1", "ds-2", "ds-3"],
        "variants": keys,
    }
    reply = GWAS.local(data, RoundRequest("gwas", "t", 1, ("ds-1",), params))
    g = data.dosages("ds-1").compute()
    ac = np.where(g < 0, 0, g).sum(axis=1)
    mac = np.minimum(ac, 2 * g.shape[1] - ac)
    rare = np.flatnonzero((mac > 0) & (mac < 5))
    assert len(rare)
    for v in rare:
        assert reply.suppressed[f"ds-1/{keys[v]}"] == "minor-allele count below the minimum"
        assert reply.arrays["gg"][v] == 0 and reply.arrays["contributes"][0, v] == 0
    assert len(reply.contributors) == g.shape[1]


def _tiny(n: int, dosages: np.ndarray) -> InMemoryLocalData:
    rng = np.random.default_rng(3)
    people = pd.DataFrame({
        "individual_id": [f"P{i}" for i in range(n)], "sex": rng.choice(["male", "female"], n),
        "age": rng.integers(20, 80, n).astype(float), "quantitative": rng.normal(size=n),
    })  # fmt: skip
    variants = pd.DataFrame({
        "variant_index": range(len(dosages)), "chrom": "22", "pos": 100 + np.arange(len(dosages)),
        "variant_id": ".", "ref": "A", "alt": "G",
    })  # fmt: skip
    return InMemoryLocalData({"tiny": (people, variants, dosages)}, min_count=5)


def test_missing_sets_one_person_apart__second_withheld() -> None:
    rng = np.random.default_rng(5)
    g = rng.integers(0, 3, size=(3, 60)).astype(np.int8)
    g[0, :6] = -1  # six missing
    g[1, :7] = -1  # the same six and one more: the difference would be one person
    g[2, 30:40] = -1  # far from both
    from genomesh.analysis.protocol import RoundRequest

    params = {
        **PARAMS,
        "phase": "stats",
        "sites": ["tiny"],
        "variants": [f"22:{100 + i}:A:G" for i in range(3)],
    }
    reply = GWAS.local(_tiny(60, g), RoundRequest("gwas", "t", 1, ("tiny",), params))
    assert reply.suppressed == {
        "tiny/22:101:A:G": "missing-genotype set too close to another variant's (differencing)"
    }
    assert reply.arrays["contributes"][0].tolist() == [1, 0, 1]


def test_too_few_missing__withheld_and_small_dataset_refused() -> None:
    from genomesh.analysis.protocol import RoundRequest

    g = np.random.default_rng(1).integers(0, 3, size=(2, 60)).astype(np.int8)
    g[0, :2] = -1
    params = {
        **PARAMS,
        "phase": "stats",
        "sites": ["tiny"],
        "variants": ["22:100:A:G", "22:101:A:G"],
    }
    reply = GWAS.local(_tiny(60, g), RoundRequest("gwas", "t", 1, ("tiny",), params))
    assert "too few individuals with a missing genotype" in reply.suppressed["tiny/22:100:A:G"]
    with pytest.raises(AccessDeniedError, match="fewer than 5 analysed individuals"):
        GWAS.local(
            _tiny(4, g[:, :4]),
            RoundRequest("gwas", "t", 0, ("tiny",), {**PARAMS, "phase": "setup"}),
        )


def test_bad_params__refused_by_field() -> None:
    with pytest.raises(InvalidInputError, match="trait"):
        GWAS.configure({"covariates": []}, {"n": ["d"]})
    with pytest.raises(InvalidInputError, match="mode must be one of"):
        GWAS.configure({"trait": "y", "mode": "magic"}, {"n": ["d"]})
    with pytest.raises(InvalidInputError, match="n_pcs > 0 needs the reference loadings"):
        GWAS.configure({"trait": "y", "n_pcs": 2}, {"n": ["d"]})
    with pytest.raises(InvalidInputError, match="a dataset id appears at two nodes"):
        GWAS.configure({"trait": "y"}, {"a": ["d"], "b": ["d"]})


def test_plain_reply__compact_and_pooled_back_exactly() -> None:
    """A node's plain reply leaves out all-zero C'g columns and sends integer sums as int32;
    the hub's pooled sums are bit for bit those of the full float64 arrays."""
    from genomesh.analysis.gwas import layout
    from genomesh.analysis.gwas.node_stats import AlignedStats

    rng = np.random.default_rng(2)
    V, k = 50, 4
    cg = np.zeros((V, k))
    cg[:, 1] = rng.integers(0, 90, V)  # this node's site intercept: allele counts
    cg[:, 3] = rng.normal(size=V) * 40  # age: not integers
    stats = AlignedStats(
        k=k, CC=np.eye(k), Cy=rng.normal(size=k), yy=3.0, cg=cg, gy=rng.normal(size=V),
        gg=rng.integers(0, 200, V).astype(float), corr=np.zeros((V, 20)),
    )  # fmt: skip
    arrays = layout.plain_arrays(stats)
    assert arrays["cg_cols"].tolist() == [1, 3] and arrays["gg"].dtype == np.int32
    sums = layout.pool_plain({"a": arrays, "b": arrays}, site_columns=2)
    np.testing.assert_array_equal(sums.cg, 2 * cg)
    np.testing.assert_array_equal(sums.gg, 2 * stats.gg)
    np.testing.assert_array_equal(sums.gy, 2 * stats.gy)


def test_solve_many__equals_numpy_and_a_singular_system_gives_nan_alone() -> None:
    from genomesh.analysis.gwas.batched import solve_many

    rng = np.random.default_rng(9)
    G = rng.normal(size=(40, 5, 9))
    A = G @ G.transpose(0, 2, 1)  # Gram matrices, like a variant's complete-case C'C
    B = rng.normal(size=(40, 5, 2))
    A[7, 3, :] = A[7, :, 3] = 0.0  # a covariate column with nobody left: singular
    X = solve_many(A, B)
    ok = np.arange(40) != 7
    np.testing.assert_allclose(X[ok], np.linalg.solve(A[ok], B[ok]), rtol=1e-10, atol=1e-12)
    assert np.isnan(X[7]).all()
