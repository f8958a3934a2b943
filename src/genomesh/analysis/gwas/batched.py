"""Many small linear systems at once, compiled: A_b x_b = B_b for b = 1..n (k x k each).

The hub solves one k x k system per variant with a missing-genotype correction (its own
complete-case C'C). `numpy.linalg.solve` on a stack calls LAPACK once per matrix with ~1 µs
of overhead each, and fails the whole stack when one matrix is singular; this is Gaussian
elimination with partial pivoting in one compiled loop (~0.1 µs for k = 5), and a singular
system gives NaN for its variant alone.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _solve(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    n, k, _ = A.shape
    r = B.shape[2]
    X = np.empty((n, k, r))
    M = np.empty((k, k))
    R = np.empty((k, r))
    for b in range(n):
        M[:, :] = A[b]
        R[:, :] = B[b]
        scale = 0.0
        for i in range(k):
            for j in range(k):
                scale = max(scale, abs(M[i, j]))
        singular = scale == 0.0
        for col in range(k):
            if singular:
                break
            pivot = col
            for i in range(col + 1, k):
                if abs(M[i, col]) > abs(M[pivot, col]):
                    pivot = i
            if abs(M[pivot, col]) <= 1e-14 * scale:
                singular = True
                break
            if pivot != col:
                for j in range(k):
                    M[col, j], M[pivot, j] = M[pivot, j], M[col, j]
                for j in range(r):
                    R[col, j], R[pivot, j] = R[pivot, j], R[col, j]
            for i in range(col + 1, k):
                f = M[i, col] / M[col, col]
                if f != 0.0:
                    for j in range(col, k):
                        M[i, j] -= f * M[col, j]
                    for j in range(r):
                        R[i, j] -= f * R[col, j]
        if singular:
            X[b, :, :] = np.nan
            continue
        for i in range(k - 1, -1, -1):
            for j in range(r):
                s = R[i, j]
                for t in range(i + 1, k):
                    s -= M[i, t] * X[b, t, j]
                X[b, i, j] = s / M[i, i]
    return X


def solve_many(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """X with A[b] @ X[b] = B[b]: A is n x k x k, B n x k x r (float64); NaN rows where A[b]
    is singular (relative to its largest entry)."""
    A = np.ascontiguousarray(A, dtype=np.float64)
    B = np.ascontiguousarray(B, dtype=np.float64)
    if A.ndim != 3 or A.shape[1] != A.shape[2] or B.shape[:2] != A.shape[:2]:
        raise ValueError("A must be n x k x k and B n x k x r")
    return _solve(A, B)  # type: ignore[no-any-return]
