"""Node side of every GWAS round: what `GwasAnalysis.local` computes, by phase.

setup   analysed people per dataset (refused below the minimum), the dataset's variant
        keys, and in secure mode this node's X25519 public key
stats   the sufficient statistics over the hub's variant list, plain or masked
meta    per-dataset per-variant estimates (beta, SE, N)
null    logistic null model: gradient, Hessian and log-likelihood at the hub's coef
score   logistic score statistics at the null fit
wald    per-variant logistic (or Firth) pieces for the top hits
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from genomesh.analysis.gwas import layout, logistic_node, secure
from genomesh.analysis.gwas.design import build_design, variant_keys
from genomesh.analysis.gwas.linear import solve_linear
from genomesh.analysis.gwas.node_stats import (
    AlignedStats,
    aligned_stats,
    check_group_sizes,
    dataset_design,
)
from genomesh.analysis.gwas.params import GwasParams, parse_params
from genomesh.analysis.protocol import LocalReply, RoundRequest
from genomesh.core.errors import InvalidInputError


def local_round(data: Any, request: RoundRequest) -> LocalReply:
    params = parse_params(request.params)
    phase = params.extra.get("phase")
    datasets = [d for d in request.datasets if d in set(data.dataset_ids)]
    if not datasets:
        raise InvalidInputError("none of the requested datasets is at this node", field="datasets")
    if phase == "setup":
        return _setup(data, request, params, datasets)
    sites = params.extra.get("sites")
    if not isinstance(sites, list) or not set(datasets) <= set(sites):
        raise InvalidInputError("the hub's site list does not cover these datasets", field="sites")
    if phase in ("null", "wald"):
        reply = logistic_node.local(data, request, params, datasets, sites)
        if params.mode == "secure":
            k = len(sites) + len(params.covariates) + params.n_pcs
            T = len(params.extra.get("top") or [])
            segs = layout.logistic_segments(
                phase, k, T, cb=params.covariate_bound, n_max=params.max_participants
            )
            vector = secure.encode([reply.arrays[seg.name] for seg in segs], segs)
            reply.arrays = {"masked": _mask(vector, request, params)}
            reply.values = {}  # a node's own log-likelihood would leave unmasked
        return reply
    union = _union(params, data, datasets)
    if phase == "meta":
        return _meta(data, params, datasets, union)
    if phase in ("stats", "score"):
        null_fit = params.extra.get("null") if phase == "score" else None
        total: AlignedStats | None = None
        for ds in datasets:
            part = aligned_stats(
                data, ds, params=params, sites=sites, union=union, null_fit=null_fit
            )
            if total is None:
                total = part
            else:
                total.add(part)
        assert total is not None
        reply = LocalReply(contributors=total.contributors, suppressed=total.suppressed)
        reply.values["datasets"] = sorted(total.contributes)
        reply.arrays["contributes"] = np.vstack(
            [total.contributes[d] for d in reply.values["datasets"]]
        ).astype(np.uint8)
        if params.mode == "secure":
            _check_bounds(total, params)
            yb = params.trait_bound if params.model == "linear" else 1.0
            segs = layout.segments(
                total.k, len(union), cb=params.covariate_bound, yb=yb, n_max=params.max_participants
            )
            # the key stays (bounded by secure.MAX_KEYS) so a re-asked round, e.g. after a
            # lost reply, gets the same masked vector instead of failing the task
            reply.arrays["masked"] = _mask(layout.secure_vector(total, segs), request, params)
        else:
            reply.arrays.update(layout.plain_arrays(total))
        return reply
    raise InvalidInputError(f"unknown GWAS phase {phase!r}", field="phase")


def _mask(vector: np.ndarray, request: RoundRequest, params: GwasParams) -> np.ndarray:
    return secure.mask(
        vector,
        task_id=request.task_id,
        round_=request.round,
        party=str(params.extra.get("party")),
        peers=params.extra.get("peers") or {},
    )


def variants_digest(keys: list[str]) -> dict[str, Any]:
    """A short stand-in for a variant list every dataset shares: count and SHA-256."""
    digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()
    return {"count": len(keys), "sha256": digest}


def _local_null(design: Any, params: GwasParams) -> list[float]:
    """A dataset's own null logistic model (covariates only), by Newton steps."""
    C, y = design.C, design.y
    coef = np.zeros(C.shape[1])
    for _ in range(params.max_iter):
        mu = 1.0 / (1.0 + np.exp(-(C @ coef)))
        step = np.linalg.solve(C.T @ (C * (mu * (1 - mu))[:, None]), C.T @ (y - mu))
        coef += step
        if np.abs(step).max() < params.tolerance:
            break
    return coef.tolist()


