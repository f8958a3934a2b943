"""Hub side of the logistic GWAS: null model, score test, then Wald or Firth for top hits.

1. Null model (covariates only) by Newton-Raphson on the summed gradient and information,
   one round per iteration: b <- b + I(b)⁻¹ U(b).
2. Score test per variant at the null fit, from one round of sums (the same kernel as the
   linear model, with W = mu(1 - mu)): U = g'(y - mu), V = g'Wg - g'WC (C'WC)⁻¹ C'Wg with
   C'WC reduced to the people whose genotype is observed; Z = U / sqrt(V). BETA = U / V and
   SE = 1 / sqrt(V) are the one-step approximations (METHOD "score").
3. For the top hits (score P < top_p, at most top_max), the per-variant logistic model is
   fitted by Newton rounds over all nodes (METHOD "wald"). As plink2's firth-fallback, a
   fit that does not converge within max_iter Newton steps (separation) is redone with
   Firth's penalised likelihood (METHOD "firth"): each Firth step takes two rounds, one for
   the pooled information I(b), one for the Firth score given I(b)⁻¹.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import stats

from genomesh.analysis.gwas import layout, secure
from genomesh.analysis.gwas.linear import PooledSums, split_corrections
from genomesh.analysis.gwas.output import LOGISTIC_COLUMNS, build_table, floats
from genomesh.analysis.gwas.params import parse_params
from genomesh.analysis.protocol import LocalReply
from genomesh.analysis.wire import decode_array
from genomesh.core.errors import ConflictError

MAX_STEP = 5.0  # Newton steps are capped per coefficient (separation otherwise overshoots)
DIVERGED = 15.0  # |beta| beyond this without convergence: quasi-separation


def start(state: dict) -> None:
    k = len(state["sites"]) + len(state["params"]["covariates"]) + state["params"]["n_pcs"]
    state["null"] = {"coef": [0.0] * k, "iter": 0, "loglik": None}


def round_params(state: dict) -> dict[str, Any]:
    phase = state["phase"]
    if phase == "null":
        return {"coef": state["null"]["coef"]}
    if phase in ("flags", "score"):
        return {"null": {"coef": state["null"]["coef"]}}
    fits = state["fits"]
    return {
        "top": [f["key"] for f in fits],
        "coefs": [f["coef"] for f in fits],
        "inv": [f["inv"] if f["method"] == "firth" else None for f in fits],
        "allowed": [f["allowed"] for f in fits],
    }


def _inert(A: np.ndarray) -> np.ndarray:
    """A with all-zero rows/columns (a site with nobody for this variant) made identity."""
    A = np.array(A, dtype=np.float64)
    diag = np.einsum("...ii->...i", A)
    empty = np.abs(diag) <= 0
    if empty.any():
        idx = np.nonzero(empty)
        if A.ndim == 2:
            A[idx[0], idx[0]] = 1.0
        else:
            A[idx[0], idx[1], idx[1]] = 1.0
    return A


def aggregate(state: dict, replies: Mapping[str, LocalReply]) -> None:
    phase = state["phase"]
    if phase == "null":
        _null_step(state, replies)
    elif phase == "score":
        _score(state, replies)
    elif phase == "wald":
        _wald_step(state, replies)


def _k(state: dict) -> int:
    p = state["params"]
    return len(state["sites"]) + len(p["covariates"]) + p["n_pcs"]


def _totals(
    state: dict, replies: Mapping[str, LocalReply], shapes: dict[str, tuple[int, ...]]
) -> dict[str, np.ndarray]:
    """The round's arrays summed over nodes: plainly, or by unmasking in secure mode."""
    p = parse_params(state["params"])
    if p.mode != "secure":
        return {
            n: np.sum([np.asarray(r.arrays[n], dtype=np.float64) for r in replies.values()], axis=0)
            for n in shapes
        }
    segs = layout.logistic_segments(
        state["phase"], _k(state), len(state.get("fits", [])), cb=p.covariate_bound,
        n_max=p.max_participants,
    )  # fmt: skip
    total = secure.unmask(
        {n: r.arrays["masked"] for n, r in replies.items()}, list(state["parties"])
    )
    return layout.unpack(total, segs, shapes)


