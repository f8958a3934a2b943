"""The hub's linear regression per variant from pooled sufficient statistics.

For a variant with genotype column g and covariates C (site intercepts, sex, age, PCs), the
OLS coefficient of g and its standard error follow from sums alone (Frisch-Waugh-Lovell):

    g'My = g'y - (C'g)' (C'C)⁻¹ C'y          M = I - C (C'C)⁻¹ C'
    g'Mg = g'g - (C'g)' (C'C)⁻¹ C'g
    y'My = y'y - (C'y)' (C'C)⁻¹ C'y
    beta = g'My / g'Mg,  RSS = y'My - beta g'My,  SE = sqrt(RSS / (N - k - 1) / g'Mg)

with a t distribution on N - k - 1 degrees of freedom, as plink2 --glm. Where genotypes are
missing, C'C, C'y, y'y and N are first reduced by the sums over the missing people (the
corrections), giving exactly plink2's complete-case regression for that variant. A site
with nobody left for a variant drops out of that variant's model (its column is all zero).

Like plink2, a variant whose genotype is (nearly) a linear combination of the covariates
(variance inflation factor above 50) gets NA with ERRCODE VIF_INFINITE, and one without
variation gets CONST_ALLELE.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from genomesh.analysis.gwas.batched import solve_many
from genomesh.analysis.gwas.kernel import unpack_upper

MAX_VIF = 50.0
BLOCK = 32768


@dataclass
class PooledSums:
    """The network-wide sums for one trait (k covariate columns, V variants)."""

    CC: np.ndarray  # k x k
    Cy: np.ndarray  # k
    yy: float
    cg: np.ndarray  # V x k  (C'g, complete-case: missing genotypes are 0)
    gy: np.ndarray  # V
    gg: np.ndarray  # V
    corr_idx: np.ndarray  # r variant indices with corrections
    corr: np.ndarray  # r x q: sums over the missing people of [C, y, cc', Cy, y²]
    site_columns: int  # the first `site_columns` columns of C are site intercepts

    @property
    def k(self) -> int:
        return self.CC.shape[0]


@dataclass
class LinearResult:
    beta: np.ndarray
    se: np.ndarray
    t: np.ndarray
    p: np.ndarray
    obs_ct: np.ndarray  # int64
    errcode: list[str]


def split_corrections(corr: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """(C sums, y sum, C C' (r x k x k), C y sums, y² sums) from correction rows."""
    nc = k * (k + 1) // 2
    c = corr[:, :k]
    y = corr[:, k]
    cc = unpack_upper(corr[:, k + 1 : k + 1 + nc], k)
    cy = corr[:, k + 1 + nc : k + 1 + nc + k]
    yy = corr[:, -1]
    return c, y, cc, cy, yy


def solve_linear(sums: PooledSums) -> LinearResult:
    """beta, SE, T_STAT, P, OBS_CT and ERRCODE per variant."""
    V, k = len(sums.gg), sums.k
    n_total = float(np.trace(sums.CC[: sums.site_columns, : sums.site_columns]))
    beta, se = np.full(V, np.nan), np.full(V, np.nan)
    t, p = np.full(V, np.nan), np.full(V, np.nan)
    obs = np.full(V, round(n_total), dtype=np.int64)
    err = np.array(["."] * V, dtype=object)

    has_corr = np.zeros(V, dtype=bool)
    has_corr[sums.corr_idx] = True
    plain = np.flatnonzero(~has_corr)
    if len(plain):
        A = np.broadcast_to(sums.CC, (1, k, k))
        _fill(sums, plain, A, sums.Cy[None], np.array([sums.yy]), np.array([n_total]),
              beta, se, t, p, err)  # fmt: skip
    if len(sums.corr_idx):
        order = np.argsort(sums.corr_idx)
        idx, corr = sums.corr_idx[order], sums.corr[order]
        for start in range(0, len(idx), BLOCK):
            rows = idx[start : start + BLOCK]
            c, _ysum, cc, cy, yy = split_corrections(corr[start : start + BLOCK], k)
            A = sums.CC[None] - cc
            n_v = n_total - c[:, : sums.site_columns].sum(axis=1)
            obs[rows] = np.round(n_v).astype(np.int64)
            _fill(sums, rows, A, sums.Cy[None] - cy, sums.yy - yy, n_v, beta, se, t, p, err)
    return LinearResult(beta, se, t, p, obs, err.tolist())


def _fill(
    sums: PooledSums,
    rows: np.ndarray,
    A: np.ndarray,
    Cy: np.ndarray,
    yy: np.ndarray,
    n: np.ndarray,
    beta: np.ndarray,
    se: np.ndarray,
    t: np.ndarray,
    p: np.ndarray,
    err: np.ndarray,
) -> None:
    """Solve the variants `rows`; A (1 or len(rows)) x k x k, Cy, yy, n alike."""
    k = sums.k
    A = np.array(A, dtype=np.float64)
    # a site (or any column) with nobody left drops out: make its column inert
    empty = np.abs(np.einsum("bii->bi", A)) <= 0.0
    k_used = k - empty.sum(axis=1)
    if empty.any():
        bi, ci = np.nonzero(empty)
        A[bi, ci, ci] = 1.0
    cg = sums.cg[rows]
    if A.shape[0] == 1:
        rhs = np.column_stack([Cy[0], cg.T])  # k x (1 + r)
        X = np.linalg.solve(A[0], rhs)
        AiCy, AiCg = X[:, 0], X[:, 1:].T  # (k), (r x k)
        yMy = yy[0] - Cy[0] @ AiCy
        cgAiCy = cg @ AiCy
    else:
        rhs = np.concatenate([Cy[:, :, None], cg[:, :, None]], axis=2)  # r x k x 2
        X = solve_many(A, rhs)  # compiled; a singular system gives NaN for its variant only
        AiCy, AiCg = X[:, :, 0], X[:, :, 1]
        yMy = yy - np.einsum("bi,bi->b", Cy, AiCy)
        cgAiCy = np.einsum("bi,bi->b", cg, AiCy)
    gMg = sums.gg[rows] - np.einsum("bi,bi->b", cg, AiCg)
    gMy = sums.gy[rows] - cgAiCy
    # VIF of g against the covariates, from its centred sum of squares
    site = sums.site_columns
    g_sum = cg[:, :site].sum(axis=1)
    sst = sums.gg[rows] - g_sum**2 / np.maximum(n, 1.0)
    df = n - k_used - 1
    const = sst <= 1e-9 * np.maximum(sums.gg[rows], 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        vif = np.where(gMg > 0, sst / gMg, np.inf)
        bad_vif = ~const & ((vif > MAX_VIF) | ~np.isfinite(vif))
        good = ~const & ~bad_vif & (df > 0)
        b = gMy / gMg
        rss = yMy - b * gMy
        s = np.sqrt(rss / df / gMg)
    tt = b / s
    pp = 2.0 * stats.t.sf(np.abs(tt), np.maximum(df, 1))
    sel = rows[good]
    beta[sel], se[sel], t[sel], p[sel] = b[good], s[good], tt[good], pp[good]
    err[rows[const]] = "CONST_ALLELE"
    err[rows[bad_vif]] = "VIF_INFINITE"
