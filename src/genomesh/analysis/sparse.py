"""Sparse dosages: per variant, only the calls that are not REF/REF (like plink2's difflists).

Most variants of a cohort are rare, so most dosages are 0. A `SparseBlock` keeps, per
variant (CSC-like, variant-major), the sample indices with a non-zero dosage and those
dosages, and the sample indices with a missing call; a sum over the samples then touches
only those entries (the zeros add nothing, and whole-sample totals are known). Indices are
ascending within a variant, so sums run in sample order, as over the dense matrix.

`SparseSource` is one dataset's sparse dosages, either in memory or memory-mapped from the
node's dosage cache (`write_source` / `open_source`); `block(start, stop)` reads one range of
variants, so a reader's memory is bounded by the chunk. `SparseDosages` is what a
`LocalData.sparse_dosages` hands to the kernel: the source, the samples visible to this
analysis (in column order), and the chunking; `to_dask()` gives the dense int8 view that
other analyses read.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

PARTS = ("ptr", "idx", "val", "mptr", "midx")
DTYPES = {"ptr": np.int64, "idx": np.int32, "val": np.int8, "mptr": np.int64, "midx": np.int32}
MAX_SAMPLES = np.iinfo(np.int32).max


@dataclass
class SparseBlock:
    """m variants over n samples: non-zero calls (ptr, idx, val) and missing calls (mptr,
    midx); ptr and mptr are offsets (m + 1, starting at 0) into the index arrays."""

    ptr: np.ndarray  # int64, m + 1
    idx: np.ndarray  # int32, sample of each non-zero call (ascending per variant)
    val: np.ndarray  # int8, its dosage (1 .. ploidy)
    mptr: np.ndarray  # int64, m + 1
    midx: np.ndarray  # int32, sample of each missing call (ascending per variant)
    n: int

    @property
    def m(self) -> int:
        return len(self.ptr) - 1

    def dense(self, columns: np.ndarray | None = None) -> np.ndarray:
        """The int8 dosages (m x n, -1 missing), or only the samples `columns`, in that order."""
        out = _densify(self.ptr, self.idx, self.val, self.mptr, self.midx, self.n)
        return out if columns is None else np.ascontiguousarray(out[:, columns])


@njit(cache=True, nogil=True)
def _counts(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m, n = block.shape
    nz = np.zeros(m, np.int64)
    miss = np.zeros(m, np.int64)
    for i in range(m):
        for j in range(n):
            v = block[i, j]
            if v > 0:
                nz[i] += 1
            elif v < 0:
                miss[i] += 1
    return nz, miss


@njit(cache=True, nogil=True)
def _fill(
    block: np.ndarray,
    ptr: np.ndarray,
    idx: np.ndarray,
    val: np.ndarray,
    mptr: np.ndarray,
    midx: np.ndarray,
) -> None:
    m, n = block.shape
    for i in range(m):
        e, f = ptr[i], mptr[i]
        for j in range(n):
            v = block[i, j]
            if v > 0:
                idx[e] = j
                val[e] = v
                e += 1
            elif v < 0:
                midx[f] = j
                f += 1


@njit(cache=True, nogil=True)
def _densify(
    ptr: np.ndarray, idx: np.ndarray, val: np.ndarray, mptr: np.ndarray, midx: np.ndarray, n: int
) -> np.ndarray:
    m = len(ptr) - 1
    out = np.zeros((m, n), np.int8)
    for i in range(m):
        for e in range(ptr[i], ptr[i + 1]):
            out[i, idx[e]] = val[e]
        for e in range(mptr[i], mptr[i + 1]):
            out[i, midx[e]] = -1
    return out


def sparsify(block: np.ndarray) -> SparseBlock:
    """The sparse form of an int8 dosage block (variants x samples, -1 missing)."""
    g = np.ascontiguousarray(block, dtype=np.int8)
    if g.ndim != 2:
        raise ValueError("dosages must be a 2-d block (variants x samples)")
    if g.shape[1] > MAX_SAMPLES:
        raise ValueError("too many samples for 32-bit sample indices")
    nz, miss = _counts(g)
    ptr = np.concatenate([[0], np.cumsum(nz)]).astype(np.int64)
    mptr = np.concatenate([[0], np.cumsum(miss)]).astype(np.int64)
    idx, val = np.empty(ptr[-1], np.int32), np.empty(ptr[-1], np.int8)
    midx = np.empty(mptr[-1], np.int32)
    _fill(g, ptr, idx, val, mptr, midx)
    return SparseBlock(ptr, idx, val, mptr, midx, g.shape[1])


class SparseSource:
    """One dataset's sparse dosages (V variants x n samples), in memory or memory-mapped."""

    def __init__(self, parts: dict[str, np.ndarray], n: int, *, name: str, folder: Path | None):
        self.parts = parts
        self.n = int(n)
        self.name = name  # stable identity for dask's task names
        self.folder = folder

    @property
    def V(self) -> int:
        return len(self.parts["ptr"]) - 1

    @property
    def nnz(self) -> int:
        return int(self.parts["ptr"][-1])

    def block(self, start: int, stop: int) -> SparseBlock:
        """Variants [start, stop) as a block with its own offsets; the index arrays are views
        (of the memory map: pages are read as the kernel touches them)."""
        ptr, mptr = self.parts["ptr"][start : stop + 1], self.parts["mptr"][start : stop + 1]
        a, b, c, d = int(ptr[0]), int(ptr[-1]), int(mptr[0]), int(mptr[-1])
        return SparseBlock(
            ptr=np.asarray(ptr, dtype=np.int64) - a,
            idx=np.asarray(self.parts["idx"][a:b]),
            val=np.asarray(self.parts["val"][a:b]),
            mptr=np.asarray(mptr, dtype=np.int64) - c,
            midx=np.asarray(self.parts["midx"][c:d]),
            n=self.n,
        )

    def __dask_tokenize__(self) -> tuple[str, str]:
        return ("sparse-dosages", self.name)

    def __reduce__(self) -> tuple[Any, ...]:
        # to a distributed worker: a cache on disk travels as its folder, not its contents
        if self.folder is not None:
            return (open_source, (self.folder,))
        return (_in_memory, (self.parts, self.n, self.name))


