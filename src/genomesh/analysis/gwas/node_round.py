"""Node side of every GWAS round: what `GwasAnalysis.local` computes, by phase.

setup   analysed people per dataset (refused below the minimum), the dataset's variant
        keys, and in secure mode this node's X25519 public keys
shares  secure linear: Shamir shares of this node's mask secrets, encrypted to each peer
flags   secure: which variants need missing-genotype corrections, masked
unmask  secure linear: this node's shares for removing the last round's masks
stats   the sufficient statistics over the hub's variant list, plain or masked
meta    per-dataset per-variant estimates (beta, SE, N)
null    logistic null model: gradient, Hessian and log-likelihood at the hub's coef
score   logistic score statistics at the null fit
wald    per-variant logistic (or Firth) pieces for the top hits
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import numpy as np

from genomesh.analysis.gwas import layout, logistic_node, secure, secure_rounds
from genomesh.analysis.gwas.design import VariantIndex, build_design, dataset_keys
from genomesh.analysis.gwas.linear import solve_linear
from genomesh.analysis.gwas.node_stats import (
    AlignedStats,
    aligned_stats,
    check_group_sizes,
    dataset_design,
)
from genomesh.analysis.gwas.params import GwasParams, parse_params
from genomesh.analysis.gwas.secure_keys import secrets_for
from genomesh.analysis.protocol import LocalReply, RoundRequest
from genomesh.analysis.wire import decode_array
from genomesh.core.errors import ConflictError, InvalidInputError


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
    if phase in ("shares", "unmask"):  # dropout-tolerant secure rounds: keys, no data
        return _key_round(data, request, params, datasets)
    if phase in ("null", "wald"):
        reply = logistic_node.local(data, request, params, datasets, sites)
        if params.mode == "secure":
            k = len(sites) + len(params.covariates) + params.n_pcs
            T = len(params.extra.get("top") or [])
            segs = layout.logistic_segments(
                phase, k, T, cb=params.covariate_bound, n_max=params.max_participants
            )
            vector = secure.encode([reply.arrays[seg.name] for seg in segs], segs)
            reply.arrays = {"masked": _mask(vector, request, params, data)}
            reply.values = {}  # a node's own log-likelihood would leave unmasked
        return reply
    keys = {ds: dataset_keys(data, ds) for ds in datasets}
    union = _union(params, keys[datasets[0]])
    if phase == "meta":
        return _meta(data, params, datasets, union)
    if phase in ("flags", "stats", "score"):
        logistic = params.model == "logistic"
        null_fit = params.extra.get("null") if phase == "score" or logistic else None
        total = _held_totals(data, request, params, datasets, sites, union, keys, null_fit)
        if phase == "flags":  # secure: which variants need corrections, masked
            _check_bounds(total, params)
            flags = np.zeros(len(union), dtype=bool)
            flags[sorted(total.corr_rows)] = True
            vector = layout.pack_flags(flags)
            reply = LocalReply(contributors=total.contributors)
            reply.arrays["masked"] = _mask(vector, request, params, data)
            return reply
        reply = LocalReply(contributors=total.contributors, suppressed=total.suppressed)
        reply.values["datasets"] = sorted(total.contributes)
        reply.arrays["contributes"] = np.vstack(
            [total.contributes[d] for d in reply.values["datasets"]]
        ).astype(np.uint8)
        if params.mode == "secure":
            _check_bounds(total, params)
            yb = params.trait_bound if params.model == "linear" else 1.0
            rows = _correction_rows(params, total, len(union))
            segs = layout.segments(
                total.k, len(union), cb=params.covariate_bound, yb=yb,
                n_max=params.max_participants, r=None if rows is None else len(rows),
            )  # fmt: skip
            # keys are derived, not held: a re-asked round (a lost reply), at any worker,
            # gets the same masked vector; with other numbers it is refused (secure_keys)
            vector = layout.secure_vector(total, segs, rows)
            reply.arrays["masked"] = _mask(vector, request, params, data)
        else:
            reply.arrays.update(layout.plain_arrays(total))
        return reply
    raise InvalidInputError(f"unknown GWAS phase {phase!r}", field="phase")


# the secure `flags` round's statistics, kept for the `stats` round that follows it (a node
# restart or a change of the allowed people recomputes them); a few tasks at most
MAX_HELD = 4
_held: dict[tuple[str, str], tuple[frozenset[str], AlignedStats]] = {}
_held_lock = threading.Lock()


def _held_totals(
    data: Any,
    request: RoundRequest,
    params: GwasParams,
    datasets: list[str],
    sites: list[str],
    union: VariantIndex,
    keys: dict[str, list[str]],
    null_fit: Any,
) -> AlignedStats:
    """This node's statistics over its datasets: computed, or (secure `stats` round) the
    ones its `flags` round computed for the same task and the same visible people."""
    phase = params.extra.get("phase")
    key = (request.task_id, str(params.extra.get("party")))
    visible = frozenset(
        pid for ds in datasets for pid in data.individuals(ds)["individual_id"].tolist()
    )
    if phase in ("stats", "score"):
        with _held_lock:
            held = _held.pop(key, None)
        if held is not None and held[0] == visible:
            return held[1]
    total: AlignedStats | None = None
    for ds in datasets:
        part = aligned_stats(
            data, ds, params=params, sites=sites, union=union, null_fit=null_fit, keys=keys[ds]
        )
        if total is None:
            total = part
        else:
            total.add(part)
    assert total is not None
    if phase == "flags":
        with _held_lock:
            _held[key] = (visible, total)
            while len(_held) > MAX_HELD:
                _held.pop(next(iter(_held)))
    return total


def _correction_rows(params: GwasParams, total: AlignedStats, V: int) -> np.ndarray | None:
    """The variants the hub asks corrections for (None: all), checked to cover this node's."""
    raw = params.extra.get("corr_rows")
    if raw is None:
        return None
    packed = decode_array(raw, field="corr_rows")
    if packed.dtype != np.uint8 or packed.shape != ((V + 7) // 8,):
        raise InvalidInputError("corr_rows must be V bits, packed", field="corr_rows")
    rows = np.flatnonzero(np.unpackbits(packed, count=V))
    if not total.corr_rows <= set(rows.tolist()):
        raise ConflictError(
            "this node has corrections for variants the hub did not ask for; its data changed "
            "since the flags round, so the task must start again"
        )
    return rows


def _mask(vector: np.ndarray, request: RoundRequest, params: GwasParams, data: Any) -> np.ndarray:
    """Masked `vector`: linear rounds with a self-mask and keys of their own (dropout-
    tolerant, `secure_rounds`); logistic rounds with the task's pairwise keys only."""
    tolerant = params.model == "linear"
    return secure.mask(
        vector,
        keys=secrets_for(data),
        task_id=request.task_id,
        round_=request.round,
        party=str(params.extra.get("party")),
        peers=params.extra.get("peers") or {},
        label=str(params.extra.get("phase")) if tolerant else "task",
        self_mask=tolerant,
    )


def _key_round(
    data: Any, request: RoundRequest, params: GwasParams, datasets: list[str]
) -> LocalReply:
    """`shares` (encrypted Shamir shares of this node's mask secrets) or `unmask` (the shares
    that remove the masks of the round just made)."""
    if params.mode != "secure" or params.model != "linear":
        raise InvalidInputError("share rounds belong to secure linear GWAS only", field="phase")
    party = str(params.extra.get("party"))
    keys = secrets_for(data)
    reply = LocalReply()
    if params.extra.get("phase") == "shares":
        reply.values = secure_rounds.node_shares(keys, request.task_id, party, params.extra)
    else:
        reply.values = secure_rounds.node_unmask(
            keys, request.task_id, party, request.round, params.extra
        )
    no_pcs = GwasParams(**{**params.__dict__, "n_pcs": 0})
    for ds in datasets:  # the shares open sums over the analysed people (as in setup)
        design = build_design(data.individuals(ds), params=no_pcs, dataset_id=ds, sites=[ds])
        reply.contributors |= set(design.individual_ids)
    return reply


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


def _union(params: GwasParams, first_keys: list[str]) -> VariantIndex:
    """The hub's variant list; a digest stands for the first dataset's own keys."""
    keys = params.extra.get("variants")
    if isinstance(keys, dict):  # a digest: the hub saw the same sites in every dataset
        if variants_digest(first_keys) != keys:
            raise InvalidInputError(
                "this dataset's variants changed since the setup round", field="variants"
            )
        return VariantIndex(first_keys)  # the node's own keys: no need to check their type
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        raise InvalidInputError("the hub sent no variant list", field="variants")
    return VariantIndex(keys)


def _setup(data: Any, request: RoundRequest, params: GwasParams, datasets: list[str]) -> LocalReply:
    reply = LocalReply()
    info: dict[str, Any] = {}
    no_pcs = GwasParams(**{**params.__dict__, "n_pcs": 0})
    for ds in datasets:
        min_count = max(int(data.min_count(ds)), params.min_individuals or 0, 1)
        design = build_design(data.individuals(ds), params=no_pcs, dataset_id=ds, sites=[ds])
        check_group_sizes(design, params, min_count)
        # one newline-joined string: ~20x cheaper to encode and parse than a JSON list
        info[ds] = {"n": design.n, "variants": "\n".join(dataset_keys(data, ds))}
        reply.contributors |= set(design.individual_ids)
    reply.values["datasets"] = info
    if params.mode == "secure":
        party = params.extra.get("party")
        if not isinstance(party, str) or not party:
            raise InvalidInputError("secure mode needs this node's party name", field="party")
        keys = secrets_for(data)
        if params.model == "linear":  # one mask key per masked round, and a share key
            reply.values["mask_keys"] = {
                label: keys.public_hex(request.task_id, party, f"mask|{label}")
                for label in secure_rounds.LABELS
            }
            reply.values["share_key"] = keys.public_hex(request.task_id, party, "shares")
        else:
            reply.values["public_key"] = keys.public_hex(request.task_id, party, "mask|task")
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


def _meta(data: Any, params: GwasParams, datasets: list[str], union: VariantIndex) -> LocalReply:
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