def _null_step(state: dict, replies: Mapping[str, LocalReply]) -> None:
    p = parse_params(state["params"])
    k = _k(state)
    sums = _totals(state, replies, {"grad": (k,), "hess": (k, k)})
    grad, hess = sums["grad"], sums["hess"]
    loglik = None
    if p.mode != "secure":  # in secure mode no node's log-likelihood leaves it
        loglik = float(sum(float(r.values["loglik"]) for r in replies.values()))
    null = state["null"]
    step = np.linalg.solve(_inert(hess), grad)
    null["coef"] = (np.asarray(null["coef"]) + step).tolist()
    null["iter"] += 1
    previous, null["loglik"] = null["loglik"], loglik
    if np.abs(step).max() < p.tolerance or (
        loglik is not None
        and previous is not None
        and abs(loglik - previous) < 1e-12 * max(1.0, abs(loglik))
    ):
        # secure: a masked `flags` round first, so the score round carries corrections only
        # for the variants where some node has a missing genotype
        state["phase"] = "flags" if p.mode == "secure" else "score"
    elif null["iter"] >= p.max_iter:
        raise ConflictError(f"the logistic null model did not converge in {p.max_iter} rounds")


def solve_score(sums: PooledSums) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(U, V, people left out for a missing genotype) per variant from score-round sums."""
    V_, k = len(sums.gg), sums.k
    A = _inert(sums.CC)
    var = sums.gg - np.einsum("vi,iv->v", sums.cg, np.linalg.solve(A, sums.cg.T))
    obs = np.zeros(V_)
    if len(sums.corr_idx):
        c, _, cc, _, _ = split_corrections(sums.corr, k)
        A_v = _inert(sums.CC[None] - cc)
        cg = sums.cg[sums.corr_idx]
        var[sums.corr_idx] = sums.gg[sums.corr_idx] - np.einsum(
            "vi,vi->v", cg, np.linalg.solve(A_v, cg[:, :, None])[:, :, 0]
        )
        obs[sums.corr_idx] = c[:, : sums.site_columns].sum(axis=1)
    return sums.gy, var, obs


def _score(state: dict, replies: Mapping[str, LocalReply]) -> None:
    from genomesh.analysis.gwas.analysis import contributions

    p = parse_params(state["params"])
    V, k, site_columns = len(state["variants"]), _k(state), len(state["sites"])
    if p.mode == "secure":
        packed = decode_array(state["corr_rows"], field="corr_rows")
        rows = np.flatnonzero(np.unpackbits(packed, count=V))
        segs = layout.segments(
            k, V, cb=p.covariate_bound, yb=1.0, n_max=p.max_participants, r=len(rows)
        )
        total = secure.unmask(
            {n: r.arrays["masked"] for n, r in replies.items()}, list(state["parties"])
        )
        sums = layout.pool_secure(total, segs, k=k, V=V, site_columns=site_columns, rows=rows)
    else:
        sums = layout.pool_plain(
            {n: r.arrays for n, r in replies.items()}, site_columns=site_columns
        )
    U, var, missing = solve_score(sums)
    n = float(sum(state["sizes"].values()))
    ok = var > 1e-12 * np.maximum(sums.gg, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(ok, U / np.sqrt(np.where(ok, var, 1.0)), np.nan)
        beta = np.where(ok, U / var, np.nan)
        se = np.where(ok, 1.0 / np.sqrt(var), np.nan)
    pval = 2.0 * stats.norm.sf(np.abs(z))
    flags = contributions(replies, V)
    # an untestable variant's statistics are NaN: kept as None (NaN is not JSON, and the
    # hub stores this state as JSON between rounds); `_finish` reads None back as NaN
    state["score"] = {
        "beta": floats(beta), "se": floats(se), "z": floats(z), "p": floats(pval),
        "obs": np.round(n - missing).astype(int).tolist(),
        "errcode": ["." if o else "CONST_ALLELE" for o in ok],
        "datasets": {d: f.astype(int).tolist() for d, f in flags.items()},
    }  # fmt: skip
    candidates = np.flatnonzero(np.isfinite(pval) & (pval < p.top_p))
    top = candidates[np.argsort(pval[candidates])][: p.top_max]
    k = _k(state)
    state["fits"] = [
        {
            "index": int(v), "key": state["variants"][v],
            "coef": [*state["null"]["coef"], 0.0], "method": "firth" if p.firth == "always" else "wald",
            "inv": None, "iter": 0, "done": False, "beta": None, "se": None,
            "allowed": sorted(d for d, f in flags.items() if f[v]), "p": k + 1,
        }
        for v in top
    ]  # fmt: skip
    state["phase"] = "wald" if state["fits"] else "done"
    if not state["fits"]:
        _finish(state)


def _wald_step(state: dict, replies: Mapping[str, LocalReply]) -> None:
    p = parse_params(state["params"])
    T, q = len(state["fits"]), _k(state) + 1
    sums = _totals(state, replies, {"info": (T, q, q), "score": (T, q), "firth": (T, q)})
    info, score, firth = sums["info"], sums["score"], sums["firth"]
    for t, fit in enumerate(state["fits"]):
        if fit["done"]:
            continue
        info_t = _inert(info[t])
        coef = np.asarray(fit["coef"])
        if fit["method"] == "wald":
            step = np.linalg.solve(info_t, score[t])
            if np.abs(step).max() < p.tolerance * 100:
                _done(fit, coef + step, info_t)
                continue
            fit["iter"] += 1
            new = coef + np.clip(step, -MAX_STEP, MAX_STEP)
            if fit["iter"] >= p.max_iter or abs(new[-1]) > DIVERGED or not np.isfinite(new).all():
                if p.firth == "never":
                    fit.update(done=True, method="wald", beta=None, se=None, errcode="UNFINISHED")
                    continue
                fit.update(method="firth", coef=[*state["null"]["coef"], 0.0], inv=None, iter=0)
                continue
            fit["coef"] = new.tolist()
        else:  # firth: alternate "information at coef" and "Firth score given I(coef)^-1"
            if fit["inv"] is None:
                fit["inv"] = np.linalg.inv(info_t).tolist()
                continue
            inv = np.asarray(fit["inv"])
            step = inv @ firth[t]
            if np.abs(step).max() < p.tolerance * 100:
                _done(fit, coef + step, info_t)
                continue
            fit["iter"] += 1
            if fit["iter"] >= 4 * p.max_iter:
                fit.update(done=True, beta=None, se=None, errcode="FIRTH_CONVERGE_FAIL")
                continue
            fit["coef"] = (coef + np.clip(step, -MAX_STEP, MAX_STEP)).tolist()
            fit["inv"] = None
    if all(f["done"] for f in state["fits"]):
        _finish(state)


def _done(fit: dict, coef: np.ndarray, info: np.ndarray) -> None:
    cov = np.linalg.inv(info)
    beta, se = float(coef[-1]), float(np.sqrt(max(cov[-1, -1], 0.0)))
    if not (np.isfinite(coef).all() and np.isfinite(se) and se > 0):
        # no usable fit: NA like plink2 (and no NaN in the JSON state)
        fit.update(done=True, beta=None, se=None, errcode="UNFINISHED")
        return
    fit.update(done=True, coef=coef.tolist(), beta=beta, se=se)


def _finish(state: dict) -> None:
    s = state["score"]
    # None (an untestable variant, as stored) becomes NaN here, and NA in the table
    beta, se, z, pval = (np.array(s[k], dtype=np.float64) for k in ("beta", "se", "z", "p"))
    method = ["score"] * len(beta)
    errcode = list(s["errcode"])
    for fit in state.get("fits", []):
        v = fit["index"]
        method[v] = fit["method"]
        if fit["beta"] is None:
            beta[v] = se[v] = z[v] = pval[v] = np.nan
            errcode[v] = fit.get("errcode", "UNFINISHED")
            continue
        beta[v], se[v] = fit["beta"], fit["se"]
        z[v] = beta[v] / se[v]
        pval[v] = 2.0 * stats.norm.sf(abs(z[v]))
    state["result"] = {
        "table": build_table(
            state["variants"], stat_name="Z_STAT", beta=beta, se=se, stat=z, p=pval,
            obs_ct=np.array(s["obs"]), errcode=errcode, method=method,
            datasets={d: np.array(f, dtype=bool) for d, f in s["datasets"].items()},
        ),
        "columns": LOGISTIC_COLUMNS,
        "null_model": {"coef": state["null"]["coef"], "iterations": state["null"]["iter"]},
    }  # fmt: skip
    state["phase"] = "done"
