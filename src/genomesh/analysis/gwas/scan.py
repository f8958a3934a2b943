"""The compiled inner loop of the node kernel: one pass over an int8 dosage chunk.

Most dosages of most variants are 0 (REF/REF), so the chunk is read as 8-byte words and
only the non-zero words are looked into; each non-zero dosage v of individual c adds
v · R[c, :] to its variant's row of G0 R, v to the allele count and v² w_c to g'Wg, and a
missing call (-1) is counted. One pass, no temporary arrays: the chunk is read once and the
per-variant results are p + 3 numbers. Summation runs in individual order in float64, like a
CSR or BLAS product, so results agree with a float64 reference to rounding.

Compiled with numba (`cache=True`: the machine code is kept next to this file, or in numba's
user cache, so only the first process ever pays the compile). `nogil` lets the dask threads
of one node scan chunks in parallel.
"""

from __future__ import annotations

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
