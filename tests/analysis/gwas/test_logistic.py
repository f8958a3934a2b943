"""Logistic GWAS: federated null model and score test, Wald and Firth fits for top hits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from genomesh.analysis.gwas import GWAS
from genomesh.analysis.protocol import RoundRequest
from genomesh.core.errors import AccessDeniedError
from genomesh.testing.federation import InMemoryLocalData, run_rounds
from genomesh.testing.gwas import (
    design_matrix,
    naive_firth,
    pooled,
    run_plink2_glm,
    split_nodes,
    write_vcf,
)

from .conftest import Cohort, requires_plink2

LOGIT = {"trait": "binary", "model": "logistic", "covariates": ["sex", "age"], "min_mac": 0}


@pytest.fixture(scope="module")
def logistic(nodes) -> pd.DataFrame:
    result, _ = run_rounds(GWAS, {**LOGIT, "top_p": 1e-4, "top_max": 20}, nodes)
    return pd.DataFrame(result["table"])


def _plink2(tmp_path: Path, nodes, variants, extra=()) -> pd.DataFrame:
    people, G, sites = pooled(nodes)
    C = design_matrix(people, sites, ["sex", "age"], None)
    vcf = write_vcf(tmp_path / "pooled.vcf", variants, people.individual_id.tolist(), G)
    return run_plink2_glm(
        tmp_path, genotypes=vcf, people=people, y=people.binary.to_numpy(float),
        covariates=C[:, 1:], covariate_names=[f"S{i}" for i in range(1, C.shape[1])],
        binary=True, extra=extra,
    )  # fmt: skip


def test_score_test__equals_independent_pooled_score_test(nodes, logistic) -> None:
    people, G, sites = pooled(nodes)
    C = design_matrix(people, sites, ["sex", "age"], None)
    y = people.binary.to_numpy(float)
    null = sm.GLM(y, C, family=sm.families.Binomial()).fit(tol=1e-12)
    mu = null.fittedvalues
    w = mu * (1 - mu)
    A = C.T @ (C * w[:, None])
    score = logistic[logistic.METHOD == "score"]
    idx = score.index.to_numpy()
    g = G[idx].astype(float)
    U = g @ (y - mu)
    V = (g * g) @ w - np.einsum(
        "vi,iv->v", g @ (C * w[:, None]), np.linalg.solve(A, (g @ (C * w[:, None])).T)
    )
    ok = V > 1e-9
    assert ok.sum() > 1000
    z = U[ok] / np.sqrt(V[ok])
    np.testing.assert_allclose(score.Z_STAT.to_numpy()[ok], z, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(score.P.to_numpy()[ok], 2 * stats.norm.sf(np.abs(z)), rtol=1e-5)


def _assert_fits(
    rows: pd.DataFrame, plink: pd.DataFrame, method: str, rtol: float = 1e-4, log_p: bool = False
) -> pd.DataFrame:
    fits = rows[method == rows.METHOD].merge(plink, on="POS", suffixes=("", "_pl"))
    assert len(fits) > 0
    for col in ("BETA", "SE", "Z_STAT"):
        np.testing.assert_allclose(fits[col], fits[f"{col}_pl"], rtol=rtol, err_msg=col)
    if log_p:
        np.testing.assert_allclose(-np.log10(fits.P), -np.log10(fits.P_pl), rtol=rtol)
    else:
        np.testing.assert_allclose(fits.P, fits.P_pl, rtol=rtol)
    np.testing.assert_array_equal(fits.OBS_CT, fits.OBS_CT_pl)
    return fits


@requires_plink2
def test_wald_for_top_hits__equals_plink2_logistic(
    tmp_path, nodes, cohort: Cohort, logistic
) -> None:
    fits = _assert_fits(logistic, _plink2(tmp_path, nodes, cohort.variants), "wald")
    assert len(fits) == 20
    assert (fits["FIRTH?"] == "N").all()
    assert logistic[logistic.METHOD == "wald"].P.max() < 1e-4


@requires_plink2
def test_firth__equals_plink2_firth(tmp_path, nodes, cohort: Cohort) -> None:
    result, _ = run_rounds(GWAS, {**LOGIT, "top_p": 1e-6, "top_max": 5, "firth": "always"}, nodes)
    rows = pd.DataFrame(result["table"])
    fits = _assert_fits(rows, _plink2(tmp_path, nodes, cohort.variants, extra=["firth"]), "firth")
    assert len(fits) == 5


@requires_plink2
def test_separation__falls_back_to_firth_like_plink2(tmp_path, cohort: Cohort) -> None:
    dosages = cohort.dosages.copy()
    y = cohort.individuals.binary.to_numpy()
    v = 5
    carriers = np.flatnonzero(y == 1)[::5][:30]  # thirty carriers, all of them cases
    dosages[v] = 0
    dosages[v, carriers] = 1
    nodes, _ = split_nodes(cohort.individuals, cohort.variants, dosages)
    result, _ = run_rounds(GWAS, {**LOGIT, "top_p": 1e-6, "top_max": 30}, nodes)
    rows = pd.DataFrame(result["table"])
    assert rows.METHOD.iloc[v] == "firth"
    plink = _plink2(tmp_path, nodes, cohort.variants)
    assert plink["FIRTH?"].iloc[v] == "Y"
    # plink2 stops its Firth iterations earlier on this separated variant (beta 6.3798 vs
    # 6.3800 at the float64 optimum): within 2.5e-4 of plink2, 1e-7 of a float64 Firth fit
    _assert_fits(rows, plink, "firth", rtol=2.5e-4, log_p=True)
    _assert_fits(rows, plink, "wald")
    people, G, sites = pooled(nodes)
    X = np.column_stack([design_matrix(people, sites, ["sex", "age"], None), G[v].astype(float)])
    beta, se = naive_firth(X, people.binary.to_numpy(float))
    np.testing.assert_allclose([rows.BETA.iloc[v], rows.SE.iloc[v]], [beta, se], rtol=1e-7)


@pytest.fixture(scope="module")
def with_missing(cohort: Cohort) -> tuple[dict, pd.DataFrame]:
    """3 % of calls missing at random (every variant has some), run with the hub state
    round-tripped through strict JSON after every round (`run_rounds`' default)."""
    dosages = cohort.dosages.copy()
    dosages[np.random.default_rng(4).random(dosages.shape) < 0.03] = -1
    nodes, _ = split_nodes(cohort.individuals, cohort.variants, dosages)
    result, _ = run_rounds(GWAS, {**LOGIT, "top_p": 1e-4, "top_max": 8}, nodes)
    return nodes, pd.DataFrame(result["table"])


def test_missing_calls__json_state__equals_statsmodels_complete_cases(with_missing) -> None:
    """Variants made constant by their missing calls are NA (their statistics once made the
    JSON state fail); every other row equals an independent fit over the people observed."""
    nodes, rows = with_missing
    people, G, sites = pooled(nodes)
    C = design_matrix(people, sites, ["sex", "age"], None)
    y = people.binary.to_numpy(float)
    # a person enters a variant's row when called there, in a dataset that contributed
    # (a dataset withholds a variant whose missing calls are too few to publish)
    site = people.site.to_numpy()
    observed = (G >= 0) & np.array([np.isin(site, d.split(",")) for d in rows.DATASETS])
    assert (rows.DATASETS != "ds-1,ds-2,ds-3").sum() < 10
    np.testing.assert_array_equal(rows.OBS_CT, observed.sum(axis=1))
    assert rows.OBS_CT.max() < len(people)
    constant = np.array([np.ptp(g[o]) == 0 for g, o in zip(G, observed, strict=True)])
    assert constant.sum() >= 3
    na = rows.BETA.isna().to_numpy()
    np.testing.assert_array_equal(na, constant)
    assert (rows.ERRCODE[constant] == "CONST_ALLELE").all() and rows.P[constant].isna().all()
    # score rows: U and V at the all-people null fit, C'WC over the people observed
    mu = sm.GLM(y, C, family=sm.families.Binomial()).fit(tol=1e-12).fittedvalues
    w = mu * (1 - mu)
    score = rows[(rows.METHOD == "score") & ~na]
    assert len(score) > 1000
    check = score.index[::25].union(score.index[score.DATASETS != "ds-1,ds-2,ds-3"])
    for v, z_stat in zip(check, score.Z_STAT[check], strict=True):
        o, g = observed[v], G[v, observed[v]].astype(float)
        Co, wo = C[o][:, np.abs(C[o]).sum(axis=0) > 0], w[o]
        cg = Co.T @ (wo * g)
        var = g @ (wo * g) - cg @ np.linalg.solve(Co.T @ (Co * wo[:, None]), cg)
        np.testing.assert_allclose(z_stat, g @ (y[o] - mu[o]) / np.sqrt(var), rtol=1e-6)
    # Wald rows (the top hits): a logistic fit of y on [C, g] over the people observed
    wald = rows[rows.METHOD == "wald"]
    assert len(wald) == 8
    for v, beta, se in zip(wald.index, wald.BETA, wald.SE, strict=True):
        o = observed[v]
        X = np.column_stack([C[o][:, np.abs(C[o]).sum(axis=0) > 0], G[v, o].astype(float)])
        fit = sm.GLM(y[o], X, family=sm.families.Binomial()).fit(tol=1e-12)
        np.testing.assert_allclose([beta, se], [fit.params[-1], fit.bse[-1]], rtol=1e-6)


@requires_plink2
def test_missing_calls__wald_equals_plink2(tmp_path, cohort: Cohort, with_missing) -> None:
    nodes, rows = with_missing
    fits = _assert_fits(rows, _plink2(tmp_path, nodes, cohort.variants), "wald")
    assert len(fits) == 8 and (fits.OBS_CT < 1500).all()


def test_planted_binary_variants_are_found(logistic, cohort: Cohort) -> None:
    causal = {c["pos"] for c in cohort.truth["binary"]["causal"]}
    assert (logistic[logistic.POS.isin(causal)].P < 1e-6).sum() >= 1


def test_too_few_cases__dataset_refused() -> None:
    n = 40
    rng = np.random.default_rng(0)
    people = pd.DataFrame({
        "individual_id": [f"P{i}" for i in range(n)], "sex": rng.choice(["male", "female"], n),
        "age": rng.integers(20, 80, n).astype(float), "binary": [1] * 3 + [0] * (n - 3),
    })  # fmt: skip
    variants = pd.DataFrame({"variant_index": [0], "chrom": "1", "pos": [10], "variant_id": ".",
                             "ref": "A", "alt": "G"})  # fmt: skip
    data = InMemoryLocalData({"d": (people, variants, np.ones((1, n), np.int8))}, min_count=5)
    with pytest.raises(AccessDeniedError, match="fewer than 5 analysed cases"):
        GWAS.local(data, RoundRequest("gwas", "t", 0, ("d",), {**LOGIT, "phase": "setup"}))
