"""The node's streaming kernel: per-variant sufficient statistics from one dosage chunk.

For a chunk G (m variants x n individuals, int8, -1 = missing) and a right-hand side R
(n x p, float64) the kernel returns, per variant,

    GR   = G0 R           (m x p)   G0 = G with missing set to 0
    gwg  = Σ_i w_i g_i²   (m)       (w = 1 for linear regression)
    ac   = Σ_i g_i        (m)       ALT allele count over observed genotypes
    nobs = #observed      (m)

and, for variants with missing genotypes, the sums over the missing individuals of the rows
of Q (n x q): the corrections that turn whole-sample sums such as C'C into the complete-case
sums plink2 uses for that variant (it drops a sample from a variant's regression when its
genotype is missing). The packed missing masks come back too, for the disclosure check that
no two missing sets differ by fewer than the minimum count.

Dosages are small integers and the sums are float64, so results agree with a float64
reference to rounding. The pass over the dosages is compiled (`genomesh.analysis.gwas.scan`)
and touches only the non-zero calls; memory is bounded by the chunk and its p + 3 numbers per
variant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from genomesh.analysis.gwas.scan import padded, scan, scan_sparse
from genomesh.analysis.sparse import SparseBlock, SparseDosages, SparseSource


@dataclass
class ChunkStats:
    """What one chunk yields (rows are the chunk's variants)."""

    GR: np.ndarray  # m x p
    gwg: np.ndarray  # m
    ac: np.ndarray  # m, int64
    nobs: np.ndarray  # m, int64
    miss_rows: np.ndarray  # r, int64 (chunk-local rows with a missing genotype)
    miss_Q: np.ndarray  # r x q
    miss_packed: np.ndarray  # r x ceil(n/8) uint8


def upper_products(C: np.ndarray) -> np.ndarray:
    """The upper triangle (row-major, with diagonal) of c c' for every row c of C."""
    k = C.shape[1]
    iu, ju = np.triu_indices(k)
    return C[:, iu] * C[:, ju]


def unpack_upper(flat: np.ndarray, k: int) -> np.ndarray:
    """Symmetric k x k matrices from their upper triangles (..., k(k+1)/2)."""
    iu, ju = np.triu_indices(k)
    out = np.zeros((*flat.shape[:-1], k, k), dtype=flat.dtype)
    out[..., iu, ju] = flat
    out[..., ju, iu] = flat
    return out


def correction_rows(C: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Q = [C, y, upper(c c'), C*y, y²] per individual (n x q)."""
    return np.hstack([C, y[:, None], upper_products(C), C * y[:, None], (y * y)[:, None]])


def correction_width(k: int) -> int:
    return k + 1 + k * (k + 1) // 2 + k + 1


def chunk_stats(
    block: np.ndarray,
    *,
    columns: np.ndarray | None,
    R: np.ndarray,
    Q: np.ndarray,
    w: np.ndarray | None = None,
) -> ChunkStats:
    """The kernel on one chunk; `columns` selects the analysed individuals (None: all).

    One compiled pass (`scan`) touches each non-zero dosage once; the corrections for the
    (few) variants with missing calls follow in NumPy.
    """
    g = np.asarray(block)
    if columns is not None:
        g = g[:, columns]
    GR, gwg, ac, nmiss = scan(g, R, w)
    miss_rows = np.flatnonzero(nmiss)
    return _with_missing(g, GR, gwg, ac, g.shape[1] - nmiss, miss_rows, Q)


def _with_missing(
    g: np.ndarray,
    GR: np.ndarray,
    gwg: np.ndarray,
    ac: np.ndarray,
    nobs: np.ndarray,
    miss_rows: np.ndarray,
    Q: np.ndarray,
) -> ChunkStats:
    """Add the corrections (sums of Q over the missing people) and packed missing masks."""
    if len(miss_rows):
        M = g[miss_rows] < 0
        miss_Q = M.astype(np.float64) @ Q
        packed = np.packbits(M, axis=1)
    else:
        miss_Q = np.zeros((0, Q.shape[1]))
        packed = np.zeros((0, (g.shape[1] + 7) // 8), dtype=np.uint8)
    return ChunkStats(
        np.ascontiguousarray(GR), gwg, ac, nobs, miss_rows.astype(np.int64), miss_Q, packed
    )


def sparse_chunk_stats(
    block: SparseBlock,
    *,
    colmap: np.ndarray,
    R: np.ndarray,
    Q: np.ndarray,
    w: np.ndarray | None = None,
    p: int | None = None,
) -> ChunkStats:
    """The kernel on one sparse chunk; `colmap` maps the block's samples to rows of R
    (-1: not analysed; R may be padded, its first `p` columns real). The same numbers as
    `chunk_stats` on the dense chunk."""
    GR, gwg, ac, nmiss, miss_rows, miss_Q, packed = scan_sparse(
        block, colmap, R.shape[0], R, Q, w, p
    )
    return ChunkStats(GR, gwg, ac, R.shape[0] - nmiss, miss_rows, miss_Q, packed)


def _sparse_range(
    source: SparseSource, start: int, stop: int, inputs: tuple[Any, ...]
) -> ChunkStats:
    colmap, R8, p, Q, w = inputs
    return sparse_chunk_stats(source.block(start, stop), colmap=colmap, R=R8, Q=Q, w=w, p=p)


def stream_stats(
    dosages: Any,
    *,
    compute: Callable[..., tuple[Any, ...]],
    columns: np.ndarray | None,
    R: np.ndarray,
    Q: np.ndarray,
    w: np.ndarray | None = None,
    keep: np.ndarray | None = None,
) -> ChunkStats:
    """The kernel over every chunk of the dosages (variants x individuals), concatenated.

    `dosages` is a dask array (dense int8; `columns` selects the analysed individuals) or a
    `SparseDosages` (`keep` selects the analysed among its visible columns). Each chunk is
    one task on the node's scheduler (threads by default, or a distributed cluster): only
    chunk-sized buffers are alive per worker, and the per-variant results are small (p + 4
    numbers per variant, plus corrections for variants with missing calls).
    """
    import dask

    if isinstance(dosages, SparseDosages):
        # one delayed for the per-person inputs, so dask hashes them once, not per chunk
        inputs = dask.delayed(
            (dosages.column_map(keep), padded(R), R.shape[1], Q, w), pure=True, traverse=False
        )
        tasks = [
            dask.delayed(_sparse_range, pure=True)(dosages.source, a, b, inputs)
            for a, b in dosages.sparse_ranges()
        ]
    else:
        tasks = [
            dask.delayed(chunk_stats)(block, columns=columns, R=R, Q=Q, w=w)
            for block in dosages.to_delayed().ravel()
        ]
    parts: list[ChunkStats] = list(compute(*tasks)) if tasks else []
    return concat(parts, p=R.shape[1], q=Q.shape[1], n=R.shape[0])


def concat(parts: list[ChunkStats], *, p: int, q: int, n: int) -> ChunkStats:
    """Chunks joined in variant order (chunk-local missing rows made global)."""
    if not parts:
        return ChunkStats(
            np.zeros((0, p)), np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64),
            np.zeros(0, np.int64), np.zeros((0, q)), np.zeros((0, (n + 7) // 8), np.uint8),
        )  # fmt: skip
    offsets = np.cumsum([0] + [len(part.gwg) for part in parts[:-1]])
    return ChunkStats(
        GR=np.vstack([part.GR for part in parts]),
        gwg=np.concatenate([part.gwg for part in parts]),
        ac=np.concatenate([part.ac for part in parts]),
        nobs=np.concatenate([part.nobs for part in parts]),
        miss_rows=np.concatenate(
            [part.miss_rows + off for part, off in zip(parts, offsets, strict=True)]
        ),
        miss_Q=np.vstack([part.miss_Q for part in parts]),
        miss_packed=np.vstack([part.miss_packed for part in parts]),
    )