def _in_memory(parts: dict[str, np.ndarray], n: int, name: str) -> SparseSource:
    return SparseSource(parts, n, name=name, folder=None)


def from_dense(dosages: np.ndarray, *, name: str, step: int = 4096) -> SparseSource:
    """A SparseSource in memory from dense int8 dosages (converted `step` variants at a time)."""
    blocks = [sparsify(dosages[a : a + step]) for a in range(0, dosages.shape[0], step)]
    return SparseSource(_join(blocks), dosages.shape[1], name=name, folder=None)


def _join(blocks: list[SparseBlock]) -> dict[str, np.ndarray]:
    if not blocks:
        return {p: np.zeros(1 if p.endswith("ptr") else 0, DTYPES[p]) for p in PARTS}
    out: dict[str, np.ndarray] = {}
    for ptr_name, names in (("ptr", ("idx", "val")), ("mptr", ("midx",))):
        ptrs = [getattr(b, ptr_name) for b in blocks]
        offsets = np.cumsum([0] + [int(ptr[-1]) for ptr in ptrs])
        out[ptr_name] = np.concatenate(
            [[0]] + [ptr[1:] + off for ptr, off in zip(ptrs, offsets, strict=False)]
        ).astype(np.int64)
        for name in names:
            out[name] = np.concatenate([getattr(b, name) for b in blocks]).astype(DTYPES[name])
    return out


def write_source(folder: Path, blocks: Any, n: int) -> None:
    """Write sparse dosages, block by block (an iterable of SparseBlock over n samples), to
    `folder` atomically (a temporary folder renamed); memory stays bounded by one block."""
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    files = {p: open(tmp / f"{p}.bin", "wb") for p in PARTS}  # noqa: SIM115 (closed below)
    try:
        nnz, nmiss, V = 0, 0, 0
        files["ptr"].write(np.zeros(1, np.int64).tobytes())
        files["mptr"].write(np.zeros(1, np.int64).tobytes())
        for block in blocks:
            files["ptr"].write((block.ptr[1:] + nnz).astype(np.int64).tobytes())
            files["mptr"].write((block.mptr[1:] + nmiss).astype(np.int64).tobytes())
            for name in ("idx", "val", "midx"):
                files[name].write(np.asarray(getattr(block, name), DTYPES[name]).tobytes())
            nnz += int(block.ptr[-1])
            nmiss += int(block.mptr[-1])
            V += block.m
    finally:
        for f in files.values():
            f.close()
    (tmp / "meta.json").write_text(json.dumps({"V": V, "n": int(n), "nnz": nnz, "nmiss": nmiss}))
    try:
        os.replace(tmp, folder)
    except OSError:  # another process wrote the same version first: keep its copy
        shutil.rmtree(tmp, ignore_errors=True)
        if not (folder / "meta.json").is_file():
            raise


