"""Node side of the logistic rounds: the null model's Newton pieces and per-variant fits.

`null`: at the hub's coefficients b for the covariates only, per dataset
    gradient C'(y - mu), information C'WC (W = mu(1 - mu)), log-likelihood.
`wald`: for each top hit t with the hub's coefficients b_t over X = [C, g] (people with g
    observed), the information X'WX, score X'(y - mu) and log-likelihood; when the hub also
    sends I_t⁻¹ (the pooled inverse information at b_t, for Firth's correction), the Firth
    score X'(y - mu + h (1/2 - mu)) with h_i = w_i x_i' I_t⁻¹ x_i, the diagonal of the
    pooled hat matrix restricted to this node's people. Only datasets that passed the
    disclosure screen for that variant in the score round take part in its fit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from genomesh.analysis.gwas import disclosure, kernel
from genomesh.analysis.gwas.design import dataset_keys
from genomesh.analysis.gwas.node_stats import dataset_design, min_mac_for
from genomesh.analysis.gwas.params import GwasParams
from genomesh.analysis.protocol import LocalReply, RoundRequest
from genomesh.core.errors import InvalidInputError


def _mu(eta: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-eta))


def _loglik(y: np.ndarray, eta: np.ndarray) -> float:
    # log mu = -log(1 + e^-eta), log(1 - mu) = -log(1 + e^eta), computed stably
    return float(-(y * np.logaddexp(0.0, -eta) + (1 - y) * np.logaddexp(0.0, eta)).sum())


def _check_bound(C: np.ndarray, params: GwasParams) -> None:
    if params.mode == "secure" and C.size and np.abs(C).max() > params.covariate_bound:
        raise InvalidInputError(
            f"a covariate value (or PC score) exceeds covariate_bound "
            f"{params.covariate_bound:g}; secure aggregation would overflow",
            field="covariate_bound",
        )


def local(
    data: Any, request: RoundRequest, params: GwasParams, datasets: list[str], sites: list[str]
) -> LocalReply:
    phase = params.extra.get("phase")
    return (
        _null(data, params, datasets, sites)
        if phase == "null"
        else _wald(data, params, datasets, sites)
    )


def _null(data: Any, params: GwasParams, datasets: list[str], sites: list[str]) -> LocalReply:
    coef = np.asarray(params.extra.get("coef"), dtype=np.float64)
    reply = LocalReply()
    k = len(sites) + len(params.covariates) + params.n_pcs
    grad, hess = np.zeros(k), np.zeros((k, k))
    loglik = 0.0
    for ds in datasets:
        design, _ = dataset_design(data, ds, params, sites)
        _check_bound(design.C, params)
        if coef.shape != (design.C.shape[1],):
            raise InvalidInputError("null coefficients do not match the design", field="coef")
        eta = design.C @ coef
        mu = _mu(eta)
        g = design.C.T @ (design.y - mu)
        h = design.C.T @ (design.C * (mu * (1 - mu))[:, None])
        grad = grad + g
        hess = hess + h
        loglik += _loglik(design.y, eta)
        reply.contributors |= set(design.individual_ids)
    reply.arrays.update(grad=grad, hess=hess)
    reply.values["loglik"] = loglik
    return reply


def _wald(data: Any, params: GwasParams, datasets: list[str], sites: list[str]) -> LocalReply:
    top = params.extra.get("top") or []
    coefs = np.asarray(params.extra.get("coefs"), dtype=np.float64)
    invs = params.extra.get("inv") or [None] * len(top)
    allowed = params.extra.get("allowed") or [[] for _ in top]
    T = len(top)
    reply = LocalReply()
    k = None
    out: dict[str, np.ndarray] = {}
    for ds in datasets:
        design, min_count = dataset_design(data, ds, params, sites)
        _check_bound(design.C, params)
        k = design.C.shape[1]
        p = k + 1
        if not out:
            out = {"info": np.zeros((T, p, p)), "score": np.zeros((T, p)), "firth": np.zeros((T, p)),
                   "loglik": np.zeros(T)}  # fmt: skip
        if coefs.shape != (T, p):
            raise InvalidInputError(
                "per-variant coefficients do not match the design", field="coefs"
            )
        where = {key: row for row, key in enumerate(dataset_keys(data, ds))}
        rows = [where.get(key, -1) for key in top]
        use = [t for t in range(T) if rows[t] >= 0 and ds in allowed[t]]
        if not use:
            continue
        (block,) = data.compute(data.dosages(ds)[np.array([rows[t] for t in use])])
        block = np.asarray(block)[:, design.keep]
        screen = disclosure.screen_variants(
            kernel.chunk_stats(block, columns=None, R=np.zeros((design.n, 1)),
                               Q=kernel.correction_rows(design.C, design.y)),
            min_count=min_count, min_mac=min_mac_for(data, ds, params), y=design.y, k=k,
        )  # fmt: skip
        for j, t in enumerate(use):
            if not screen.ok[j]:
                reply.suppressed[f"{ds}/{top[t]}"] = disclosure.REASONS[screen.reason[j]]
                continue
            obs = block[j] >= 0
            X = np.column_stack([design.C[obs], block[j][obs].astype(np.float64)])
            y = design.y[obs]
            eta = X @ coefs[t]
            mu = _mu(eta)
            w = mu * (1 - mu)
            out["info"][t] += X.T @ (X * w[:, None])
            out["score"][t] += X.T @ (y - mu)
            out["loglik"][t] += _loglik(y, eta)
            if invs[t] is not None:
                inv = np.asarray(invs[t], dtype=np.float64)
                h = w * np.einsum("ij,jk,ik->i", X, inv, X)
                out["firth"][t] += X.T @ (y - mu + h * (0.5 - mu))
            reply.contributors |= {design.individual_ids[i] for i in np.flatnonzero(obs)}
    reply.arrays.update(out)
    return reply


def local_logistic_fits(
    data: Any, dataset_id: str, params: GwasParams, union: Mapping[str, int], present: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`meta` mode: this dataset's own logistic fit of every variant it may disclose
    (`present`, over the hub's variants), by batched Newton steps over a chunk of variants
    at a time; (beta, SE, N) per hub variant, NaN where not fitted or not converged."""
    design, _ = dataset_design(data, dataset_id, params, [dataset_id])
    C, y = design.C, design.y
    k = C.shape[1]
    coef0 = np.zeros(k)
    for _ in range(params.max_iter):  # the dataset's own null model: starting values
        mu = _mu(C @ coef0)
        step = np.linalg.solve(C.T @ (C * (mu * (1 - mu))[:, None]), C.T @ (y - mu))
        coef0 += step
        if np.abs(step).max() < params.tolerance:
            break
    V = len(union)
    beta, se, nobs = np.full(V, np.nan), np.full(V, np.nan), np.zeros(V, np.int64)
    keys = dataset_keys(data, dataset_id)
    pos = np.array([union.get(key, -1) for key in keys], dtype=np.int64)
    rows = np.flatnonzero((pos >= 0) & present[np.maximum(pos, 0)])
    dosages = data.dosages(dataset_id, chunk_variants=params.chunk_variants)
    step_rows = 512
    for start in range(0, len(rows), step_rows):
        chunk = rows[start : start + step_rows]
        (block,) = data.compute(dosages[chunk])
        g = np.asarray(block)[:, design.keep]
        b, s, n = _batched_newton(C, y, g, coef0, params)
        beta[pos[chunk]], se[pos[chunk]], nobs[pos[chunk]] = b, s, n
    return beta, se, nobs


