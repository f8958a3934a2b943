"""Principal components that mean the same thing at every node.

PCs computed separately at each node would not be comparable (each node's axes differ), so
the hub distributes loadings computed once on a public reference panel (1000 Genomes for
real data, a simulated panel for simulated cohorts) and every node projects its own people
onto them. The reference is JSON: variant keys (`chrom:pos:ref:alt`), per-variant means
(2p) and scales (sqrt(2p(1-p))), and the loadings (variants x PCs, orthonormal columns).

A node's score for person i is Σ_j z_ij L_jk with z = (g - mean) / scale; a missing
genotype, or a reference variant the node does not have, counts as the mean (z = 0).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from genomesh.core.errors import InvalidInputError


def reference_loadings(
    genotypes: np.ndarray,
    *,
    variant_keys: Sequence[str],
    n_pcs: int,
    min_maf: float = 0.05,
) -> dict[str, Any]:
    """PC loadings from a reference panel's dosages (variants x people, -1 missing).

    Variants with a minor-allele frequency below `min_maf` in the panel are left out. The
    sign of each loading is fixed (its largest entry positive) so reruns agree.
    """
    g = np.asarray(genotypes, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] != len(variant_keys):
        raise InvalidInputError("genotypes must be variants x people, one key per variant")
    observed = g >= 0
    n_obs = observed.sum(axis=1)
    means = np.where(observed, g, 0.0).sum(axis=1) / np.maximum(n_obs, 1)
    p = means / 2
    keep = (np.minimum(p, 1 - p) >= min_maf) & (n_obs > 0)
    if keep.sum() <= n_pcs or g.shape[1] <= n_pcs:
        raise InvalidInputError(
            f"the reference panel has {int(keep.sum())} common variants and {g.shape[1]} "
            f"people: too few for {n_pcs} PCs",
            field="n_pcs",
        )
    scales = np.sqrt(2 * p[keep] * (1 - p[keep]))
    z = np.where(observed[keep], (g[keep] - means[keep, None]) / scales[:, None], 0.0)
    u, _, _ = np.linalg.svd(z, full_matrices=False)
    loadings = u[:, :n_pcs]
    flip = np.sign(loadings[np.abs(loadings).argmax(axis=0), np.arange(n_pcs)])
    loadings = loadings * flip
    keys = [k for k, kept in zip(variant_keys, keep, strict=True) if kept]
    return {
        "variant_keys": keys,
        "means": means[keep].tolist(),
        "scales": scales.tolist(),
        "loadings": loadings.tolist(),
    }


def check_reference(reference: Any, n_pcs: int) -> None:
    """Refuse a malformed reference (hub side, before anything is sent)."""
    if not isinstance(reference, Mapping):
        raise InvalidInputError("n_pcs > 0 needs the reference loadings", field="pcs_reference")
    keys = reference.get("variant_keys")
    loadings = np.asarray(reference.get("loadings", []), dtype=np.float64)
    means = np.asarray(reference.get("means", []), dtype=np.float64)
    scales = np.asarray(reference.get("scales", []), dtype=np.float64)
    if not isinstance(keys, list) or loadings.ndim != 2 or loadings.shape[0] != len(keys):
        raise InvalidInputError("reference loadings must be variants x PCs", field="pcs_reference")
    if loadings.shape[1] < n_pcs:
        raise InvalidInputError(
            f"the reference has {loadings.shape[1]} PCs, {n_pcs} asked", field="n_pcs"
        )
    if means.shape != (len(keys),) or scales.shape != (len(keys),) or (scales <= 0).any():
        raise InvalidInputError("reference means/scales do not match", field="pcs_reference")


def project(
    dosages: Any,
    *,
    node_keys: Sequence[str],
    reference: Mapping[str, Any],
    n_pcs: int,
    compute: Callable[..., tuple[Any, ...]],
) -> tuple[np.ndarray, int]:
    """PC scores (people x n_pcs) of one dataset, and how many reference variants it has."""
    where = {key: row for row, key in enumerate(node_keys)}
    ref_keys = reference["variant_keys"]
    rows = np.array([where.get(k, -1) for k in ref_keys], dtype=np.int64)
    present = rows >= 0
    n_people = dosages.shape[1]
    if not present.any():
        return np.zeros((n_people, n_pcs)), 0
    loadings = np.asarray(reference["loadings"], dtype=np.float64)[present, :n_pcs]
    means = np.asarray(reference["means"], dtype=np.float64)[present]
    scales = np.asarray(reference["scales"], dtype=np.float64)[present]
    order = np.argsort(rows[present])  # read rows in store order
    (g,) = compute(dosages[np.sort(rows[present])])
    g = np.asarray(g, dtype=np.float64)
    loadings, means, scales = loadings[order], means[order], scales[order]
    z = np.where(g >= 0, (g - means[:, None]) / scales[:, None], 0.0)
    return z.T @ loadings, int(present.sum())
