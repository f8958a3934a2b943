"""What a node's statistics reply holds, shared by node and hub: array names, the secure
fixed-point segments, and the pooling of plain replies.

Plain (`pooled`) replies carry float64 arrays: CC, Cy, yy, cg (V x k), gy, gg, and the
corrections as sparse rows (corr_idx, corr). Secure replies carry one uint64 vector `masked`
with the same values in fixed point, in the order of `segments`. Every node's vector must have
the same length, so the corrections come for the rows the hub names: those where the masked
`flags` round showed that some node has a correction (`pack_flags`), or for every row when
the hub names none (the logistic score round).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from genomesh.analysis.gwas.kernel import correction_width
from genomesh.analysis.gwas.linear import PooledSums
from genomesh.analysis.gwas.node_stats import AlignedStats
from genomesh.analysis.gwas.secure import Segment, decode, encode, fraction_bits
from genomesh.core.errors import ConflictError


def segments(
    k: int, V: int, *, cb: float, yb: float, n_max: int, r: int | None = None
) -> list[Segment]:
    """The fixed-point segments of a statistics reply (k covariates, V variants, corrections
    for r of them; None: all V).

    Per-person bounds: |c| ≤ cb (site and sex columns are 0/1), |y| ≤ yb, 0 ≤ g ≤ 2.
    """
    r = V if r is None else r
    cb = max(cb, 1.0)
    nc = k * (k + 1) // 2
    spec = [
        ("CC", nc, cb * cb), ("Cy", k, cb * yb), ("yy", 1, yb * yb),
        ("cg", V * k, 2 * cb), ("gy", V, 2 * yb), ("gg", V, 4.0),
        ("corr.C", r * k, cb), ("corr.y", r, yb), ("corr.CC", r * nc, cb * cb),
        ("corr.Cy", r * k, cb * yb), ("corr.yy", r, yb * yb),
    ]  # fmt: skip
    return [
        Segment(name, size, bound, fraction_bits(n_max, bound, name=name))
        for name, size, bound in spec
    ]


MAX_FLAG_PARTIES = 255  # a flags lane is 8 bits: the count of nodes per variant must fit


def pack_flags(flags: np.ndarray) -> np.ndarray:
    """The `flags` round's reply: 1 per variant where this node has a correction (a missing
    genotype, or a dataset without the variant), eight variants per 64-bit word in 8-bit
    lanes. Summed over at most 255 nodes no lane carries into the next, so the hub sees only
    how many nodes flag each variant; 1/8 of one word per variant."""
    lanes = np.zeros(-(-len(flags) // 8) * 8, dtype=np.uint8)
    lanes[: len(flags)] = np.asarray(flags, dtype=bool)
    return lanes.view("<u8").astype(np.uint64)


def unpack_flags(total: np.ndarray, V: int) -> np.ndarray:
    """Per variant, how many nodes flagged it, from the unmasked sum of `pack_flags` words."""
    words = np.asarray(total, dtype=np.uint64)
    if len(words) != -(-V // 8):
        raise ConflictError(f"the flags sum has {len(words)} words, {V} variants need {-(-V // 8)}")
    return words.astype("<u8").view(np.uint8)[:V].astype(np.int64)


def logistic_segments(phase: str, k: int, T: int, *, cb: float, n_max: int) -> list[Segment]:
    """Segments of a secure logistic reply: `null` (gradient, information) or `wald`
    (per top hit: information, score, Firth score). Per-person bounds: |c| ≤ cb, g ≤ 2,
    |y - mu| ≤ 1, w ≤ 1/4, and the Firth residual |y - mu + h(1/2 - mu)| ≤ 3/2."""
    b = max(cb, 2.0)
    if phase == "null":
        spec = [("grad", k, cb), ("hess", k * k, cb * cb / 4)]
    else:
        p = k + 1
        spec = [("info", T * p * p, b * b / 4), ("score", T * p, b), ("firth", T * p, 1.5 * b)]
    return [Segment(n, size, bound, fraction_bits(n_max, bound, name=n)) for n, size, bound in spec]


def unpack(
    total: np.ndarray, segs: list[Segment], shapes: dict[str, tuple[int, ...]]
) -> dict[str, np.ndarray]:
    """Named float64 arrays from an unmasked fixed-point total."""
    return {
        s.name: part.reshape(shapes[s.name])
        for s, part in zip(segs, decode(total, segs), strict=True)
    }


def _corr_parts(corr: np.ndarray, k: int) -> list[np.ndarray]:
    nc = k * (k + 1) // 2
    return [
        corr[:, :k], corr[:, k], corr[:, k + 1 : k + 1 + nc],
        corr[:, k + 1 + nc : k + 1 + nc + k], corr[:, -1],
    ]  # fmt: skip


def compact(values: np.ndarray) -> np.ndarray:
    """float64 values as int32 when every one is an integer that fits (exact either way:
    half the bytes on the wire for allele counts, g'g and sums over 0/1 covariates)."""
    if values.size and np.abs(values).max() < 2**31 and np.array_equal(values, np.rint(values)):
        return values.astype(np.int32)
    return values


def plain_arrays(stats: AlignedStats) -> dict[str, np.ndarray]:
    """A plain statistics reply. C'g only for the covariate columns where it is not all zero
    (`cg_cols`: another site's intercept is zero for every one of this node's people), and
    integer-valued arrays as int32: a smaller reply, the same numbers."""
    rows = np.array(sorted(stats.corr_rows), dtype=np.int64)
    cols = np.flatnonzero(np.any(stats.cg != 0, axis=0))
    return {
        "CC": stats.CC, "Cy": stats.Cy, "yy": np.array([stats.yy]),
        "cg_cols": cols, "cg": compact(np.ascontiguousarray(stats.cg[:, cols])),
        "gy": compact(stats.gy), "gg": compact(stats.gg), "corr_idx": rows,
        "corr": stats.corr[rows],
    }  # fmt: skip


def secure_vector(
    stats: AlignedStats, segs: list[Segment], rows: np.ndarray | None = None
) -> np.ndarray:
    """The statistics in fixed point, corrections for `rows` only (None: every variant)."""
    iu = np.triu_indices(stats.k)
    values = [stats.CC[iu], stats.Cy, np.array([stats.yy]), stats.cg, stats.gy, stats.gg]
    corr = stats.corr if rows is None else stats.corr[rows]
    return encode(values + _corr_parts(corr, stats.k), segs)


def pool_plain(replies: Mapping[str, Mapping[str, np.ndarray]], *, site_columns: int) -> PooledSums:
    """Sum the nodes' plain arrays."""
    first = next(iter(replies.values()))
    k, V = len(first["Cy"]), len(first["gy"])
    CC, Cy = np.zeros((k, k)), np.zeros(k)
    cg, gy, gg = np.zeros((V, k)), np.zeros(V), np.zeros(V)
    yy = 0.0
    idx, corr = [], []
    for arrays in replies.values():
        CC += arrays["CC"]
        Cy += arrays["Cy"]
        yy += float(arrays["yy"][0])
        if "cg_cols" in arrays:  # only the columns the node has non-zero sums in
            cols = np.asarray(arrays["cg_cols"], dtype=np.int64)
            if len(cols) and (cols.min() < 0 or cols.max() >= k):
                raise ConflictError("a node's reply names covariate columns the model lacks")
            cg[:, cols] += np.asarray(arrays["cg"], dtype=np.float64).reshape(V, len(cols))
        else:
            cg += arrays["cg"]
        gy += arrays["gy"]
        gg += arrays["gg"]
        idx.append(np.asarray(arrays["corr_idx"], dtype=np.int64))
        corr.append(np.asarray(arrays["corr"], dtype=np.float64))
    all_idx = np.concatenate(idx)
    rows, inverse = np.unique(all_idx, return_inverse=True)
    total = np.zeros((len(rows), correction_width(CC.shape[0])))
    np.add.at(total, inverse, np.vstack(corr))
    return PooledSums(CC, Cy, yy, cg, gy, gg, rows, total, site_columns)


def pool_secure(
    total: np.ndarray,
    segs: list[Segment],
    *,
    k: int,
    V: int,
    site_columns: int,
    rows: np.ndarray | None = None,
) -> PooledSums:
    """PooledSums from the unmasked fixed-point total (corrections for `rows`; None: all)."""
    parts = decode(total, segs)
    CC = np.zeros((k, k))
    iu = np.triu_indices(k)
    CC[iu] = parts[0]
    CC[(iu[1], iu[0])] = parts[0]
    index = np.arange(V) if rows is None else np.asarray(rows, dtype=np.int64)
    r = len(index)
    corr = np.column_stack(
        [parts[6].reshape(r, k), parts[7], parts[8].reshape(r, k * (k + 1) // 2), parts[9].reshape(r, k),
         parts[10]]
    )  # fmt: skip
    nonzero = np.abs(corr).sum(axis=1) > 0
    return PooledSums(
        CC=CC, Cy=parts[1], yy=float(parts[2][0]), cg=parts[3].reshape(V, k), gy=parts[4],
        gg=parts[5], corr_idx=index[nonzero], corr=corr[nonzero], site_columns=site_columns,
    )  # fmt: skip
