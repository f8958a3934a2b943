"""The node-side `LocalData`: a dataset store seen through the guard's decision.

Only the individuals the guard allowed for a dataset are visible: `individuals()` lists
them, `dosages()` has one column per allowed individual with genotypes, in that order.
Genotypes stream from the dataset's VCF Zarr `call_genotype` as a dask array chunked along
variants, so memory is bounded by `chunk_variants x individuals`, not by the number of
variants. `compute()` runs dask collections on the node's scheduler: the local threaded
scheduler by default, or a `distributed` cluster (`NodeSettings.dask_scheduler`).

Everything an analysis reads is remembered per dataset (`read`), so the runner can record
who shaped a reply when the analysis does not say so itself.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dask
import dask.array as da
import numpy as np
import pandas as pd

from genomesh.analysis.dosage import dosage_block
from genomesh.core.errors import InvalidInputError
from genomesh.store.individuals import AGE_ASSAY, age_in_years

if TYPE_CHECKING:
    from genomesh.core.settings import NodeSettings
    from genomesh.store import DatasetStore, NodeStore

DEFAULT_CHUNK_VARIANTS = 10_000
VARIANT_COLUMNS = ["variant_index", "chrom", "pos", "variant_id", "ref", "alt"]
_SEX = {"female": "female", "male": "male"}


def _age(document: str | None, measured: float | None) -> float:
    """Age in years: the Age measure if there is one, else the latest age a measure was
    observed at in the Beacon document (`observationMoment`), else NaN."""
    if measured is not None and not np.isnan(measured):
        return float(measured)
    if not document:
        return float("nan")
    ages = []
    for measure in json.loads(document).get("measures") or []:
        moment = (measure or {}).get("observationMoment") or {}
        duration = moment.get("iso8601duration") or (moment.get("age") or {}).get("iso8601duration")
        years = age_in_years(duration) if isinstance(duration, str) else None
        if years is not None:
            ages.append(years)
    return max(ages) if ages else float("nan")


def _dosage_block(block: np.ndarray) -> np.ndarray:
    """Alt-allele count per call (variants x samples x ploidy -> variants x samples), -1 when
    no allele of the call was observed; the same rule as `DatasetStore.genotypes`."""
    return dosage_block(block)


class StoreLocalData:
    """`genomesh.analysis.protocol.LocalData` over a node's store, restricted to `allowed`."""

    def __init__(
        self,
        node: NodeStore,
        allowed: Mapping[str, frozenset[str]],
        *,
        settings: NodeSettings,
        scheduler: Any = None,
        chunk_variants: int | None = None,
    ) -> None:
        self.node = node
        self.allowed = dict(allowed)
        self.dataset_ids: Sequence[str] = tuple(self.allowed)
        self.settings = settings
        self.scheduler = scheduler if scheduler is not None else "threads"
        self.chunk_variants = chunk_variants or DEFAULT_CHUNK_VARIANTS
        self.read: dict[str, set[str]] = {d: set() for d in self.allowed}
        self._lock = threading.Lock()

    def _store(self, dataset_id: str) -> DatasetStore:
        if dataset_id not in self.allowed:
            raise InvalidInputError(
                f"dataset {dataset_id!r} is not part of this analysis at this node",
                field="datasets",
            )
        return self.node.dataset(dataset_id)

    def _note(self, dataset_id: str, ids: Sequence[str]) -> None:
        with self._lock:
            self.read[dataset_id].update(ids)

    # ------------------------------------------------------------------ tables
    def individuals(self, dataset_id: str, *, genotyped: bool = True) -> pd.DataFrame:
        """One row per allowed individual (with genotypes unless `genotyped=False`), in
        genotype column order: `individual_id`, `sex`, `age`, `population`, `phenotypes`
        (observed HPO features and diseases), then one float column per measured assay
        (named by assay id, e.g. `LOINC:39156-5`)."""
        table = _people(self._store(dataset_id))
        table = table[_member(table["individual_id"], self.allowed[dataset_id])]
        if genotyped:
            table = table[table["sample_index"] >= 0]
        table = table.sort_values(["sample_index", "individual_id"]).reset_index(drop=True)
        self._note(dataset_id, table["individual_id"].tolist())
        return table.drop(columns=["sample_index"])

    def variants(self, dataset_id: str) -> pd.DataFrame:
        """The dataset's variants in store order (`variant_index` = dosage row)."""
        return _variants(self._store(dataset_id))

    def variant_keys(self, dataset_id: str) -> list[str]:
        """`chrom:pos:ref:alt` per variant in store order (cached per store version; do not
        modify the list)."""
        from genomesh.analysis.gwas.design import variant_keys

        store = self._store(dataset_id)
        return _cached_keys(str(store.path), variant_keys)

    def min_count(self, dataset_id: str) -> int:
        return int(self.settings.policy_for(dataset_id).min_count)

    def min_mac(self, dataset_id: str) -> int:
        return int(self.settings.analysis_min_mac)

    # ------------------------------------------------------------------ genotypes
    def dosages(self, dataset_id: str, *, chunk_variants: int | None = None) -> da.Array:
        """int8 dosages (variants x allowed genotyped individuals), -1 missing, lazily read
        from Zarr in chunks of `chunk_variants` variants (a multiple of the store's chunk)."""
        store = self._store(dataset_id)
        people = _people(store)
        people = people[
            _member(people["individual_id"], self.allowed[dataset_id])
            & (people["sample_index"] >= 0)
        ].sort_values(["sample_index", "individual_id"])
        columns = people["sample_index"].to_numpy(dtype=np.intp)
        self._note(dataset_id, people["individual_id"].tolist())
        if getattr(self.settings, "analysis_dosage_cache", False):
            return self._cached_dosages(store, columns, chunk_variants)
        calls = da.from_zarr(str(store.zarr_path), component="call_genotype")
        stored = calls.chunksize[0]
        step = max(1, int(chunk_variants or self.chunk_variants))
        step = max(stored, (step // stored) * stored) if step >= stored else step
        calls = calls.rechunk((step, -1, -1))
        if columns.size != calls.shape[1] or not np.array_equal(columns, np.arange(calls.shape[1])):
            calls = calls[:, columns, :]
        return calls.map_blocks(_dosage_block, drop_axis=2, dtype=np.int8)

    def _cached_dosages(
        self, store: DatasetStore, columns: np.ndarray, chunk_variants: int | None
    ) -> da.Array:
        """The dosages from the node's uncompressed cache of this dataset version (built on
        first use), as a dask array over a memory map: same values, no decompression."""
        source = dosage_cache(Path(self.settings.node_dir), store)
        step = max(1, int(chunk_variants or self.chunk_variants))
        # an explicit name: dask would otherwise hash the whole memory map to name it; and
        # wrapped: from_array copies anything with a `copy` method, which for a memory map
        # read the whole file into memory on every round (~0.3 s and 830 MB a node at 20,000
        # x 124,740), where each chunk task should read only its rows
        dosages = da.from_array(
            _Mapped(source), chunks=(step, -1), name=f"dosages-{store.path}-{step}", asarray=False
        )
        if columns.size != source.shape[1] or not np.array_equal(
            columns, np.arange(source.shape[1])
        ):
            dosages = dosages[:, columns]
        return dosages

    def compute(self, *collections: Any) -> tuple[Any, ...]:
        if hasattr(self.scheduler, "compute") and hasattr(self.scheduler, "gather"):
            futures = self.scheduler.compute(list(collections))
            return tuple(self.scheduler.gather(futures))
        return tuple(dask.compute(*collections, scheduler=self.scheduler))


@lru_cache(maxsize=32)
def _people_cached(path: str) -> pd.DataFrame:
    from genomesh.store import DatasetStore

    store = DatasetStore(Path(path))  # a version folder is immutable: cache by its path
    con = store.connect()
    try:
        people = con.execute(
            "SELECT individual_id, coalesce(sample_index, -1) AS sample_index, sex_label, "
            "coalesce(ethnicity_label, ethnicity_id, 'unknown') AS population, document "
            "FROM individuals"
        ).fetchdf()
        terms = con.execute(
            "SELECT individual_id, list(DISTINCT term_id ORDER BY term_id) AS phenotypes FROM ("
            " SELECT individual_id, term_id FROM features WHERE NOT coalesce(excluded, false)"
            " UNION ALL SELECT individual_id, term_id FROM diseases) GROUP BY individual_id"
        ).fetchdf()
        measures = con.execute(
            "SELECT individual_id, assay_id, avg(value) AS value FROM measures "
            "WHERE value IS NOT NULL GROUP BY individual_id, assay_id"
        ).fetchdf()
    finally:
        con.close()
    wide = (
        measures.pivot(index="individual_id", columns="assay_id", values="value")
        if len(measures)
        else pd.DataFrame(index=pd.Index([], name="individual_id"))
    )
    people = people.merge(terms, on="individual_id", how="left")
    people["phenotypes"] = [
        list(p) if isinstance(p, list | np.ndarray) else [] for p in people["phenotypes"]
    ]
    measured_age = wide[AGE_ASSAY[0]] if AGE_ASSAY[0] in wide.columns else None
    people["sex"] = [_SEX.get(str(s).lower(), "unknown") for s in people.pop("sex_label")]
    ages = []
    for pid, doc in zip(people["individual_id"], people.pop("document"), strict=True):
        measured = measured_age.get(pid) if measured_age is not None else None
        ages.append(_age(doc, measured))
    people["age"] = ages
    people = people.merge(wide.reset_index(), on="individual_id", how="left")
    front = ["individual_id", "sample_index", "sex", "age", "population", "phenotypes"]
    people["sample_index"] = people["sample_index"].astype(np.int64)
    return people[front + [c for c in people.columns if c not in front]]


_cache_lock = threading.Lock()


def dosage_cache(node_dir: Path, store: DatasetStore) -> np.ndarray:
    """int8 dosages of every sample of a dataset version (variants x samples), memory-mapped
    from NODE_DIR/analysis-cache/<dataset>/<version>.dosages.npy; written on first use, chunk
    by chunk from the Zarr calls (atomically: a temporary file renamed), older versions'
    files removed. A version folder never changes, so neither does its cache."""
    import zarr

    folder = node_dir / "analysis-cache" / store.info.id
    path = folder / f"{store.path.name}.dosages.npy"
    with _cache_lock:
        if not path.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            calls = zarr.open_array(str(store.zarr_path), path="call_genotype", mode="r")
            tmp = folder / f".{path.name}.{os.getpid()}.tmp"
            out = np.lib.format.open_memmap(
                tmp, mode="w+", dtype=np.int8, shape=tuple(calls.shape[:2])
            )
            step = max(1, int(calls.chunks[0]))
            for start in range(0, calls.shape[0], step):
                out[start : start + step] = dosage_block(np.asarray(calls[start : start + step]))
            out.flush()
            del out
            os.replace(tmp, path)
            for old in folder.glob("*.dosages.npy"):
                if old != path:
                    old.unlink(missing_ok=True)
    return np.load(path, mmap_mode="r")


class _Mapped:
    """A memory-mapped array as dask's `from_array` source, without the `copy` method that
    would make dask copy all of it: slices are plain ndarray views of the mapped file."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self.shape, self.dtype, self.ndim = array.shape, array.dtype, array.ndim

    def __getitem__(self, key: Any) -> np.ndarray:
        return np.asarray(self.array[key])


def _member(ids: pd.Series, allowed: frozenset[str]) -> np.ndarray:
    """ids in `allowed`, as a bool array: a set lookup per id (pandas' `isin` on Arrow strings
    spent ~0.1 s per 2,000 ids converting the set)."""
    return np.fromiter((pid in allowed for pid in ids.tolist()), dtype=bool, count=len(ids))


_keys_cache: dict[str, list[str]] = {}


def _cached_keys(path: str, make: Any) -> list[str]:
    keys = _keys_cache.get(path)
    if keys is None:
        keys = make(_variants_cached(path))
        if len(_keys_cache) >= 32:
            _keys_cache.pop(next(iter(_keys_cache)))
        _keys_cache[path] = keys
    return keys


def _people(store: DatasetStore) -> pd.DataFrame:
    return _people_cached(str(store.path))


@lru_cache(maxsize=32)
def _variants_cached(path: str) -> pd.DataFrame:
    from genomesh.store import DatasetStore

    con = DatasetStore(Path(path)).connect()
    try:
        return con.execute(
            f"SELECT {', '.join(VARIANT_COLUMNS)} FROM variants ORDER BY variant_index"
        ).fetchdf()
    finally:
        con.close()


def _variants(store: DatasetStore) -> pd.DataFrame:
    return _variants_cached(str(store.path)).copy()


__all__ = ["DEFAULT_CHUNK_VARIANTS", "StoreLocalData", "dosage_cache"]
