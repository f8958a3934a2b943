"""`meta` mode against METAL's formulas computed here, and the meta vs pooled comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from genomesh.analysis.gwas import GWAS
from genomesh.analysis.gwas.compare import compare_modes
from genomesh.analysis.results import result_rows
from genomesh.testing.federation import run_rounds
from genomesh.testing.gwas import design_matrix, naive_linear

PARAMS = {"trait": "quantitative", "covariates": ["sex", "age"], "min_mac": 0}


@pytest.fixture(scope="module")
def meta_result(nodes) -> dict:
    result, _ = run_rounds(GWAS, {**PARAMS, "mode": "meta"}, nodes)
    return result


def test_meta__equals_metal_formulas(nodes, meta_result) -> None:
    betas, ses, ns = [], [], []
    for data in nodes.values():
        (ds,) = data.dataset_ids
        people = data.individuals(ds).assign(site=ds)
        C = design_matrix(people, [ds], ["sex", "age"], None)
        ref = naive_linear(data.dosages(ds).compute(), C, people.quantitative.to_numpy(float))
        betas.append(ref["beta"])
        ses.append(ref["se"])
        ns.append(ref["n"])
    B, S = np.array(betas), np.array(ses)
    ok = np.isfinite(B).all(axis=0)  # variants every study could estimate (not monomorphic)
    assert ok.sum() > 500
    B, S = B[:, ok], S[:, ok]
    # METAL STDERR scheme, written out independently
    w = 1 / S**2
    beta = (w * B).sum(0) / w.sum(0)
    se = 1 / np.sqrt(w.sum(0))
    z = beta / se
    p = 2 * stats.norm.cdf(-np.abs(z))
    Q = (w * (B - beta) ** 2).sum(0)
    I2 = np.clip((Q - 2) / Q, 0, None)
    rows = pd.DataFrame(meta_result["table"])[ok]
    np.testing.assert_allclose(rows.BETA, beta, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(rows.SE, se, rtol=1e-6)
    np.testing.assert_allclose(rows.Z_STAT, z, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(rows.P, p, rtol=1e-6)
    np.testing.assert_allclose(rows.Q, Q, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(rows.I2, I2, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(rows.OBS_CT, np.array(ns)[:, ok].sum(0))
    all_z = pd.DataFrame(meta_result["table"]).Z_STAT.dropna().to_numpy()
    lam = np.median(all_z**2) / stats.chi2.ppf(0.5, 1)
    assert meta_result["lambda_gc"] == pytest.approx(lam, rel=1e-9)
    assert set(rows.METHOD) == {"ivw"}


def test_meta_vs_pooled__agree_closely_and_report_differences(nodes, meta_result) -> None:
    pooled_result, _ = run_rounds(GWAS, PARAMS, nodes)
    report = compare_modes(result_rows(meta_result), result_rows(pooled_result))
    assert report["variants"] > 1000
    assert report["beta_correlation"] > 0.95
    assert report["log10p_correlation"] > 0.95
    assert report["loci_meta"] >= 1 and report["loci_pooled"] >= 1
    # loci are reported on one side only when they are significant on that side only
    for locus in report["only_pooled"]:
        assert locus["P"] < 5e-8


def test_meta_logistic__equals_statsmodels_per_dataset_then_metal(nodes) -> None:
    import statsmodels.api as sm

    params = {"trait": "binary", "model": "logistic", "covariates": ["sex", "age"], "mode": "meta"}
    result, _ = run_rounds(GWAS, params, nodes)
    rows = pd.DataFrame(result["table"])
    assert set(rows.METHOD) == {"ivw"}
    full = rows[rows.DATASETS == "ds-1,ds-2,ds-3"]
    assert len(full) >= 100, len(full)
    picked = full.index.to_numpy()[:: max(1, len(full) // 40)]  # ~40 variants all three fit
    betas, ses = [], []
    for data in nodes.values():
        (ds,) = data.dataset_ids
        people = data.individuals(ds).assign(site=ds)
        C = design_matrix(people, [ds], ["sex", "age"], None)
        g = data.dosages(ds).compute()[picked].astype(float)
        y = people.binary.to_numpy(float)
        b, s = [], []
        for row in g:
            fit = sm.GLM(y, np.column_stack([C, row]), family=sm.families.Binomial()).fit(tol=1e-12)
            b.append(fit.params[-1])
            s.append(fit.bse[-1])
        betas.append(b)
        ses.append(s)
    B, S = np.array(betas), np.array(ses)
    w = 1 / S**2
    beta = (w * B).sum(0) / w.sum(0)
    np.testing.assert_allclose(rows.BETA[picked].astype(float), beta, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(rows.SE[picked].astype(float), 1 / np.sqrt(w.sum(0)), rtol=1e-5)
