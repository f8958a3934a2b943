"""The compiled inner loops of the node kernel: one pass over a dosage chunk, dense or sparse.

Most dosages of most variants are 0 (REF/REF), so the chunk is read as 8-byte words and
only the non-zero words are looked into; each non-zero dosage v of individual c adds
v · R[c, :] to its variant's row of G0 R, v to the allele count and v² w_c to g'Wg, and a
missing call (-1) is counted. One pass, no temporary arrays: the chunk is read once and the
per-variant results are p + 3 numbers. Summation runs in individual order in float64, like a
CSR or BLAS product, so results agree with a float64 reference to rounding.

`_scan_sparse` does the same over a sparse chunk (`genomesh.analysis.sparse`: per variant
the non-zero calls and the missing calls, as plink2's difflists), so it touches only those
entries and never reads the zeros at all; it also sums the correction rows over the missing
people and packs their masks, in the same pass structure.

Compiled with numba (`cache=True`: the machine code is kept next to this file, or in numba's
user cache, so only the first process ever pays the compile). `nogil` lets the dask threads
of one node scan chunks in parallel.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _scan(
    flat: np.ndarray,
    words: np.ndarray,
    m: int,
    n: int,
    R: np.ndarray,
    w: np.ndarray,
    weighted: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    p = R.shape[1]
    GR = np.zeros((m, p))
    gwg = np.zeros(m)
    ac = np.zeros(m, np.int64)
    nmiss = np.zeros(m, np.int64)
    acc = np.zeros(p)
    for i in range(m):
        start = i * n
        end = start + n
        acc[:] = 0.0
        count, squares, missing = 0, 0.0, 0
        j = start
        while j < end:
            # a whole word of zeros (8 REF/REF calls) is skipped in one comparison
            if (j & 7) == 0 and j + 8 <= end and words[j >> 3] == 0:
                j += 8
                continue
            v = flat[j]
            if v < 0:
                missing += 1
            elif v > 0:
                c = j - start
                fv = float(v)
                count += v
                squares += fv * fv * w[c] if weighted else fv * fv
                for q in range(p):
                    acc[q] += fv * R[c, q]
            j += 1
        GR[i, :] = acc
        gwg[i] = squares
        ac[i] = count
        nmiss[i] = missing
    return GR, gwg, ac, nmiss


def scan(
    g: np.ndarray, R: np.ndarray, w: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(G0 R, Σ w g², allele counts, missing counts) per row of the int8 block `g` (m x n);
    R is n x p; w None means unweighted."""
    g = np.ascontiguousarray(g, dtype=np.int8)
    m, n = g.shape
    flat = g.reshape(-1)
    words = flat[: len(flat) // 8 * 8].view(np.uint64)
    R = np.ascontiguousarray(R, dtype=np.float64)
    weights = np.ascontiguousarray(w, dtype=np.float64) if w is not None else np.zeros(0)
    return _scan(flat, words, m, n, R, weights, w is not None)  # type: ignore[no-any-return]


@njit(cache=True, nogil=True)
def _scan_sparse(
    ptr: np.ndarray,
    idx: np.ndarray,
    val: np.ndarray,
    mptr: np.ndarray,
    midx: np.ndarray,
    colmap: np.ndarray,
    n: int,
    R8: np.ndarray,
    p: int,
    w: np.ndarray,
    weighted: bool,
    Q: np.ndarray,
) -> tuple[np.ndarray, ...]:
    m = len(ptr) - 1
    q = Q.shape[1]
    GR = np.zeros((m, p))
    gwg = np.zeros(m)
    ac = np.zeros(m, np.int64)
    nmiss = np.zeros(m, np.int64)
    for i in range(m):
        # R8 has its columns padded to a multiple of 8: eight accumulators in registers per
        # pass over the variant's non-zero calls (~1.6x the speed of a loop over p)
        for block in range(0, R8.shape[1], 8):
            a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
            count, squares = 0, 0.0
            for e in range(ptr[i], ptr[i + 1]):
                c = colmap[idx[e]]
                if c < 0:
                    continue
                v = val[e]
                fv = float(v)
                if block == 0:
                    count += v
                    squares += fv * fv * w[c] if weighted else fv * fv
                r = R8[c, block : block + 8]
                a0 += fv * r[0]
                a1 += fv * r[1]
                a2 += fv * r[2]
                a3 += fv * r[3]
                a4 += fv * r[4]
                a5 += fv * r[5]
                a6 += fv * r[6]
                a7 += fv * r[7]
            acc = (a0, a1, a2, a3, a4, a5, a6, a7)
            for t in range(min(8, p - block)):
                GR[i, block + t] = acc[t]
            if block == 0:
                ac[i] = count
                gwg[i] = squares
        missing = 0
        for e in range(mptr[i], mptr[i + 1]):
            if colmap[midx[e]] >= 0:
                missing += 1
        nmiss[i] = missing
    n_missing_rows = 0
    for i in range(m):
        if nmiss[i] > 0:
            n_missing_rows += 1
    miss_rows = np.empty(n_missing_rows, np.int64)
    miss_Q = np.zeros((n_missing_rows, q))
    packed = np.zeros((n_missing_rows, (n + 7) // 8), np.uint8)
    j = 0
    for i in range(m):
        if nmiss[i] == 0:
            continue
        miss_rows[j] = i
        for e in range(mptr[i], mptr[i + 1]):
            c = colmap[midx[e]]
            if c < 0:
                continue
            for t in range(q):
                miss_Q[j, t] += Q[c, t]
            packed[j, c >> 3] |= np.uint8(128 >> (c & 7))
        j += 1
    return GR, gwg, ac, nmiss, miss_rows, miss_Q, packed


def padded(R: np.ndarray) -> np.ndarray:
    """R (n x p) as float64 with its columns padded by zeros to a multiple of 8."""
    n, p = R.shape
    out = np.zeros((n, max(8, -(-p // 8) * 8)))
    out[:, :p] = R
    return out


def scan_sparse(
    block: Any,
    colmap: np.ndarray,
    n: int,
    R: np.ndarray,
    Q: np.ndarray,
    w: np.ndarray | None,
    p: int | None = None,
) -> tuple[np.ndarray, ...]:
    """The same sums over a `SparseBlock`, touching only its non-zero and missing calls:
    (G0 R, Σ w g², allele counts, missing counts, rows with a missing call, their sums of Q
    over the missing people, packed missing masks). `colmap` maps each sample of the block to
    its row of R and Q (-1: not analysed); n analysed people. R may come padded already
    (`padded`), with its first `p` columns the real ones."""
    p = R.shape[1] if p is None else p
    R8 = R if R.shape[1] % 8 == 0 and R.dtype == np.float64 else padded(R)
    Q = np.ascontiguousarray(Q, dtype=np.float64)
    weights = np.ascontiguousarray(w, dtype=np.float64) if w is not None else np.zeros(0)
    return _scan_sparse(  # type: ignore[no-any-return]
        block.ptr, block.idx, block.val, block.mptr, block.midx,
        np.ascontiguousarray(colmap, dtype=np.int64), int(n), np.ascontiguousarray(R8), p,
        weights, w is not None, Q,
    )  # fmt: skip
