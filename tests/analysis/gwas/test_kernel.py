"""The streaming kernel: sparse and dense chunks, with and without missing calls and weights,
equal a naive float64 computation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from genomesh.analysis import sparse
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


@pytest.mark.parametrize(("density", "missing"), [(0.04, 0.02), (0.6, 0.0), (0.0, 0.0)])
@pytest.mark.parametrize("weighted", [False, True])
def test_sparse_chunk_stats__equal_dense(density: float, missing: float, weighted: bool) -> None:
    """The sparse kernel (non-zero and missing calls only, a subset of people analysed, in
    sample order) gives the dense kernel's numbers."""
    rng = np.random.default_rng(11)
    shape = (157, 601)
    g = ((rng.random(shape) < density) * rng.integers(1, 3, shape)).astype(np.int8)
    g[rng.random(shape) < missing] = -1
    keep = rng.random(shape[1]) < 0.8
    n = int(keep.sum())
    p = 11 if weighted else 4  # more than 8 columns: two passes of eight accumulators
    R, Q, w = rng.normal(size=(n, p)), rng.normal(size=(n, 9)), rng.random(n)
    dense = kernel.chunk_stats(g, columns=np.flatnonzero(keep), R=R, Q=Q, w=w if weighted else None)
    block = sparse.sparsify(g)
    np.testing.assert_array_equal(block.dense(), g)
    colmap = np.full(shape[1], -1)
    colmap[keep] = np.arange(n)
    got = kernel.sparse_chunk_stats(block, colmap=colmap, R=R, Q=Q, w=w if weighted else None)
    np.testing.assert_array_equal(got.GR, dense.GR)  # same order of summation: bit for bit
    np.testing.assert_array_equal(got.gwg, dense.gwg)
    np.testing.assert_array_equal(got.ac, dense.ac)
    np.testing.assert_array_equal(got.nobs, dense.nobs)
    np.testing.assert_array_equal(got.miss_rows, dense.miss_rows)
    np.testing.assert_allclose(got.miss_Q, dense.miss_Q, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(got.miss_packed, dense.miss_packed)


def test_sparse_source__on_disk_equals_in_memory(tmp_path) -> None:
    """Written block by block and memory-mapped, any range of variants reads back the same
    calls, and the dense view of a subset of samples equals slicing the dense matrix."""
    rng = np.random.default_rng(3)
    g = ((rng.random((300, 77)) < 0.1) * rng.integers(1, 3, (300, 77))).astype(np.int8)
    g[rng.random(g.shape) < 0.01] = -1
    g[40:60] = 0  # a run of variants without any call
    folder = tmp_path / "v1.sparse"
    sparse.write_source(folder, (sparse.sparsify(g[a : a + 64]) for a in range(0, 300, 64)), 77)
    source = sparse.open_source(folder)
    assert (source.V, source.n, source.nnz) == (300, 77, int((g > 0).sum()))
    for a, b in [(0, 300), (35, 61), (299, 300), (50, 50)]:
        np.testing.assert_array_equal(source.block(a, b).dense(), g[a:b])
    columns = np.array([5, 3, 70, 0])
    view = sparse.SparseDosages(source, columns, chunk=50).to_dask()
    np.testing.assert_array_equal(view.compute(), g[:, columns])
    memory = sparse.from_dense(g, name="m", step=33)
    np.testing.assert_array_equal(memory.block(0, 300).dense(), g)


def test_sparse_ranges__cover_every_variant_within_the_chunk_budget() -> None:
    rng = np.random.default_rng(5)
    g = ((rng.random((500, 40)) < 0.05) * 1).astype(np.int8)
    g[100:110] = 2  # dense variants: one range holds only a few of them
    source = sparse.from_dense(g, name="r")
    view = sparse.SparseDosages(source, np.arange(40), chunk=10)  # budget: 10 x 40 / 5 = 80
    ranges = view.sparse_ranges()
    assert ranges[0][0] == 0 and ranges[-1][1] == 500
    assert all(a < b and b == c for (a, b), (c, _) in itertools.pairwise(ranges))
    ptr = source.parts["ptr"]
    assert all(ptr[b] - ptr[a] <= 80 or b - a == 1 for a, b in ranges)
    assert len(ranges) < len(view.ranges())  # rare variants: fewer, longer ranges


def test_write_source__a_second_writer_keeps_the_first_copy(tmp_path) -> None:
    g = np.eye(5, dtype=np.int8)
    folder = tmp_path / "v1.sparse"
    sparse.write_source(folder, [sparse.sparsify(g)], 5)
    sparse.write_source(folder, [sparse.sparsify(2 * g)], 5)  # e.g. another node process
    np.testing.assert_array_equal(sparse.open_source(folder).block(0, 5).dense(), g)
    assert [p.name for p in tmp_path.iterdir()] == ["v1.sparse"]  # no temporary left behind


def test_stream_stats__sparse_gives_p_columns() -> None:
    """Through dask, with R padded for the compiled pass: still exactly p columns out."""
    g = np.array([[0, 1, 2, -1], [1, 0, 0, 0]], dtype=np.int8)
    R, Q = np.arange(12.0).reshape(4, 3), np.ones((4, 2))
    view = sparse.SparseDosages(sparse.from_dense(g, name="p"), np.arange(4), chunk=1)
    got = kernel.stream_stats(view, compute=lambda *t: tuple(d.compute() for d in t),
                              columns=None, R=R, Q=Q)  # fmt: skip
    np.testing.assert_array_equal(got.GR, np.where(g < 0, 0, g) @ R)
    np.testing.assert_array_equal(got.nobs, [3, 4])
