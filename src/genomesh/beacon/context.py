"""Per-dataset query context: a cached DuckDB connection plus precomputed lookups.

Built once per dataset version and reused by every query (the hot path):

* one DuckDB connection over the store's views, with a cursor per thread;
* the individuals (row order), their sample indices and the sample -> row map;
* the carriers table as sorted NumPy arrays (variant index, sample row, dosage), so
  "which allowed individuals carry these variants" is a binary search, not a join;
* the filter vocabulary (terms, assays, labels present) and a small cache of
  filter -> individual masks (the data are immutable per version).
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from typing import Any

import duckdb
import numpy as np

from genomesh.beacon.filters import ResolvedFilter
from genomesh.beacon.variants import GENE_TABLE, VARIANT_TABLE

FILTER_CACHE_SIZE = 256
ALLOWED_CACHE_SIZE = 16


class DatasetContext:
    """Everything one dataset needs to answer queries fast."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.info = store.info
        self.id: str = self.info.id
        self.version: str = self.info.version
        self.assembly: str = self.info.assembly
        self._con: duckdb.DuckDBPyConnection = store.connect()
        self._materialize()
        self._local = threading.local()
        self._lock = threading.Lock()
        rows = self._con.execute(
            "SELECT individual_id, sample_index FROM individuals ORDER BY individual_id"
        ).fetchall()
        self.individual_ids: list[str] = [r[0] for r in rows]
        self.row_of: dict[str, int] = {iid: i for i, iid in enumerate(self.individual_ids)}
        self._ids = np.array(self.individual_ids, dtype=object)
        self.sample_of_row = np.array(
            [-1 if r[1] is None else int(r[1]) for r in rows], dtype=np.int64
        )
        self.sample_ids: list[str] = list(store.sample_ids)
        self.row_of_sample = np.full(max(len(self.sample_ids), 1), -1, dtype=np.int64)
        has = self.sample_of_row >= 0
        self.row_of_sample[self.sample_of_row[has]] = np.nonzero(has)[0]
        self.has_sample = has
        self.sample_row: dict[str, int] = {
            self.sample_ids[int(s)]: i for i, s in enumerate(self.sample_of_row) if s >= 0
        }
        self._carriers: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._filters: OrderedDict[str, np.ndarray] = OrderedDict()
        self._allowed: OrderedDict[frozenset[str], np.ndarray] = OrderedDict()
        # the widest allowed set seen, with its mask: narrowing asks again with a few people
        # fewer (genomesh.gate.narrowing), and clearing their rows beats rebuilding the mask
        self._widest: tuple[frozenset[str], np.ndarray] | None = None
        self.vocabulary = self._vocabulary()

    def _materialize(self) -> None:
        """Copy the variant index into memory, sorted by position, plus a gene -> variant table.

        Queries then prune by DuckDB zone maps instead of re-reading Parquet, and a gene query
        is an index-like lookup instead of a scan over every variant's gene list.
        """
        self._con.execute(
            f"CREATE TABLE {VARIANT_TABLE} AS SELECT variant_index, variant_id, rsid, chrom, start, "
            '"end", ref, alt, variant_type, length, aa_changes, ac FROM variants ORDER BY chrom, start'
        )
        arrays = self._con.execute(
            f'SELECT chrom, start, "end", variant_index, ref, alt FROM {VARIANT_TABLE}'
        ).fetchnumpy()
        self._pos_start = np.asarray(arrays["start"], dtype=np.int64)
        self._pos_end = np.asarray(arrays["end"], dtype=np.int64)
        self._pos_vi = np.asarray(arrays["variant_index"], dtype=np.int64)
        self._pos_ref = np.asarray(arrays["ref"], dtype=object)
        self._pos_alt = np.asarray(arrays["alt"], dtype=object)
        chroms = np.asarray(arrays["chrom"], dtype=object)
        self._chrom_span: dict[str, tuple[int, int]] = {}
        if len(chroms):
            edges = np.flatnonzero(chroms[1:] != chroms[:-1]) + 1
            bounds = [0, *edges.tolist(), len(chroms)]
            for lo, hi in itertools.pairwise(bounds):
                self._chrom_span[str(chroms[lo])] = (lo, hi)
        self.max_span = int(
            self._con.execute(
                f'SELECT coalesce(max("end" - start), 0) FROM {VARIANT_TABLE}'
            ).fetchone()[0]  # type: ignore[index]
        )
        self._con.execute(
            f"CREATE TABLE {GENE_TABLE} AS SELECT DISTINCT upper(g) AS gene, variant_index "
            "FROM (SELECT unnest(genes) AS g, variant_index FROM variants) ORDER BY gene, variant_index"
        )
        genes = self._con.execute(f"SELECT gene, variant_index FROM {GENE_TABLE}").fetchnumpy()
        names = np.asarray(genes["gene"], dtype=object)
        self._gene_vi = np.asarray(genes["variant_index"], dtype=np.int64)
        self._gene_span: dict[str, tuple[int, int]] = {}
        if len(names):
            edges = np.flatnonzero(names[1:] != names[:-1]) + 1
            for lo, hi in itertools.pairwise([0, *edges.tolist(), len(names)]):
                self._gene_span[str(names[lo])] = (lo, hi)

    @property
    def n(self) -> int:
        return len(self.individual_ids)

    def ids_of(self, rows: np.ndarray) -> set[str]:
        """The individual ids of some rows, as a set (the gate's contributors)."""
        return set(self._ids[rows].tolist())

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor on the dataset's connection (DuckDB cursors are per thread)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            with self._lock:
                cur = self._con.cursor()
            self._local.cursor = cur
        return cur

    def _vocabulary(self) -> dict[str, Any]:
        con = self.cursor()
        terms: dict[str, str] = {}
        kinds: dict[str, str] = {}
        queries = {
            "phenotypicFeatures": "SELECT DISTINCT term_id, label FROM features WHERE NOT coalesce(excluded, false)",
            "diseases": "SELECT DISTINCT term_id, label FROM diseases",
            "interventionsOrProcedures": "SELECT DISTINCT term_id, label FROM interventions",
            "sex": "SELECT DISTINCT sex_id, sex_label FROM individuals",
            "ethnicity": "SELECT DISTINCT ethnicity_id, ethnicity_label FROM individuals",
            "geographicOrigin": "SELECT DISTINCT origin_id, origin_label FROM individuals",
        }
        for kind, sql in queries.items():
            for term_id, label in con.execute(sql).fetchall():
                if term_id:
                    terms[term_id] = label or terms.get(term_id) or term_id
                    kinds.setdefault(term_id, kind)
        assays = {
            a: (lbl or a)
            for a, lbl in con.execute(
                "SELECT DISTINCT assay_id, assay_label FROM measures"
            ).fetchall()
            if a
        }
        return {"terms": terms, "kinds": kinds, "assays": assays}

    # -- individual masks -------------------------------------------------------------

    def allowed_mask(self, allowed: frozenset[str]) -> np.ndarray:
        """Boolean mask over individual rows for the gate's allowed set (cached)."""
        with self._lock:
            mask = self._allowed.get(allowed)
            if mask is not None:
                self._allowed.move_to_end(allowed)
                return mask
            widest = self._widest
        if widest is not None and len(widest[0]) - len(allowed) <= 64 and allowed <= widest[0]:
            mask = widest[1].copy()
            mask[[self.row_of[i] for i in widest[0] - allowed if i in self.row_of]] = False
        else:
            mask = np.zeros(self.n, dtype=bool)
            mask[[self.row_of[i] for i in allowed if i in self.row_of]] = True
        mask.flags.writeable = False
        with self._lock:
            if self._widest is None or len(allowed) > len(self._widest[0]):
                self._widest = (allowed, mask)
            self._allowed[allowed] = mask
            while len(self._allowed) > ALLOWED_CACHE_SIZE:
                self._allowed.popitem(last=False)
        return mask

    def filter_mask(self, flt: ResolvedFilter) -> np.ndarray:
        """Individuals matching one filter (cached per dataset version)."""
        key = flt.key
        with self._lock:
            mask = self._filters.get(key)
            if mask is not None:
                self._filters.move_to_end(key)
                return mask
        ids = self.cursor().execute(flt.sql, dict(flt.params)).fetchall()
        mask = np.zeros(self.n, dtype=bool)
        rows = [self.row_of[r[0]] for r in ids if r[0] in self.row_of]
        mask[rows] = True
        mask.flags.writeable = False
        with self._lock:
            self._filters[key] = mask
            while len(self._filters) > FILTER_CACHE_SIZE:
                self._filters.popitem(last=False)
        return mask

    # -- variants and carriers --------------------------------------------------------

    def carriers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(variant_index sorted, individual row, dosage) for every non-ref call.

        Compact dtypes (int32 / int16 rows when they fit): about 7 bytes per carrier call.
        """
        if self._carriers is None:
            with self._lock:
                if self._carriers is None:
                    arrays = (
                        self._con.cursor()
                        .execute("SELECT variant_index, sample_index, dosage FROM carriers")
                        .fetchnumpy()
                    )
                    vi = np.asarray(arrays["variant_index"])
                    vi = vi.astype(np.int32 if len(vi) == 0 or vi.max() < 2**31 else np.int64)
                    si = np.asarray(arrays["sample_index"], dtype=np.int64)
                    dosage = np.asarray(arrays["dosage"], dtype=np.int8)
                    if len(vi) > 1 and not bool(np.all(vi[1:] >= vi[:-1])):
                        order = np.argsort(vi, kind="stable")
                        vi, si, dosage = vi[order], si[order], dosage[order]
                    row_dtype = np.int16 if self.n < 2**15 else np.int32
                    rows = (self.row_of_sample[si] if len(si) else si).astype(row_dtype)
                    del arrays, si
                    self._carriers = (vi, rows, dosage)
        return self._carriers

    def sequence_lookup(self, chrom: str, start: int, ref: str | None, alt: str) -> np.ndarray:
        """Variant indices of one allele at one position, from the in-memory position index.

        Same semantics as the SQL of `genomesh.beacon.variants` for a plain sequence query:
        VCF-style alleles match as stored; an empty `ref` or `alt` means maximally trimmed
        alleles, matched against the anchored form one base earlier.
        """
        span = self._chrom_span.get(chrom)
        if span is None:
            return np.zeros(0, dtype=np.int64)
        trimmed = ref == "" or alt == ""
        at = start - 1 if trimmed else start
        lo = span[0] + int(np.searchsorted(self._pos_start[span[0] : span[1]], at, "left"))
        hi = span[0] + int(np.searchsorted(self._pos_start[span[0] : span[1]], at, "right"))
        out = []
        for i in range(lo, hi):
            r, a = self._pos_ref[i], self._pos_alt[i]
            if trimmed:
                if not (r and a and r[0] == a[0]):
                    continue
                r, a = r[1:], a[1:]
            if (ref is None or r == ref) and a == alt:
                out.append(self._pos_vi[i])
        return np.array(sorted(out), dtype=np.int64)

    def range_lookup(self, chrom: str, start: int, end: int) -> np.ndarray:
        """Sorted variant indices overlapping [start, end) on `chrom`, from the position index
        (same semantics as the range condition `start < end AND "end" > start`)."""
        span = self._chrom_span.get(chrom)
        if span is None:
            return np.zeros(0, dtype=np.int64)
        starts = self._pos_start[span[0] : span[1]]
        # Only variants starting within max_span before `start` can still reach into it.
        lo = span[0] + int(np.searchsorted(starts, start - self.max_span, "left"))
        hi = span[0] + int(np.searchsorted(starts, end, "left"))
        hits = self._pos_vi[lo:hi][self._pos_end[lo:hi] > start]
        return np.sort(hits)

    @property
    def has_gene_annotations(self) -> bool:
        """Whether any variant carries a gene (else a gene query cannot match here)."""
        return bool(self._gene_span)

    def gene_variants(self, gene: str) -> np.ndarray:
        """Sorted variant indices annotated to a gene (symbols compared case-insensitively)."""
        lo, hi = self._gene_span.get(gene.upper(), (0, 0))
        return self._gene_vi[lo:hi]

    def variant_indices(self, where: str, params: list[Any]) -> np.ndarray:
        """Sorted variant indices matching a condition over the in-memory variant table."""
        sql = f"SELECT variant_index FROM {VARIANT_TABLE} WHERE {where} ORDER BY variant_index"
        out = self.cursor().execute(sql, params).fetchnumpy()["variant_index"]
        return np.asarray(out, dtype=np.int64)

    def carrier_hits(
        self, vids: np.ndarray, mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Carrier calls of `vids` by individuals in `mask`: (variant, row, dosage) arrays."""
        vi, rows, dosage = self.carriers()
        if len(vids) == 0 or len(vi) == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0, dtype=np.int8)
        vids = vids.astype(vi.dtype, copy=False)  # same dtype: no copy of the big array
        lo = np.searchsorted(vi, vids, "left")
        hi = np.searchsorted(vi, vids, "right")
        lengths = hi - lo
        total = int(lengths.sum())
        if total == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0, dtype=np.int8)
        if hi[-1] - lo[0] == total:  # the calls of vids are one contiguous block
            idx = np.arange(lo[0], hi[-1])
        elif len(vids) > 64 and hi[-1] - lo[0] <= 2 * total:
            idx = np.arange(lo[0], hi[-1])
            idx = idx[np.isin(vi[idx], vids, assume_unique=False)]
        else:
            starts = np.repeat(lo - (np.cumsum(lengths) - lengths), lengths)
            idx = np.arange(total) + starts
        r = rows[idx]
        keep = r >= 0
        keep[keep] = mask[r[keep]]
        idx = idx[keep]
        return vi[idx], rows[idx], dosage[idx]

    def distinct_rows(self, rows: np.ndarray) -> np.ndarray:
        """The distinct individual rows among `rows`, ascending (a mask, not a sort)."""
        seen = np.zeros(self.n, dtype=bool)
        seen[rows] = True
        return np.flatnonzero(seen)

    def variant_rows(self, vids: list[int]) -> list[dict[str, Any]]:
        """Full variant rows for a page of variant indices, in index order."""
        if not vids:
            return []
        cur = self.cursor().execute(
            "SELECT * FROM variants WHERE variant_index IN (SELECT unnest(?::BIGINT[])) "
            "ORDER BY variant_index",
            [vids],
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def documents(self, individual_ids: list[str]) -> dict[str, str | None]:
        """Stored Beacon individual JSON for a page of individuals."""
        if not individual_ids:
            return {}
        rows = (
            self.cursor()
            .execute(
                "SELECT individual_id, document FROM individuals "
                "WHERE individual_id IN (SELECT unnest(?::VARCHAR[]))",
                [individual_ids],
            )
            .fetchall()
        )
        return {r[0]: r[1] for r in rows}

    def close(self) -> None:
        self._con.close()


__all__ = ["DatasetContext"]
