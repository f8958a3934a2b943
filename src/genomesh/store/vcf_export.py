"""Write stored genotypes back out as a bgzipped VCF (portable copies, issue 14 part 1).

One record per stored (split, biallelic) variant, in store order, with the calls exactly as
the Zarr store holds them: allele 0/1, `.` for a missing allele, a haploid call where the
second allele is the fill value, `|` when the call was phased. The header names the
assembly twice, as `##reference` and as `assembly=` on every `##contig` line (with the
contig's length when the source VCF gave one), so any VCF reader - and `genomesh node
ingest` itself - knows the build without being told. Re-ingesting the file gives the same
calls (the round trip is tested against the store).

The output is BGZF (blocked gzip, the format `bgzip` writes and htslib indexes), written
here with zlib so a node needs no htslib binary to export.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow.parquet as pq

from genomesh.core.errors import NotFoundError, StoreError
from genomesh.store.dataset import DatasetStore

# BGZF: at most 64 KiB per block, compressed; 0xff00 bytes of input always fit.
_BLOCK_INPUT = 0xFF00
_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_CHUNK = 2000  # variants read from Zarr at a time


class BgzfWriter:
    """A binary file written as BGZF blocks (gzip-compatible; ends with the EOF block)."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh
        self._buffer = bytearray()

    def write(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= _BLOCK_INPUT:
            self._block(bytes(self._buffer[:_BLOCK_INPUT]))
            del self._buffer[:_BLOCK_INPUT]

    def close(self) -> None:
        if self._buffer:
            self._block(bytes(self._buffer))
            self._buffer.clear()
        self._fh.write(_EOF)

    def _block(self, data: bytes) -> None:
        deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        payload = deflate.compress(data) + deflate.flush()
        bsize = len(payload) + 25  # header 18 + trailer 8, minus one
        header = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00"
        self._fh.write(header + struct.pack("<H", bsize))
        self._fh.write(payload)
        self._fh.write(struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF))


def _call(alleles: np.ndarray, phased: bool) -> str:
    """One VCF GT value from stored alleles (-1 missing, -2 fill)."""
    parts = ["." if a == -1 else str(int(a)) for a in alleles if a != -2]
    return ("|" if phased else "/").join(parts) if parts else "."


def genotype_strings(block: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """GT strings for a (variants, samples, ploidy) block of stored alleles, vectorised.

    Each call is encoded as one small integer (alleles -2..1 in base 4, then the phase bit)
    and looked up in a table built with `_call`, the obviously correct per-call version it
    is tested against."""
    ploidy = block.shape[2]
    if block.size and (block.min() < -2 or block.max() > 1):
        raise StoreError("stored genotypes hold an allele outside -2..1 (not split biallelic)")
    code = np.zeros(block.shape[:2], dtype=np.int64)
    for j in range(ploidy):
        code += (block[:, :, j].astype(np.int64) + 2) * 4**j
    code = code * 2 + phase.astype(np.int64)
    table = np.empty(2 * 4**ploidy, dtype=object)
    for value in range(table.size):
        rest, phased = divmod(value, 2)
        alleles = np.array([(rest // 4**j) % 4 - 2 for j in range(ploidy)], dtype=np.int8)
        table[value] = _call(alleles, bool(phased))
    return table[code]  # type: ignore[no-any-return]


def header_lines(dataset: DatasetStore, sample_names: Sequence[str]) -> list[str]:
    """The VCF header: format, date, source, reference, contigs (with assembly), GT, columns."""
    group = dataset._zarr
    assembly = dataset.info.assembly
    contigs = [str(c) for c in group["contig_id"][:]]
    lengths = [int(n) for n in group["contig_length"][:]]
    used = {
        str(c)
        for c in pq.read_table(dataset.table_path("variants"), columns=["chrom"])[0].to_pylist()
    }
    lines = [
        "##fileformat=VCFv4.2",
        f"##fileDate={datetime.now(UTC):%Y%m%d}",
        f"##source=genomesh export of dataset {dataset.info.id} version {dataset.info.version}",
        f"##reference={assembly}",
    ]
    for contig, length in zip(contigs, lengths, strict=True):
        if length > 0 or contig in used:
            size = f",length={length}" if length > 0 else ""
            lines.append(f"##contig=<ID={contig}{size},assembly={assembly}>")
    lines += [
        '##INFO=<ID=END,Number=1,Type=Integer,Description="End position of a symbolic allele">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#"
        + "\t".join(
            ["CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *sample_names]
        ),
    ]
    return lines


def write_vcf(
    dataset: DatasetStore,
    path: Path,
    *,
    individual_ids: Sequence[str],
) -> dict[str, int]:
    """Write the calls of `individual_ids` (sample columns, named by individual id) to `path`.

    Returns counts ({"variants", "samples", "non_reference_calls"}). NotFoundError when an
    individual has no genotypes in the dataset.
    """
    lookup = dataset._individual_to_sample
    missing = [i for i in individual_ids if i not in lookup]
    if missing:
        raise NotFoundError(
            f"no genotypes for individual(s) {missing[:5]} in dataset {dataset.id!r}"
        )
    samples = np.array([lookup[i] for i in individual_ids], dtype=np.intp)
    group = dataset._zarr
    calls, phased_calls = group["call_genotype"], group["call_genotype_phased"]
    variants = pq.read_table(
        dataset.table_path("variants"),
        columns=["variant_index", "rsid", "chrom", "pos", "end", "ref", "alt"],
    ).sort_by("variant_index")
    columns = {name: variants.column(name).to_pylist() for name in variants.column_names}
    n = len(columns["variant_index"])
    non_ref = 0
    with open(path, "wb") as raw:
        out = BgzfWriter(raw)
        out.write(("\n".join(header_lines(dataset, individual_ids)) + "\n").encode())
        for start in range(0, n, _CHUNK):
            stop = min(start + _CHUNK, n)
            # only the sample chunks holding these individuals are read (one person's copy
            # does not read a 100,000-sample matrix)
            block = calls.oindex[start:stop, samples]
            phase = phased_calls.oindex[start:stop, samples]
            non_ref += int((block == 1).any(axis=2).sum())
            gts_block = genotype_strings(block, phase)
            lines = []
            for k in range(stop - start):
                i = start + k
                if columns["variant_index"][i] != i:
                    raise StoreError(f"dataset {dataset.id!r}: variant index {i} missing")
                alt = columns["alt"][i]
                info = f"END={columns['end'][i]}" if alt.startswith("<") else "."
                chrom, pos, ref = columns["chrom"][i], columns["pos"][i], columns["ref"][i]
                vid = columns["rsid"][i] or "."  # the store keeps the dbSNP id of the ID column
                row = [chrom, str(pos), vid, ref, alt, ".", ".", info, "GT", *gts_block[k]]
                lines.append("\t".join(row))
            out.write(("\n".join(lines) + "\n").encode())
        out.close()
    return {"variants": n, "samples": len(samples), "non_reference_calls": non_ref}


__all__ = ["BgzfWriter", "header_lines", "write_vcf"]
