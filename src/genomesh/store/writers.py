"""Streaming writers: genotypes to VCF Zarr, variant index and carriers to Parquet.

Everything is written batch by batch, so peak memory is one batch whatever the number of
variants. The Zarr store follows the VCF Zarr conventions (sgkit / bio2zarr, vcf-zarr 0.2):
`call_genotype` int8 (variants, samples, ploidy) with -1 missing and -2 fill, plus
`call_genotype_phased`, `variant_contig`, `variant_position`, `variant_allele`, `variant_id`,
`variant_id_mask`, `contig_id`, `contig_length`, `sample_id`. It is written as **Zarr format
2** (`.zarray` / `.zattrs`, `_ARRAY_DIMENSIONS`), which sgkit, bio2zarr and xarray all read.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numcodecs
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import zarr

from genomesh.core.genome import CHROMOSOMES
from genomesh.store.vcf_reader import VariantBatch

ZARR_FORMAT = 2
VARIANTS_CHUNK = 1000
SAMPLES_CHUNK = 10_000
# Genotype chunks are written as soon as one is full; the small per-variant arrays every
# SMALL_FLUSH_ROWS variants (each zarr 3 write call has a fixed Python/asyncio cost).
_GENOTYPE_ARRAYS = ("call_genotype", "call_genotype_phased")
SMALL_FLUSH_ROWS = 16 * VARIANTS_CHUNK
_COMPRESSOR = numcodecs.Blosc(cname="zstd", clevel=1, shuffle=numcodecs.Blosc.BITSHUFFLE)

VARIANT_SCHEMA = pa.schema(
    [
        ("variant_index", pa.int64()),
        ("variant_id", pa.string()),
        ("chrom", pa.string()),
        ("pos", pa.int64()),
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("ref", pa.string()),
        ("alt", pa.string()),
        ("variant_type", pa.string()),
        ("length", pa.int64()),
        ("rsid", pa.string()),
        ("genes", pa.list_(pa.string())),
        ("consequences", pa.list_(pa.string())),
        ("aa_changes", pa.list_(pa.string())),
        ("ac", pa.int32()),
        ("an", pa.int32()),
        ("af", pa.float64()),
        ("n_het", pa.int32()),
        ("n_hom_alt", pa.int32()),
        ("n_missing", pa.int32()),
    ]
)
CARRIER_SCHEMA = pa.schema(
    [("variant_index", pa.int64()), ("sample_index", pa.int32()), ("dosage", pa.int8())]
)


class ZarrGenotypeWriter:
    """Appends split variants to a VCF Zarr store chunk-aligned, buffering < one chunk."""

    def __init__(
        self, path: Path, *, samples: list[str], ploidy: int, contig_lengths: dict[str, int]
    ) -> None:
        self.root = zarr.open_group(str(path), mode="w", zarr_format=2)
        n = len(samples)
        self.contigs = list(CHROMOSOMES)
        self._contig_index = {c: i for i, c in enumerate(self.contigs)}
        s_chunk = max(1, min(SAMPLES_CHUNK, n))
        self.root.attrs.update({"vcf_zarr_version": "0.2", "source": "genomesh"})
        self._put("sample_id", np.array(samples, dtype=object), ["samples"], dtype=str)
        self._put("contig_id", np.array(self.contigs, dtype=object), ["contigs"], dtype=str)
        self._put(
            "contig_length",
            np.array([contig_lengths.get(c, 0) for c in self.contigs], dtype=np.int64),
            ["contigs"],
        )
        v = VARIANTS_CHUNK
        self.arrays = {
            "call_genotype": self._new(
                "call_genotype", (0, n, ploidy), (v, s_chunk, ploidy), "i1", -1,
                ["variants", "samples", "ploidy"],
            ),
            "call_genotype_phased": self._new(
                "call_genotype_phased", (0, n), (v, s_chunk), "bool", False,
                ["variants", "samples"],
            ),
            "variant_contig": self._new("variant_contig", (0,), (v,), "i2", -1, ["variants"]),
            "variant_position": self._new("variant_position", (0,), (v,), "i4", -1, ["variants"]),
            "variant_allele": self._new(
                "variant_allele", (0, 2), (v, 2), str, "", ["variants", "alleles"]
            ),
            "variant_id": self._new("variant_id", (0,), (v,), str, "", ["variants"]),
            "variant_id_mask": self._new("variant_id_mask", (0,), (v,), "bool", True, ["variants"]),
        }  # fmt: skip
        self.arrays["call_genotype"].attrs["mixed_ploidy"] = False
        self._pending: dict[str, list[np.ndarray]] = {k: [] for k in self.arrays}
        self._pending_rows = 0  # genotype rows not yet written
        self._small_rows = 0  # per-variant rows (contig, position, alleles ...) not yet written
        self._small_written = 0
        self._small_arrays = tuple(k for k in self.arrays if k not in _GENOTYPE_ARRAYS)
        self._capacity = 0
        self.n_variants = 0

    def _put(self, name: str, data: np.ndarray, dims: list[str], dtype=None) -> None:
        arr = self.root.create_array(
            name, shape=data.shape, dtype=dtype or data.dtype, compressors=_COMPRESSOR
        )
        if data.size:
            arr[...] = data
        arr.attrs["_ARRAY_DIMENSIONS"] = dims

    def _new(self, name, shape, chunks, dtype, fill, dims):
        arr = self.root.create_array(
            name, shape=shape, chunks=chunks, dtype=dtype, fill_value=fill,
            compressors=_COMPRESSOR,
        )  # fmt: skip
        arr.attrs["_ARRAY_DIMENSIONS"] = dims
        return arr

    def add(self, batch: VariantBatch) -> None:
        n = len(batch)
        if n == 0:
            return
        rsid = batch.rsid
        parts = {
            "call_genotype": batch.calls,
            "call_genotype_phased": batch.phased,
            "variant_contig": np.fromiter(
                (self._contig_index[c] for c in batch.chrom), dtype=np.int16, count=n
            ),
            "variant_position": np.asarray(batch.pos, dtype=np.int32),
            "variant_allele": np.array(list(zip(batch.ref, batch.alt, strict=True)), dtype=object),
            "variant_id": np.array([r or "" for r in rsid], dtype=object),
            "variant_id_mask": np.array([r is None for r in rsid], dtype=bool),
        }
        for key, value in parts.items():
            self._pending[key].append(value)
        self._pending_rows += n
        self._small_rows += n
        if self._pending_rows >= VARIANTS_CHUNK:
            self._pending_rows, self.n_variants = self._flush(
                _GENOTYPE_ARRAYS, self._pending_rows, self.n_variants, final=False
            )
        if self._small_rows >= SMALL_FLUSH_ROWS:
            self._small_rows, self._small_written = self._flush(
                self._small_arrays, self._small_rows, self._small_written, final=False
            )

    def _flush(
        self, keys: tuple[str, ...], pending: int, written: int, *, final: bool
    ) -> tuple[int, int]:
        """Write whole chunks (all rows when `final`) of `keys`; returns (pending, written)."""
        rows = pending if final else (pending // VARIANTS_CHUNK) * VARIANTS_CHUNK
        if rows == 0:
            return pending, written
        if written + rows > self._capacity:  # grow geometrically: few metadata rewrites
            self._capacity = max(2 * self._capacity, written + rows, 8 * VARIANTS_CHUNK)
            for arr in self.arrays.values():
                arr.resize((self._capacity, *arr.shape[1:]))
        for key in keys:
            parts = self._pending[key]
            data = parts[0] if len(parts) == 1 else np.concatenate(parts)
            self.arrays[key][written : written + rows] = data[:rows]
            self._pending[key] = [data[rows:]] if rows < len(data) else []
        return pending - rows, written + rows

    def close(self) -> None:
        self._pending_rows, self.n_variants = self._flush(
            _GENOTYPE_ARRAYS, self._pending_rows, self.n_variants, final=True
        )
        self._small_rows, self._small_written = self._flush(
            self._small_arrays, self._small_rows, self._small_written, final=True
        )
        for arr in self.arrays.values():
            arr.resize((self.n_variants, *arr.shape[1:]))
        zarr.consolidate_metadata(self.root.store)


class ParquetIndexWriter:
    """Streams the variant index and the carrier table, one row group per batch."""

    def __init__(self, variants_path: Path, carriers_path: Path) -> None:
        self.variants = pq.ParquetWriter(
            str(variants_path), VARIANT_SCHEMA, compression="zstd", compression_level=1
        )
        self.carriers = pq.ParquetWriter(
            str(carriers_path), CARRIER_SCHEMA, compression="zstd", compression_level=1
        )
        self.n_variants = 0
        self.n_carriers = 0
        self.sorted = True
        self._last: tuple[int, int] = (-1, -1)
        self._rank = {c: i for i, c in enumerate(CHROMOSOMES)}

    def add(self, batch: VariantBatch) -> None:
        n = len(batch)
        if n == 0:
            return
        first = self.n_variants
        index = np.arange(first, first + n, dtype=np.int64)
        ac = batch.ac
        an = batch.an
        af = pa.array(
            np.divide(ac, an, out=np.zeros(n), where=an > 0), mask=an == 0
        )  # NULL if none called
        ids = [f"{c}-{p}-{r}-{a}" for c, p, r, a in zip(batch.chrom, batch.pos, batch.ref, batch.alt, strict=True)]  # fmt: skip
        table = pa.table(
            {
                "variant_index": index,
                "variant_id": ids,
                "chrom": batch.chrom,
                "pos": batch.pos,
                "start": batch.start,
                "end": batch.end,
                "ref": batch.ref,
                "alt": batch.alt,
                "variant_type": batch.variant_type,
                "length": batch.length,
                "rsid": batch.rsid,
                "genes": batch.genes,
                "consequences": batch.consequences,
                "aa_changes": batch.aa_changes,
                "ac": ac,
                "an": an,
                "af": af,
                "n_het": batch.n_het,
                "n_hom_alt": batch.n_hom_alt,
                "n_missing": batch.n_missing,
            },
            schema=VARIANT_SCHEMA,
        )
        self.variants.write_table(table)
        if self.sorted:
            keys = [(self._rank[c], p) for c, p in zip(batch.chrom, batch.pos, strict=True)]
            if keys[0] < self._last or any(a > b for a, b in itertools.pairwise(keys)):
                self.sorted = False
            self._last = keys[-1]
        var_local, sample = np.nonzero(batch.dosage > 0)
        if var_local.size:
            carriers = pa.table(
                {
                    "variant_index": var_local.astype(np.int64) + first,
                    "sample_index": sample.astype(np.int32),
                    "dosage": batch.dosage[var_local, sample],
                },
                schema=CARRIER_SCHEMA,
            )
            self.carriers.write_table(carriers)
        self.n_carriers += int(var_local.size)
        self.n_variants += n

    def close(self) -> None:
        self.variants.close()
        self.carriers.close()


__all__ = [
    "CARRIER_SCHEMA",
    "VARIANT_SCHEMA",
    "ZARR_FORMAT",
    "ParquetIndexWriter",
    "ZarrGenotypeWriter",
]
