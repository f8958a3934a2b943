"""Stream a VCF (plain or bgzipped, parsed by cyvcf2/htslib) as batches of split variants.

Each batch holds up to `batch_records` VCF records, split into biallelic variants (calls of
other ALTs count as REF, as `bcftools norm -m-`), trimmed and typed, with their genotypes as
one int8 array (variants, samples, ploidy): 1 = this ALT, 0 = REF or another ALT, -1 missing,
-2 fill (haploid call in a diploid file). Allele counts are recomputed from those calls with
numpy over the whole batch; INFO counts are never trusted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from cyvcf2 import VCF

from genomesh.core.errors import IngestError
from genomesh.core.genome import CHROMOSOMES, normalize_chromosome
from genomesh.store.annotations import layout_from_header, parse_annotations
from genomesh.store.normalize import NON_VARIANT_ALTS, is_symbolic, normalise
from genomesh.store.vcf_header import count_header_lines, detect_assembly, diagnose_record

CHROM_RANK = {c: i for i, c in enumerate(CHROMOSOMES)}


@dataclass
class VariantBatch:
    """Split variants of one batch of records plus their calls and recomputed counts."""

    chrom: list[str] = field(default_factory=list)
    pos: list[int] = field(default_factory=list)
    ref: list[str] = field(default_factory=list)
    alt: list[str] = field(default_factory=list)
    rsid: list[str | None] = field(default_factory=list)
    variant_type: list[str] = field(default_factory=list)
    start: list[int] = field(default_factory=list)
    end: list[int] = field(default_factory=list)
    length: list[int] = field(default_factory=list)
    genes: list[list[str]] = field(default_factory=list)
    consequences: list[list[str]] = field(default_factory=list)
    aa_changes: list[list[str]] = field(default_factory=list)
    calls: np.ndarray = field(
        default_factory=lambda: np.empty(0, dtype=np.int8)
    )  # (n, samples, ploidy) int8
    phased: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))  # (n, samples) bool
    dosage: np.ndarray = field(
        default_factory=lambda: np.empty(0, dtype=np.int8)
    )  # (n, samples) int8, -1 missing
    ac: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int32))
    an: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int32))
    n_het: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int32))
    n_hom_alt: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int32))
    n_missing: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int32))
    n_records: int = 0
    n_skipped: int = 0

    def __len__(self) -> int:
        return len(self.pos)


class VcfReader:
    """One VCF opened for ingest: header facts plus a batch iterator."""

    def __init__(self, path: Path | str, *, threads: int = 1) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise IngestError("VCF file not found", file=str(self.path))
        try:
            self._vcf = VCF(str(self.path), threads=threads)
        except (OSError, Exception) as exc:  # cyvcf2 raises plain Exception/OSError
            raise IngestError(f"cannot read VCF header: {exc}", file=str(self.path)) from exc
        self.header_lines = self._vcf.raw_header.rstrip("\n").split("\n")
        self.header_line_count = count_header_lines(self.path) or len(self.header_lines)
        self.samples: list[str] = list(self._vcf.samples)
        dupes = {s for s, n in Counter(self.samples).items() if n > 1}
        if dupes:
            raise IngestError(
                f"duplicate sample ids in the header: {sorted(dupes)[:5]}",
                file=str(self.path),
                line=self.header_line_count,
                field="samples",
            )
        self.assembly, self.assembly_evidence = detect_assembly(self.header_lines)
        self.layout = layout_from_header(self.header_lines)
        self.contigs: list[str] = []
        self.contig_lengths: dict[str, int] = {}
        for name, length in zip(self._vcf.seqnames, self._contig_lengths(), strict=False):
            chrom = normalize_chromosome(name)
            if chrom and chrom not in self.contig_lengths:
                self.contig_lengths[chrom] = length
        self.ploidy = 2

    @property
    def total_records(self) -> int | None:
        """Record count from a .tbi/.csi index beside the file (for the progress bar), else None."""
        if not any(self.path.with_name(self.path.name + ext).is_file() for ext in (".tbi", ".csi")):
            return None
        try:
            return int(self._vcf.num_records)
        except (ValueError, Exception):
            return None

    def _contig_lengths(self) -> list[int]:
        try:
            return list(self._vcf.seqlens)
        except (AttributeError, Exception):
            return [0] * len(self._vcf.seqnames)

    def close(self) -> None:
        self._vcf.close()

    def batches(self, *, batch_records: int = 1000) -> Iterator[VariantBatch]:
        """Yield VariantBatch objects until the file ends; errors name file/line/field."""
        n_samples = len(self.samples)
        layout = self.layout
        header_len = self.header_line_count
        record_no = 0
        it = iter(self._vcf)
        ploidy = self.ploidy
        buf_gt: np.ndarray | None = None
        exhausted = False
        while not exhausted:
            batch = VariantBatch()
            src: list[int] = []
            which: list[int] = []
            max_allele: list[int] = []
            lines: list[int] = []
            nb = 0
            while nb < batch_records:
                try:
                    rec = next(it)
                except StopIteration:
                    exhausted = True
                    break
                except Exception as exc:
                    raise diagnose_record(
                        self.path, header_len + record_no + 1, self.samples, str(exc)
                    ) from None
                record_no += 1
                batch.n_records += 1
                line_no = header_len + record_no
                chrom = normalize_chromosome(rec.CHROM)
                alts = rec.ALT
                if chrom is None or not alts:
                    batch.n_skipped += 1
                    continue
                if n_samples:
                    gt = rec.genotype
                    if gt is None:
                        raise IngestError(
                            "record has no GT values", file=str(self.path), line=line_no,
                            field="GT",
                        )  # fmt: skip
                    arr = gt.array()
                    if buf_gt is None:
                        ploidy = max(
                            arr.shape[1] - 1, 2
                        )  # haploid-first files (MT, Y) stay diploid
                        self.ploidy = ploidy
                        buf_gt = np.empty((batch_records, n_samples, ploidy + 1), np.int16)
                    if arr.shape[1] == ploidy + 1:
                        buf_gt[nb] = arr
                    elif arr.shape[1] < ploidy + 1:
                        p = arr.shape[1] - 1
                        buf_gt[nb, :, :p] = arr[:, :p]
                        buf_gt[nb, :, p:ploidy] = -2
                        buf_gt[nb, :, ploidy] = arr[:, p]
                    else:
                        raise IngestError(
                            f"ploidy {arr.shape[1] - 1} exceeds the file's ploidy {ploidy}",
                            file=str(self.path), line=line_no, field="GT",
                        )  # fmt: skip
                ref = rec.REF
                annotations = None
                if layout is not None:
                    annotations = parse_annotations(
                        rec.INFO.get(layout.key), layout, ref=ref, alts=alts
                    )
                rsid = None
                if rec.ID:
                    rsid = next((i for i in rec.ID.split(";") if i.startswith("rs")), None)
                for k, alt in enumerate(alts, 1):
                    if alt in NON_VARIANT_ALTS:
                        continue
                    if is_symbolic(alt):
                        info = rec.INFO
                        svlen = info.get("SVLEN")
                        if isinstance(svlen, tuple):
                            svlen = svlen[k - 1] if k - 1 < len(svlen) else svlen[0]
                        v = normalise(
                            rec.POS, ref, alt, sv_end=info.get("END"),
                            svtype=info.get("SVTYPE"), svlen=svlen,
                        )  # fmt: skip
                    else:
                        v = normalise(rec.POS, ref, alt)
                    batch.chrom.append(chrom)
                    batch.pos.append(v.pos)
                    batch.ref.append(v.ref)
                    batch.alt.append(v.alt)
                    batch.rsid.append(rsid)
                    batch.variant_type.append(v.variant_type.value)
                    batch.start.append(v.start)
                    batch.end.append(v.end)
                    batch.length.append(v.length)
                    if annotations is not None:
                        g, c, a = annotations[alt]
                    else:
                        g, c, a = [], [], []
                    batch.genes.append(g)
                    batch.consequences.append(c)
                    batch.aa_changes.append(a)
                    src.append(nb)
                    which.append(k)
                max_allele.append(len(alts))
                lines.append(line_no)
                nb += 1
            if batch.n_records == 0:
                return
            self._fill_calls(batch, buf_gt, nb, src, which, max_allele, lines)
            yield batch

    def _fill_calls(
        self,
        batch: VariantBatch,
        buf_gt: np.ndarray | None,
        nb: int,
        src: list[int],
        which: list[int],
        max_allele: list[int],
        lines: list[int],
    ) -> None:
        n_samples = len(self.samples)
        n = len(src)
        ploidy = self.ploidy
        if buf_gt is None or n_samples == 0:
            calls = np.zeros((n, n_samples, ploidy), dtype=np.int8)
            phased = np.zeros((n, n_samples), dtype=bool)
        else:
            block = buf_gt[:nb]
            limits = np.asarray(max_allele, dtype=np.int16)
            too_big = block.reshape(nb, -1).max(axis=1) > limits
            if too_big.any():
                r = int(np.flatnonzero(too_big)[0])
                calls_r = block[r, :, :ploidy]
                s = int(np.flatnonzero((calls_r > limits[r]).any(axis=1))[0])
                raise IngestError(
                    f"genotype allele {int(calls_r[s].max())} for sample {self.samples[s]} "
                    f"but the record has only {int(limits[r])} ALT allele(s)",
                    file=str(self.path),
                    line=lines[r],
                    field="GT",
                )
            if n == nb and bool((limits == 1).all()):  # all biallelic: calls are already 0/1/-1/-2
                phased = block[:, :, ploidy] == 1
                calls = block[:, :, :ploidy].astype(np.int8)
            else:
                src_idx = np.asarray(src, dtype=np.intp)
                picked = block[src_idx]  # (n, samples, ploidy + 1)
                phased = picked[:, :, ploidy] == 1
                picked = picked[:, :, :ploidy]
                k = np.asarray(which, dtype=np.int16)[:, None, None]
                calls = np.where(picked < 0, picked, picked == k).astype(np.int8)
        _count(batch, calls, phased)


def _category_tables(ploidy: int) -> tuple[np.ndarray, ...]:
    """Per genotype category (alleles -2..1 in base 4): dosage, alleles called, alt, het, hom."""
    n_cat = 4**ploidy
    dosage = np.zeros(n_cat, dtype=np.int8)
    called = np.zeros(n_cat, dtype=np.int64)
    alt = np.zeros(n_cat, dtype=np.int64)
    het = np.zeros(n_cat, dtype=np.int64)
    hom = np.zeros(n_cat, dtype=np.int64)
    for cat in range(n_cat):
        alleles = [(cat // 4**j) % 4 - 2 for j in range(ploidy)]
        n_alt = sum(a == 1 for a in alleles)
        n_called = sum(a >= 0 for a in alleles)
        dosage[cat] = n_alt if n_called else -1
        called[cat], alt[cat] = n_called, n_alt
        het[cat] = 0 < n_alt < n_called
        hom[cat] = 0 < n_alt == n_called
    return dosage, called, alt, het, hom


_TABLES = {p: _category_tables(p) for p in (1, 2, 3, 4)}


def _byte_category_lut(ploidy: int) -> np.ndarray:
    """Category code for every raw byte pattern of one call (ploidy 1: uint8, 2: uint16).

    A call's int8 alleles read as one unsigned integer (little-endian) index this table, so
    turning a whole batch into category codes is a single lookup."""
    lut = np.zeros(256**ploidy, dtype=np.uint8)
    raw = np.arange(256**ploidy)
    for j in range(ploidy):
        allele = ((raw >> (8 * j)) & 0xFF).astype(np.uint8).view(np.int8).astype(np.int16)
        allele = np.clip(allele, -2, 1)  # only -2..1 occur in split calls
        lut += ((allele + 2) * 4**j).astype(np.uint8)
    return lut


_BYTE_LUTS = {1: _byte_category_lut(1), 2: _byte_category_lut(2)}
_RAW_VIEW = {1: np.uint8, 2: np.uint16}


def _category_codes(calls: np.ndarray) -> np.ndarray:
    """(n, samples) uint8 category codes of (n, samples, ploidy) int8 calls."""
    ploidy = calls.shape[2]
    if ploidy in _BYTE_LUTS and calls.flags.c_contiguous:
        raw = calls.view(_RAW_VIEW[ploidy]).reshape(calls.shape[:2])
        return _BYTE_LUTS[ploidy][raw]
    code = calls[:, :, 0].view(np.uint8) + np.uint8(2)  # -2,-1,0,1 -> 0,1,2,3 (wrapping)
    for j in range(1, ploidy):
        code += (calls[:, :, j].view(np.uint8) + np.uint8(2)) * np.uint8(4**j)
    return code


def _count(batch: VariantBatch, calls: np.ndarray, phased: np.ndarray) -> None:
    """Dosages and allele counts of split calls: each call becomes a small category code
    (alleles in base 4, one table lookup), dosages come from a lookup and the per-variant
    counts from one bincount per variant: a few passes over the batch whatever the counts."""
    n, _, ploidy = calls.shape
    if ploidy not in _TABLES:
        raise IngestError(f"ploidy {ploidy} is not supported (at most 4)", field="GT")
    dosage_of, called_of, alt_of, het_of, hom_of = _TABLES[ploidy]
    code = _category_codes(calls)
    n_cat = 4**ploidy
    hist = np.zeros((n, n_cat), dtype=np.int64)
    for i in range(n):
        hist[i] = np.bincount(code[i], minlength=n_cat)
    batch.calls = calls
    batch.phased = phased
    batch.dosage = dosage_of[code]
    batch.ac = (hist @ alt_of).astype(np.int32)
    batch.an = (hist @ called_of).astype(np.int32)
    batch.n_missing = hist[:, dosage_of == -1].sum(axis=1).astype(np.int32)
    batch.n_het = (hist @ het_of).astype(np.int32)
    batch.n_hom_alt = (hist @ hom_of).astype(np.int32)


__all__ = ["CHROM_RANK", "VariantBatch", "VcfReader"]
