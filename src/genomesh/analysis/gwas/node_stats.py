"""Node side: one dataset's design and sufficient statistics, aligned to the hub's variants.

The hub sends the union of all nodes' variant keys; each dataset's statistics are placed at
those positions, so sums over datasets and nodes line up (and masked vectors in secure mode
have the same length everywhere). A variant a dataset lacks, or withholds under the
disclosure rules, contributes zero to the genotype sums and the whole dataset's sums as its
correction, so for that variant the pooled complete-case sums leave the dataset out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genomesh.analysis.gwas import disclosure, kernel, pcs
from genomesh.analysis.gwas.design import Design, VariantIndex, build_design, dataset_keys
from genomesh.analysis.gwas.params import GwasParams
from genomesh.core.errors import AccessDeniedError, InvalidInputError


@dataclass
class AlignedStats:
    """One dataset's (or one node's summed) statistics over the hub's V variants."""

    k: int
    CC: np.ndarray
    Cy: np.ndarray
    yy: float
    cg: np.ndarray  # V x k
    gy: np.ndarray  # V
    gg: np.ndarray  # V
    corr: np.ndarray  # V x q (dense) -- only rows in corr_rows are non-zero
    corr_rows: set[int] = field(default_factory=set)
    contributes: dict[str, np.ndarray] = field(default_factory=dict)  # dataset -> bool V
    suppressed: dict[str, str] = field(default_factory=dict)
    contributors: set[str] = field(default_factory=set)
    max_abs_c: float = 0.0  # the largest |covariate| and |trait| that went in (secure bounds)
    max_abs_y: float = 0.0

    def add(self, other: AlignedStats) -> None:
        for name in ("CC", "Cy", "cg", "gy", "gg", "corr"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.yy += other.yy
        self.corr_rows |= other.corr_rows
        self.contributes.update(other.contributes)
        self.suppressed.update(other.suppressed)
        self.contributors |= other.contributors
        self.max_abs_c = max(self.max_abs_c, other.max_abs_c)
        self.max_abs_y = max(self.max_abs_y, other.max_abs_y)


def dataset_design(
    data: Any, dataset_id: str, params: GwasParams, sites: Sequence[str]
) -> tuple[Design, int]:
    """The design of one dataset, with PCs projected when asked; and the node's threshold."""
    individuals = data.individuals(dataset_id)
    min_count = max(int(data.min_count(dataset_id)), params.min_individuals or 0, 1)
    scores = None
    if params.n_pcs:
        reference = params.extra.get("pcs_reference")
        pcs.check_reference(reference, params.n_pcs)
        assert isinstance(reference, Mapping)  # checked just above
        scores, _ = pcs.project(
            data.dosages(dataset_id),
            node_keys=dataset_keys(data, dataset_id),
            reference=reference,
            n_pcs=params.n_pcs,
            compute=data.compute,
        )
    design = build_design(
        individuals, params=params, dataset_id=dataset_id, sites=sites, pcs=scores
    )
    check_group_sizes(design, params, min_count)
    return design, min_count


def min_mac_for(data: Any, dataset_id: str, params: GwasParams) -> int:
    """The minor-allele-count threshold for one dataset: the researcher's `min_mac`, raised to
    the node's own floor (`LocalData.min_mac`) — a request cannot lower a node's rule."""
    return max(int(params.min_mac), int(data.min_mac(dataset_id)))


def check_group_sizes(design: Design, params: GwasParams, min_count: int) -> None:
    """Refuse a dataset with fewer analysed people (cases, controls) than the minimum."""
    groups = {"individuals": design.n}
    if params.model == "logistic":
        cases = int(design.y.sum())
        groups = {"cases": cases, "controls": design.n - cases}
    for name, count in groups.items():
        if count < min_count:
            raise AccessDeniedError(
                f"dataset {design.dataset_id!r} has fewer than {min_count} analysed {name}; "
                "it cannot take part"
            )


def right_hand_side(
    design: Design, params: GwasParams, null_fit: Mapping[str, Any] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(R, Q, w) for the kernel: linear [C, y]; logistic score [W C, y - mu] at the null fit."""
    C, y = design.C, design.y
    if params.model == "linear":
        return np.column_stack([C, y]), kernel.correction_rows(C, y), None
    if null_fit is None:
        raise InvalidInputError("the logistic score round needs the null model", field="null")
    coef = np.asarray(null_fit["coef"], dtype=np.float64)
    if coef.shape != (C.shape[1],):
        raise InvalidInputError("null model coefficients do not match the design", field="null")
    mu = 1.0 / (1.0 + np.exp(-(C @ coef)))
    w = mu * (1.0 - mu)
    r = y - mu
    R = np.column_stack([C * w[:, None], r])
    Q = np.hstack(
        [C, y[:, None], kernel.upper_products(C * np.sqrt(w)[:, None]), C * r[:, None],
         (r * r)[:, None]]
    )  # fmt: skip
    return R, Q, w


def _is_range(pos: np.ndarray) -> bool:
    return len(pos) == 0 or (pos[0] == 0 and bool((np.diff(pos) == 1).all()))


def genotypes(data: Any, dataset_id: str, chunk_variants: int | None) -> Any:
    """The dataset's dosages for the kernel: sparse (`SparseDosages`) when the node's
    `LocalData` keeps them so (`sparse_dosages`, e.g. its dosage cache), else the dense
    dask array of `dosages()`."""
    sparse = getattr(data, "sparse_dosages", None)
    if callable(sparse):
        found = sparse(dataset_id, chunk_variants=chunk_variants)
        if found is not None:
            return found
    return data.dosages(dataset_id, chunk_variants=chunk_variants)


def aligned_stats(
    data: Any,
    dataset_id: str,
    *,
    params: GwasParams,
    sites: Sequence[str],
    union: Mapping[str, int],
    null_fit: Mapping[str, Any] | None = None,
    keys: list[str] | None = None,
) -> AlignedStats:
    """Design, kernel, disclosure screen and alignment for one dataset (`keys`: its variant
    keys when the caller has them already)."""
    design, min_count = dataset_design(data, dataset_id, params, sites)
    R, Q, w = right_hand_side(design, params, null_fit)
    k = design.C.shape[1]
    if keys is None:
        keys = dataset_keys(data, dataset_id)
    if isinstance(union, VariantIndex):
        pos = union.positions(keys)
    elif len(keys) == len(union) and keys == list(union):  # same sites, same order
        pos = np.arange(len(keys), dtype=np.int64)
    else:
        pos = np.array([union.get(key, -1) for key in keys], dtype=np.int64)
    columns = None if design.keep.all() else np.flatnonzero(design.keep)
    raw = kernel.stream_stats(
        genotypes(data, dataset_id, params.chunk_variants),
        compute=data.compute, columns=columns, R=R, Q=Q, w=w, keep=design.keep,
    )  # fmt: skip
    screen = disclosure.screen_variants(
        raw,
        min_count=min_count,
        min_mac=min_mac_for(data, dataset_id, params),
        y=design.y if params.model == "logistic" else None,
        k=k,
    )
    ok = screen.ok & (pos >= 0)
    V = len(union)
    total_Q = Q.sum(axis=0)
    out = AlignedStats(
        k=k,
        CC=design.C.T @ (design.C if w is None else design.C * w[:, None]),
        Cy=R[:, k] @ design.C if w is not None else design.C.T @ design.y,
        yy=float(R[:, k] @ R[:, k]) if w is not None else float(design.y @ design.y),
        cg=np.zeros((V, k)),
        gy=np.zeros(V),
        gg=np.zeros(V),
        corr=np.zeros((V, Q.shape[1])),
    )
    miss_ok = ok[raw.miss_rows]
    out.corr[pos[raw.miss_rows[miss_ok]]] = raw.miss_Q[miss_ok]
    if len(ok) == V and ok.all() and _is_range(pos):  # the common case: no fancy indexing
        out.cg, out.gy, out.gg = raw.GR[:, :k].copy(), raw.GR[:, k].copy(), raw.gwg
        present = np.ones(V, dtype=bool)
    else:
        rows = np.flatnonzero(ok)
        out.cg[pos[rows]] = raw.GR[rows, :k]
        out.gy[pos[rows]] = raw.GR[rows, k]
        out.gg[pos[rows]] = raw.gwg[rows]
        present = np.zeros(V, dtype=bool)
        present[pos[rows]] = True
        out.corr[~present] = total_Q
    out.corr_rows = set(pos[raw.miss_rows[miss_ok]].tolist()) | set(
        np.flatnonzero(~present).tolist()
    )
    out.contributes[dataset_id] = present
    for row, why in screen.reason.items():
        out.suppressed[f"{dataset_id}/{keys[row]}"] = disclosure.REASONS[why]
    out.contributors = set(design.individual_ids)
    out.max_abs_c = float(np.abs(design.C).max()) if design.C.size else 0.0
    out.max_abs_y = float(np.abs(design.y).max()) if design.n else 0.0
    return out
