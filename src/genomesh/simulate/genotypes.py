"""From a simulated tree sequence to a diploid, biallelic-SNV, bgzipped VCF.

msprime simulates a discrete genome, so one position can be hit by more than one mutation
(a multi-allelic site or a back mutation). Such sites are dropped, leaving exactly one
biallelic SNV per position: positions in the VCF are unique and sorted. REF is the ancestral
allele, ALT the derived one; both are msprime's random JC69 nucleotides, so REF does not match
the real reference sequence (the header says so).

The VCF text is built with NumPy a chunk of sites at a time and piped into the `bgzip` binary
(multi-threaded, and the output can be indexed with tabix); without it, Python's gzip is used.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import numpy as np

from genomesh.core.errors import GenomeshError

CHUNK_SITES = 1_000

# Primary-assembly chromosome lengths (bp) for the VCF ##contig lines (NCBI assembly reports).
CHROMOSOME_LENGTHS: dict[str, dict[str, int]] = {
    "GRCh37": {
        "1": 249250621, "2": 243199373, "3": 198022430, "4": 191154276, "5": 180915260,
        "6": 171115067, "7": 159138663, "8": 146364022, "9": 141213431, "10": 135534747,
        "11": 135006516, "12": 133851895, "13": 115169878, "14": 107349540, "15": 102531392,
        "16": 90354753, "17": 81195210, "18": 78077248, "19": 59128983, "20": 63025520,
        "21": 48129895, "22": 51304566,
    },
    "GRCh38": {
        "1": 248956422, "2": 242193529, "3": 198295559, "4": 190214555, "5": 181538259,
        "6": 170805979, "7": 159345973, "8": 145138636, "9": 138394717, "10": 133797422,
        "11": 135086622, "12": 133275309, "13": 114364328, "14": 107043718, "15": 101991189,
        "16": 90338345, "17": 83257441, "18": 80373285, "19": 58617616, "20": 64444167,
        "21": 46709983, "22": 50818468,
    },
}  # fmt: skip


@dataclass(frozen=True)
class SiteTable:
    """The SNVs written to the VCF, in file order (index = variant index)."""

    chrom: str  # as written in the VCF (e.g. "chr22" for GRCh38, "22" for GRCh37)
    positions: np.ndarray  # 1-based VCF POS, int64, strictly increasing
    ref: list[str]
    alt: list[str]
    alt_counts: np.ndarray  # ALT allele count over all samples, int64
    n_haplotypes: int  # 2 × individuals

    @property
    def n_sites(self) -> int:
        return len(self.positions)

    def variant_id(self, index: int) -> str:
        """`{chrom}-{pos}-{ref}-{alt}` with the bare chromosome name (the store's convention)."""
        bare = self.chrom.removeprefix("chr")
        return f"{bare}-{int(self.positions[index])}-{self.ref[index]}-{self.alt[index]}"


def biallelic_only(ts: Any) -> tuple[Any, int]:
    """The tree sequence without sites carrying more than one mutation; and how many went."""
    counts = np.bincount(ts.tables.mutations.site, minlength=ts.num_sites)
    drop = np.flatnonzero(counts != 1)
    if len(drop):
        ts = ts.delete_sites(drop, record_provenance=False)
    return ts, len(drop)


def haplotype_order(individual_order: np.ndarray) -> np.ndarray:
    """Sample-node columns for individuals in output order (msprime: individual i = nodes 2i, 2i+1)."""
    order = np.asarray(individual_order, dtype=np.int64)
    return np.stack([2 * order, 2 * order + 1], axis=1).ravel()


def _open_compressed(path: Path) -> tuple[IO[bytes], Callable[[], None], bool]:
    """A writable byte stream into `path` (bgzip when present), its closer, and whether bgzip."""
    bgzip = shutil.which("bgzip")
    if bgzip:
        out = path.open("wb")
        proc = subprocess.Popen(
            [bgzip, "-c", "--threads", "2", "--compress-level", "3"],
            stdin=subprocess.PIPE,
            stdout=out,
        )
        assert proc.stdin is not None
        stdin = proc.stdin

        def close_bgzip() -> None:
            stdin.close()
            rc = proc.wait()
            out.close()
            if rc != 0:
                raise GenomeshError(f"bgzip failed with exit code {rc}", file=str(path))

        return stdin, close_bgzip, True
    raw = path.open("wb")
    gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=3)

    def close_gzip() -> None:
        gz.close()
        raw.close()

    return cast(IO[bytes], gz), close_gzip, False


def vcf_header(
    *,
    chrom: str,
    contig_length: int,
    assembly: str,
    sample_ids: Sequence[str],
    extra: Sequence[str] = (),
) -> bytes:
    """A VCFv4.3 header with ##reference, ##contig (length, assembly) and GT only."""
    lines = [
        "##fileformat=VCFv4.3",
        f"##reference={assembly}",
        f"##contig=<ID={chrom},length={contig_length},assembly={assembly}>",
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "##genomesh_note=Simulated genotypes; REF/ALT are simulated alleles, not the "
        "reference sequence",
        *extra,
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
        + "\t"
        + "\t".join(sample_ids),
    ]
    return ("\n".join(lines) + "\n").encode()


