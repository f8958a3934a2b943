"""`meta` mode: per-dataset estimates combined by fixed-effect inverse-variance weighting.

METAL's STDERR scheme (Willer, Li & Abecasis 2010, Bioinformatics 26:2190): with w_i = 1/SE_i²

    beta = Σ w_i beta_i / Σ w_i,   SE = sqrt(1 / Σ w_i),   Z = beta / SE,   P = 2 Φ(-|Z|)

heterogeneity by Cochran's Q = Σ w_i (beta_i - beta)² on (studies - 1) df and
I² = max(0, (Q - df) / Q) (Higgins & Thompson 2002), and genomic control
λ = median(Z²) / 0.4549 (the median of χ²₁; Devlin & Roeder 1999).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from genomesh.analysis.gwas.output import LOGISTIC_COLUMNS, build_table, floats
from genomesh.analysis.protocol import LocalReply

CHI2_MEDIAN = float(stats.chi2.ppf(0.5, 1))
META_COLUMNS = [*LOGISTIC_COLUMNS, "Q", "I2", "HET_P"]


@dataclass
class MetaResult:
    beta: np.ndarray
    se: np.ndarray
    z: np.ndarray
    p: np.ndarray
    Q: np.ndarray
    I2: np.ndarray
    het_p: np.ndarray
    n: np.ndarray
    n_studies: np.ndarray
    lambda_gc: float


def ivw(betas: np.ndarray, ses: np.ndarray, ns: np.ndarray | None = None) -> MetaResult:
    """Combine studies x variants arrays (NaN = study absent for that variant)."""
    ok = np.isfinite(betas) & np.isfinite(ses) & (ses > 0)
    w = np.where(ok, 1.0 / np.where(ok, ses, 1.0) ** 2, 0.0)
    b = np.where(ok, betas, 0.0)
    sw = w.sum(axis=0)
    k = ok.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.where(sw > 0, (w * b).sum(axis=0) / sw, np.nan)
        se = np.where(sw > 0, np.sqrt(1.0 / sw), np.nan)
        z = beta / se
        Q = np.where(k > 0, (w * (b - np.nan_to_num(beta)) ** 2).sum(axis=0), np.nan)
        df = k - 1
        I2 = np.where((k > 1) & (Q > 0), np.maximum(0.0, (Q - df) / Q), 0.0)
        het_p = np.where(k > 1, stats.chi2.sf(Q, np.maximum(df, 1)), np.nan)
    p = 2.0 * stats.norm.sf(np.abs(z))
    finite = np.isfinite(z)
    lam = float(np.median(z[finite] ** 2) / CHI2_MEDIAN) if finite.any() else float("nan")
    n = np.where(ok, ns, 0).sum(axis=0) if ns is not None else np.zeros(betas.shape[1], np.int64)
    return MetaResult(beta, se, z, p, Q, I2, het_p, n, k, lam)


def combine(state: dict, replies: Mapping[str, LocalReply]) -> dict[str, Any]:
    """The hub's meta result from the nodes' per-dataset estimates."""
    V = len(state["variants"])
    names, betas, ses, ns = [], [], [], []
    for reply in replies.values():
        for ds in reply.values.get("datasets", []):
            names.append(str(ds))
            betas.append(np.asarray(reply.arrays[f"{ds}.beta"], dtype=np.float64))
            ses.append(np.asarray(reply.arrays[f"{ds}.se"], dtype=np.float64))
            ns.append(np.asarray(reply.arrays[f"{ds}.n"], dtype=np.int64))
    B = np.vstack(betas) if betas else np.zeros((0, V))
    S = np.vstack(ses) if ses else np.zeros((0, V))
    N = np.vstack(ns) if ns else np.zeros((0, V), np.int64)
    res = ivw(B, S, N)
    present = np.isfinite(B) & np.isfinite(S)
    table = build_table(
        state["variants"], stat_name="Z_STAT", beta=res.beta, se=res.se, stat=res.z, p=res.p,
        obs_ct=res.n, errcode=["." if k else "NO_STUDY" for k in res.n_studies], method="ivw",
        datasets={d: present[i] for i, d in enumerate(names)},
    )  # fmt: skip
    table.update(Q=floats(res.Q), I2=floats(res.I2), HET_P=floats(res.het_p))
    return {"table": table, "columns": META_COLUMNS, "lambda_gc": res.lambda_gc}