def _solve_each(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Batched solve of A x = b; a singular matrix gives NaN for its own variant only."""
    try:
        return np.linalg.solve(A, B[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        out = np.full_like(B, np.nan)
        for i in range(len(A)):
            with contextlib.suppress(np.linalg.LinAlgError):
                out[i] = np.linalg.solve(A[i], B[i])
        return out


def _batched_newton(
    C: np.ndarray, y: np.ndarray, g: np.ndarray, coef0: np.ndarray, params: GwasParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-variant logistic regression of y on [C, g_v] (people with g_v observed)."""
    m, k = g.shape[0], C.shape[1]
    obs = (g >= 0).astype(np.float64)
    G = np.where(g >= 0, g, 0).astype(np.float64)
    b = np.tile(np.append(coef0, 0.0), (m, 1))
    observed_g = np.where(obs > 0, G, np.nan)
    active = np.nanmax(observed_g, axis=1, initial=-1) > np.nanmin(observed_g, axis=1, initial=3)
    b[~active, k] = np.nan  # no variation among the observed: nothing to fit
    info = np.zeros((m, k + 1, k + 1))
    for _ in range(params.max_iter):
        idx = np.flatnonzero(active)
        if not len(idx):
            break
        eta = b[idx, :k] @ C.T + b[idx, k:] * G[idx]
        mu = _mu(eta)
        w = mu * (1 - mu) * obs[idx]
        r = (y - mu) * obs[idx]
        wg = w * G[idx]
        I = np.empty((len(idx), k + 1, k + 1))  # noqa: E741 (the information matrix)
        I[:, :k, :k] = np.einsum("vi,ij,ik->vjk", w, C, C)
        I[:, :k, k] = I[:, k, :k] = wg @ C
        I[:, k, k] = (wg * G[idx]).sum(axis=1)
        U = np.column_stack([r @ C, (r * G[idx]).sum(axis=1)])
        step = _solve_each(I, U)
        b[idx] += np.clip(step, -5.0, 5.0)
        info[idx] = I
        done = np.abs(step).max(axis=1) < params.tolerance * 100
        diverged = ~np.isfinite(step).all(axis=1) | (np.abs(b[idx, k]) > 15.0)
        b[idx[diverged], k] = np.nan
        active[idx[done | diverged]] = False
    b[active, k] = np.nan  # did not converge
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.array([np.linalg.pinv(I)[k, k] for I in info]))  # noqa: E741
    beta = b[:, k]
    se[~np.isfinite(beta)] = np.nan
    return beta, se, obs.sum(axis=1).astype(np.int64)
