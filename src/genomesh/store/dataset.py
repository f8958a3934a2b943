"""Read side of one dataset version: DuckDB views, consents, carriers, streamed genotypes."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow.parquet as pq
import zarr

from genomesh.core.consent import DataUseTerm
from genomesh.core.errors import NotFoundError, StoreError
from genomesh.core.genome import require_chromosome
from genomesh.store.model import DatasetInfo, GenotypeChunk

TABLES = (
    "variants", "carriers", "individuals", "features", "diseases", "measures", "interventions",
    "consent",
)  # fmt: skip


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


class DatasetStore:
    """One immutable version of a dataset (the version CURRENT named when it was opened)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.info = DatasetInfo.model_validate_json((self.path / "dataset.json").read_text())
        except FileNotFoundError as exc:
            raise StoreError(f"dataset version at {self.path} has no dataset.json") from exc
        except ValueError as exc:
            raise StoreError(f"unreadable dataset.json: {exc}", file=str(self.path)) from exc

    def __repr__(self) -> str:
        return f"DatasetStore({self.info.id!r}, version={self.info.version!r})"

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def zarr_path(self) -> Path:
        return self.path / "genotypes.vcz"

    def table_path(self, name: str) -> Path:
        if name not in TABLES:
            raise NotFoundError(f"no table {name!r}")
        return self.path / f"{name}.parquet"

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A fresh in-memory DuckDB connection with one view per table of this version."""
        con = duckdb.connect()
        for name in TABLES:
            con.execute(
                f"CREATE VIEW {name} AS SELECT * FROM read_parquet({_sql_path(self.table_path(name))})"
            )
        return con

    def variants(
        self,
        *,
        chrom: str | None = None,
        start: int | None = None,
        end: int | None = None,
        gene: str | None = None,
        variant_type: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Variants in a region (0-based half-open [start, end) overlap) / in a gene / of a type.

        `chrom` accepts any spelling normalize_chromosome knows (chr1, NC_000001.11 ...); a
        position query is `start=pos - 1, end=pos`."""
        clauses: list[str] = []
        params: list[Any] = []
        if chrom is not None:
            clauses.append("chrom = ?")
            params.append(require_chromosome(chrom, field="chrom"))
        if start is not None:
            clauses.append('"end" > ?')
            params.append(int(start))
        if end is not None:
            clauses.append("start < ?")
            params.append(int(end))
        if gene is not None:
            clauses.append("list_contains(genes, ?)")
            params.append(gene)
        if variant_type is not None:
            clauses.append("variant_type = ?")
            params.append(variant_type)
        sql = "SELECT * FROM variants"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY variant_index"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        con = self.connect()
        try:
            cursor = con.execute(sql, params)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            con.close()

    @cached_property
    def _zarr(self) -> Any:
        return zarr.open_group(str(self.zarr_path), mode="r")

    @cached_property
    def sample_ids(self) -> list[str]:
        """VCF sample ids in column order (= sample_index)."""
        return [str(s) for s in self._zarr["sample_id"][:]]

    @cached_property
    def _sample_to_individual(self) -> dict[int, str]:
        table = pq.read_table(
            self.table_path("individuals"), columns=["individual_id", "sample_index"]
        )
        ids = table.column("individual_id").to_pylist()
        idx = table.column("sample_index").to_pylist()
        return {s: i for i, s in zip(ids, idx, strict=True) if s is not None}

    @cached_property
    def _individual_to_sample(self) -> dict[str, int]:
        return {i: s for s, i in self._sample_to_individual.items()}

    def consents(self) -> dict[str, list[DataUseTerm]]:
        """Each individual's data-use terms (dataset terms where they gave none of their own)."""
        table = pq.read_table(self.table_path("consent")).to_pylist()
        people = pq.read_table(self.table_path("individuals"), columns=["individual_id"])
        out: dict[str, list[DataUseTerm]] = {i: [] for i in people.column(0).to_pylist()}
        for row in table:
            pid = row.pop("individual_id")
            row.pop("inherited", None)
            row["id"] = row.pop("duo_id")
            for key in ("diseases", "countries", "institutions", "projects", "users", "topics"):
                row[key] = tuple(row.get(key) or ())
            out.setdefault(pid, []).append(DataUseTerm.model_validate(row))
        return out

    def carriers(self, variant_index: int) -> list[tuple[str, int]]:
        """(individual_id, dosage) for every carrier of a variant, in sample order."""
        rows = pq.read_table(
            self.table_path("carriers"),
            filters=[("variant_index", "=", int(variant_index))],
            columns=["sample_index", "dosage"],
        )
        mapping = self._sample_to_individual
        return [
            (mapping.get(s, self.sample_ids[s]), int(d))
            for s, d in zip(rows.column(0).to_pylist(), rows.column(1).to_pylist(), strict=True)
        ]

    def genotypes(
        self,
        *,
        individual_ids: Sequence[str] | None = None,
        variant_indices: Sequence[int] | np.ndarray | None = None,
        chunk_size: int = 10_000,
    ) -> Iterator[GenotypeChunk]:
        """Alt-allele dosages (-1 missing) for individuals x variants, streamed in chunks."""
        calls = self._zarr["call_genotype"]
        n_variants = calls.shape[0]
        if individual_ids is None:
            samples = np.array(sorted(self._sample_to_individual), dtype=np.intp)
        else:
            lookup = self._individual_to_sample
            missing = [i for i in individual_ids if i not in lookup]
            if missing:
                raise NotFoundError(
                    f"no genotypes for individual(s) {missing[:5]} in dataset {self.id!r}"
                )
            samples = np.array([lookup[i] for i in individual_ids], dtype=np.intp)
        ids = [self._sample_to_individual[int(s)] for s in samples]
        if variant_indices is None:
            wanted = None
        else:
            wanted = np.unique(np.asarray(variant_indices, dtype=np.int64))
            if wanted.size and (wanted[0] < 0 or wanted[-1] >= n_variants):
                raise NotFoundError(f"variant index out of range 0..{n_variants - 1}")
        step = max(1, int(chunk_size))
        zchunk = calls.chunks[0]
        step = max(zchunk, (step // zchunk) * zchunk) if step >= zchunk else step
        for start in range(0, n_variants, step):
            stop = min(start + step, n_variants)
            if wanted is not None:
                sel = wanted[(wanted >= start) & (wanted < stop)]
                if sel.size == 0:
                    continue
            block = calls[start:stop]
            if wanted is not None:
                block = block[sel - start]
                vidx = sel
            else:
                vidx = np.arange(start, stop, dtype=np.int64)
            block = block[:, samples, :]
            yield GenotypeChunk(vidx, _dosages(block), ids)


def _dosages(block: np.ndarray) -> np.ndarray:
    """Count of ALT alleles per call; -1 when no allele of the call was observed."""
    alt = np.zeros(block.shape[:2], dtype=np.int8)
    called = np.zeros(block.shape[:2], dtype=bool)
    for j in range(block.shape[2]):
        alt += block[:, :, j] == 1
        called |= block[:, :, j] >= 0
    alt[~called] = -1
    return alt


def read_info(path: Path) -> dict:
    return json.loads((path / "dataset.json").read_text())


__all__ = ["TABLES", "DatasetStore"]