# A diploid call coded 2·a + b (a, b the two haplotypes' alleles) -> its 4 bytes of VCF text.
_CALLS = np.frombuffer(b"0|0\t0|1\t1|0\t1|1\t", dtype=np.uint32)
_CALLS_EOL = np.frombuffer(b"0|0\n0|1\n1|0\n1|1\n", dtype=np.uint32)


def _format_chunk(prefixes: list[bytes], haplotypes: np.ndarray) -> bytes:
    """VCF lines for a (sites, 2n) 0/1 haplotype matrix: phased `a|b` calls, tab separated.

    One table lookup per call (4 bytes as a uint32) instead of character-wise writes.
    """
    codes = haplotypes[:, 0::2] * 2 + haplotypes[:, 1::2]
    text = np.ascontiguousarray(_CALLS[codes])
    text[:, -1] = _CALLS_EOL[codes[:, -1]]
    rows = text.view(np.uint8)
    parts: list[bytes | memoryview] = []
    for prefix, row in zip(prefixes, rows, strict=True):
        parts.append(prefix)
        parts.append(memoryview(row))
    return b"".join(parts)


def write_vcf(
    ts: Any,
    path: Path,
    *,
    chrom: str,
    offset: int,
    contig_length: int,
    assembly: str,
    sample_ids: Sequence[str],
    individual_order: np.ndarray,
    extra_header: Sequence[str] = (),
    progress: Callable[[int, int], None] | None = None,
) -> tuple[SiteTable, bool]:
    """Write every (biallelic) site of `ts` as a VCF record at POS = offset + position + 1.

    Returns the site table and whether the file is BGZF (bgzip) rather than plain gzip.
    """
    columns = haplotype_order(individual_order)
    n_sites = ts.num_sites
    positions = np.empty(n_sites, dtype=np.int64)
    alt_counts = np.empty(n_sites, dtype=np.int64)
    refs: list[str] = []
    alts: list[str] = []
    stream, close, bgzf = _open_compressed(path)
    try:
        stream.write(
            vcf_header(
                chrom=chrom, contig_length=contig_length, assembly=assembly,
                sample_ids=sample_ids, extra=extra_header,
            )
        )  # fmt: skip
        block = np.empty((min(CHUNK_SITES, max(n_sites, 1)), ts.num_samples), dtype=np.int8)
        prefixes: list[bytes] = []
        i = 0

        def flush() -> None:
            haps = np.take(block[: len(prefixes)], columns, axis=1)  # nodes -> output order
            alt_counts[i - len(prefixes) : i] = haps.sum(axis=1, dtype=np.int64)
            stream.write(_format_chunk(prefixes, haps))
            prefixes.clear()
            if progress:
                progress(i, n_sites)

        for variant in ts.variants(copy=False):
            ref, alt = variant.alleles[0], variant.alleles[1]
            pos = offset + int(variant.site.position) + 1
            positions[i] = pos
            refs.append(ref)
            alts.append(alt)
            block[len(prefixes)] = variant.genotypes
            prefixes.append(f"{chrom}\t{pos}\t.\t{ref}\t{alt}\t.\tPASS\t.\tGT\t".encode())
            i += 1
            if len(prefixes) == len(block):
                flush()
        if prefixes:
            flush()
    finally:
        close()
    sites = SiteTable(
        chrom=chrom, positions=positions, ref=refs, alt=alts, alt_counts=alt_counts,
        n_haplotypes=len(columns),
    )  # fmt: skip
    return sites, bgzf


def site_dosages(
    ts: Any, site_ids: Sequence[int] | np.ndarray, *, individual_order: np.ndarray
) -> np.ndarray:
    """ALT dosages (0/1/2) for the given sites, shape (len(site_ids), n_individuals), int8."""
    columns = haplotype_order(individual_order)
    out = np.zeros((len(site_ids), len(columns) // 2), dtype=np.int8)
    wanted = {int(s): k for k, s in enumerate(site_ids)}
    positions = ts.tables.sites.position
    for site_id, k in wanted.items():
        left = positions[site_id]
        for variant in ts.variants(left=left, right=left + 1):
            if variant.site.id == site_id:
                haps = variant.genotypes[columns]
                out[k] = haps[0::2] + haps[1::2]
    return out


def tabix_index(path: Path) -> Path | None:
    """Index a BGZF VCF with tabix when the binary exists; the index path or None."""
    tabix = shutil.which("tabix")
    if not tabix:
        return None
    subprocess.run([tabix, "-f", "-p", "vcf", str(path)], check=True, capture_output=True)
    return path.with_name(path.name + ".tbi")


__all__ = [
    "CHROMOSOME_LENGTHS",
    "SiteTable",
    "biallelic_only",
    "haplotype_order",
    "site_dosages",
    "tabix_index",
    "vcf_header",
    "write_vcf",
]