def open_source(folder: Path) -> SparseSource:
    """The sparse dosages `write_source` wrote, memory-mapped."""
    meta = json.loads((Path(folder) / "meta.json").read_text())
    sizes = {"ptr": meta["V"] + 1, "mptr": meta["V"] + 1, "idx": meta["nnz"], "val": meta["nnz"],
             "midx": meta["nmiss"]}  # fmt: skip
    parts = {
        p: np.memmap(Path(folder) / f"{p}.bin", dtype=DTYPES[p], mode="r", shape=(sizes[p],))
        if sizes[p]
        else np.zeros(0, DTYPES[p])
        for p in PARTS
    }
    return SparseSource(parts, meta["n"], name=str(folder), folder=Path(folder))


@dataclass
class SparseDosages:
    """A dataset's dosages for one analysis, sparse: `columns` are the visible samples (sample
    indices of the source, in the analysis's column order), read `chunk` variants at a time."""

    source: SparseSource
    columns: np.ndarray
    chunk: int

    @property
    def shape(self) -> tuple[int, int]:
        return (self.source.V, len(self.columns))

    def ranges(self) -> list[tuple[int, int]]:
        """Variant ranges of `chunk` variants (the dense view's chunks)."""
        V, step = self.source.V, max(1, int(self.chunk))
        return [(a, min(a + step, V)) for a in range(0, V, step)]

    def sparse_ranges(self, max_variants: int = 1 << 16) -> list[tuple[int, int]]:
        """Variant ranges for the sparse kernel, each holding about the bytes of one dense
        chunk (`chunk` variants x n samples, at 5 bytes per stored call) and at most
        `max_variants` variants: memory stays bounded by the chunk size, and a cohort of
        mostly rare variants needs far fewer tasks than dense chunks would."""
        V = self.source.V
        budget = max(1, int(self.chunk)) * max(1, self.source.n) // 5
        ptr = np.asarray(self.source.parts["ptr"])
        out, start = [], 0
        while start < V:
            # the last variant whose calls still fit the budget (at least one variant)
            stop = int(np.searchsorted(ptr, ptr[start] + budget, side="right")) - 1
            stop = min(max(stop, start + 1), start + max_variants, V)
            out.append((start, stop))
            start = stop
        return out

    def column_map(self, keep: np.ndarray | None = None) -> np.ndarray:
        """Per source sample, its row in the analysis (-1: not analysed); `keep` selects the
        analysed among the visible columns."""
        chosen = self.columns if keep is None else self.columns[keep]
        colmap = np.full(self.source.n, -1, dtype=np.int64)
        colmap[chosen] = np.arange(len(chosen))
        return colmap

    def to_dask(self) -> Any:
        """The dense int8 view (variants x visible samples), one dask chunk per range."""
        import dask
        import dask.array as da

        if not self.source.V:
            return da.zeros((0, len(self.columns)), dtype=np.int8)
        columns = None if _is_identity(self.columns, self.source.n) else self.columns
        parts = [
            da.from_delayed(
                dask.delayed(_dense_range)(self.source, a, b, columns),
                shape=(b - a, len(self.columns)),
                dtype=np.int8,
            )
            for a, b in self.ranges()
        ]
        return da.concatenate(parts, axis=0)


def _dense_range(source: SparseSource, a: int, b: int, columns: np.ndarray | None) -> np.ndarray:
    return source.block(a, b).dense(columns)


def _is_identity(columns: np.ndarray, n: int) -> bool:
    return len(columns) == n and bool(np.array_equal(columns, np.arange(n)))


__all__ = [
    "SparseBlock", "SparseDosages", "SparseSource", "from_dense", "open_source", "sparsify",
    "write_source",
]  # fmt: skip