def _union(params: GwasParams, data: Any, datasets: list[str]) -> dict[str, int]:
    keys = params.extra.get("variants")
    if isinstance(keys, dict):  # a digest: the hub saw the same sites in every dataset
        keys = variant_keys(data.variants(datasets[0]))
        if variants_digest(keys) != params.extra["variants"]:
            raise InvalidInputError(
                "this dataset's variants changed since the setup round", field="variants"
            )
    if not isinstance(keys, list):
        raise InvalidInputError("the hub sent no variant list", field="variants")
    return {key: i for i, key in enumerate(keys)}


def _setup(data: Any, request: RoundRequest, params: GwasParams, datasets: list[str]) -> LocalReply:
    reply = LocalReply()
    info: dict[str, Any] = {}
    no_pcs = GwasParams(**{**params.__dict__, "n_pcs": 0})
    for ds in datasets:
        min_count = max(int(data.min_count(ds)), params.min_individuals or 0, 1)
        design = build_design(data.individuals(ds), params=no_pcs, dataset_id=ds, sites=[ds])
        check_group_sizes(design, params, min_count)
        info[ds] = {"n": design.n, "variants": variant_keys(data.variants(ds))}
        reply.contributors |= set(design.individual_ids)
    reply.values["datasets"] = info
    if params.mode == "secure":
        party = params.extra.get("party")
        if not isinstance(party, str) or not party:
            raise InvalidInputError("secure mode needs this node's party name", field="party")
        reply.values["public_key"] = secure.new_public_key(request.task_id, party)
    return reply


def _check_bounds(total: AlignedStats, params: GwasParams) -> None:
    """Refuse (before masking) values beyond the bounds the fixed point was sized for."""
    if params.model == "linear" and total.max_abs_y > params.trait_bound:
        raise InvalidInputError(
            f"a {params.trait} value exceeds trait_bound {params.trait_bound:g}; secure "
            "aggregation would overflow",
            field="trait_bound",
        )
    if total.max_abs_c > params.covariate_bound:
        raise InvalidInputError(
            f"a covariate value (or PC score) exceeds covariate_bound "
            f"{params.covariate_bound:g}; secure aggregation would overflow",
            field="covariate_bound",
        )
    if len(total.contributors) > params.max_participants:
        raise InvalidInputError(
            "this node has more people than max_participants", field="max_participants"
        )


def _meta(data: Any, params: GwasParams, datasets: list[str], union: dict[str, int]) -> LocalReply:
    """Each dataset's own per-variant fit (its own intercept and covariates)."""
    reply = LocalReply()
    for ds in datasets:
        if params.model == "logistic":
            # the disclosure screen (case/control counts, MAC, missing sets) at the local null
            design, _ = dataset_design(data, ds, params, [ds])
            part = aligned_stats(data, ds, params=params, sites=[ds], union=union,
                                 null_fit={"coef": _local_null(design, params)})  # fmt: skip
            beta, se, n = logistic_node.local_logistic_fits(
                data, ds, params, union, part.contributes[ds]
            )
        else:
            part = aligned_stats(data, ds, params=params, sites=[ds], union=union)
            sums = layout.pool_plain({ds: layout.plain_arrays(part)}, site_columns=1)
            fit = solve_linear(sums)
            beta, se, n = fit.beta, fit.se, fit.obs_ct
        ok = part.contributes[ds] & np.isfinite(se) & np.isfinite(beta)
        reply.arrays[f"{ds}.beta"] = np.where(ok, beta, np.nan)
        reply.arrays[f"{ds}.se"] = np.where(ok, se, np.nan)
        reply.arrays[f"{ds}.n"] = np.where(ok, n, 0).astype(np.int64)
        reply.suppressed.update(part.suppressed)
        reply.contributors |= part.contributors
    reply.values["datasets"] = list(datasets)
    return reply
