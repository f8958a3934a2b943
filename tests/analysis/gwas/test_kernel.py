"""The streaming kernel: sparse and dense chunks, with and without missing calls and weights,
equal a naive float64 computation."""

from __future__ import annotations

import numpy as np
import pytest

from genomesh.analysis.gwas import kernel


@pytest.mark.parametrize(
    ("density", "missing"), [(0.04, 0.0), (0.04, 0.02), (0.6, 0.02), (0.6, 0.0)]
)
@pytest.mark.parametrize("weighted", [False, True])
def test_chunk_stats__equal_naive(density: float, missing: float, weighted: bool) -> None:
    rng = np.random.default_rng(7)
    shape = (211, 1003)  # not a multiple of 8: the word scan's tail is used
    g = ((rng.random(shape) < density) * rng.integers(1, 3, shape)).astype(np.int8)
    g[rng.random(shape) < missing] = -1
    R, Q, w = rng.normal(size=(shape[1], 5)), rng.normal(size=(shape[1], 7)), rng.random(shape[1])
    got = kernel.chunk_stats(g, columns=None, R=R, Q=Q, w=w if weighted else None)
    G0 = np.where(g < 0, 0, g).astype(np.float64)
    np.testing.assert_allclose(got.GR, G0 @ R, rtol=1e-12, atol=1e-11)
    np.testing.assert_allclose(
        got.gwg, (G0**2) @ (w if weighted else np.ones(shape[1])), rtol=1e-12
    )
    np.testing.assert_array_equal(got.ac, G0.sum(axis=1))
    np.testing.assert_array_equal(got.nobs, (g >= 0).sum(axis=1))
    rows = np.flatnonzero((g < 0).any(axis=1))
    np.testing.assert_array_equal(got.miss_rows, rows)
    np.testing.assert_allclose(got.miss_Q, (g[rows] < 0).astype(float) @ Q, rtol=1e-12, atol=1e-11)
