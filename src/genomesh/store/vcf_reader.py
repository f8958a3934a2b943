"""Stream a VCF (plain or bgzipped, parsed by cyvcf2/htslib) as batches of split variants.

Each batch holds up to `batch_records` VCF records, split into biallelic variants (calls of
other ALTs count as REF, as `bcftools norm -m-`), trimmed and typed, with their genotypes as
one int8 array (variants, samples, ploidy): 1 = this ALT, 0 = REF or another ALT, -1 missing,
-2 fill (haploid call in a diploid file). Allele counts are recomputed from those calls with
numpy over the whole batch; INFO counts are never trusted.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from cyvcf2 import VCF

from genomesh.core.errors import IngestError
from genomesh.core.genome import CHROMOSOMES, VariantType, normalize_chromosome
from genomesh.store.annotations import layout_from_header, parse_annotations
from genomesh.store.normalize import NON_VARIANT_ALTS, allele_problem, is_symbolic, normalise
from genomesh.store.vcf_header import (
    count_header_lines,
    detect_assembly,
    diagnose_header,
    diagnose_record,
)

CHROM_RANK = {c: i for i, c in enumerate(CHROMOSOMES)}


VECTOR_END = -(2**31) + 1  # htslib bcf_int32_vector_end: no more alleles in this call
_LITTLE = sys.byteorder == "little"
_TYPE_NAME = {t: str(t.value) for t in VariantType}
_SNV = _TYPE_NAME[VariantType.SNV]
_HIST_CELLS = (
    1 << 19
)  # calls per bincount in _count (a 4 MB index temporary)  # Enum .value is slow per record


@dataclass
class _Pending:
    """A batch's raw BCF GT block and what decoding it needs (see VcfReader.complete)."""

    raw: np.ndarray | None  # (records, samples, ploidy) int32, htslib encoding
    nb: int
    src: list[int]  # per split variant: its record's row in `raw`
    which: list[int]  # per split variant: its ALT number
    max_allele: list[int]  # per record: number of ALTs
    lines: list[int]  # per record: line number (for errors)
    short: list[int]  # rows of records whose calls are all haploid


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
    pending: _Pending | None = None  # raw genotypes until VcfReader.complete() decodes them

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
            raise diagnose_header(self.path, str(exc)) from exc
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
        self._gt_ploidy: int | None = None  # set by the first record with genotypes
        # Raw GT blocks that complete() has finished with, reused by batches(): a fresh
        # block per batch is fresh memory, and the kernel zeroing its pages as the parser
        # first writes them cost ~0.1 s of the parser thread on the CINECA excerpt.
        self._spare: list[np.ndarray] = []

    def _raw_block(self, shape: tuple[int, int, int]) -> np.ndarray:
        while self._spare:  # list.pop/append are atomic: complete() runs on another thread
            block = self._spare.pop()
            if block.shape == shape:
                return block
        return np.empty(shape, np.int32)

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
        """Yield VariantBatch objects until the file ends; errors name file/line/field.

        Only what needs the parser (and so the GIL) happens here: each record's fields and its
        raw BCF GT values copied into one int32 block per batch. Decoding, splitting and
        counting that block is numpy work done by `complete(batch)`, which the ingest runs
        on its writer thread so it overlaps with parsing the next batch."""
        n_samples = len(self.samples)
        layout = self.layout
        header_len = self.header_line_count
        path = str(self.path)
        record_no = 0
        it = iter(self._vcf)
        ploidy = self.ploidy
        chroms: dict[str, str | None] = {}
        lengths = {c: n for c, n in self.contig_lengths.items() if n and n > 0}
        exhausted = False
        while not exhausted:
            batch = VariantBatch()
            rows: list[tuple] = []
            src: list[int] = []
            which: list[int] = []
            max_allele: list[int] = []
            lines: list[int] = []
            short: list[int] = []  # rows whose record has fewer alleles per call than the file
            raw_gt: np.ndarray | None = None
            if n_samples and self._gt_ploidy is not None:
                raw_gt = self._raw_block((batch_records, n_samples, ploidy))
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
                name = rec.CHROM
                chrom = chroms.get(name, "")
                if chrom == "":
                    chrom = chroms[name] = normalize_chromosome(name)
                alts = rec.ALT
                if chrom is None or not alts:
                    batch.n_skipped += 1
                    continue
                if n_samples:
                    try:
                        gt = rec.format("GT", int)
                    except Exception:  # cyvcf2: "couldn't get genotypes" on odd FORMATs
                        gt = None
                    if gt is None:
                        raise IngestError(
                            "record has no GT: every record needs genotypes when the file has "
                            "samples", file=path, line=line_no, field="FORMAT",
                        )  # fmt: skip
                    p = gt.shape[1]
                    if raw_gt is None:  # the first record fixes the file's ploidy
                        if p > 4:
                            raise IngestError(
                                f"ploidy {p} is not supported (at most 4)",
                                file=path, line=line_no, field="GT",
                            )  # fmt: skip
                        ploidy = self.ploidy = max(p, 2)  # haploid-first files (MT, Y) too
                        self._gt_ploidy = ploidy
                        raw_gt = self._raw_block((batch_records, n_samples, ploidy))
                    if p == ploidy:
                        raw_gt[nb] = gt
                    elif p < ploidy:
                        raw_gt[nb, :, :p] = gt
                        raw_gt[nb, :, p:] = VECTOR_END
                        if p == 1:
                            short.append(nb)
                    else:
                        raise IngestError(
                            f"ploidy {p} exceeds the file's ploidy {ploidy}",
                            file=path, line=line_no, field="GT",
                        )  # fmt: skip
                ref = rec.REF
                pos = rec.POS
                if pos < 1 or pos > lengths.get(chrom, pos):
                    raise IngestError(
                        f"POS {pos} is not a position on chromosome {chrom} (1.."
                        f"{lengths.get(chrom) or '?'}; VCF POS 0 marks a telomere: remove such "
                        "records)", file=path, line=line_no, field="POS",
                    )  # fmt: skip
                if (problem := allele_problem(ref)) is not None:
                    raise IngestError(problem, file=path, line=line_no, field="REF")
                if not ref.isupper():
                    ref = ref.upper()  # bases are case-insensitive (VCF 4.3 1.6.1)
                annotations = None
                if layout is not None:
                    annotations = parse_annotations(
                        rec.INFO.get(layout.key), layout, ref=ref, alts=alts
                    )
                rsid = None
                ids = rec.ID
                if ids:
                    if ";" not in ids:  # one id (the usual case): no generator needed
                        rsid = ids if ids.startswith("rs") else None
                    else:
                        rsid = next((i for i in ids.split(";") if i.startswith("rs")), None)
                snv_ref = len(ref) == 1
                for k, alt in enumerate(alts, 1):
                    if (problem := allele_problem(ref, alt)) is not None:
                        raise IngestError(problem, file=path, line=line_no, field="ALT")
                    if alt in NON_VARIANT_ALTS:
                        continue
                    g, c, a = annotations[alt] if annotations is not None else ([], [], [])
                    if snv_ref and len(alt) == 1:  # an SNV (what normalise() returns for one)
                        rows.append(
                            (chrom, pos, ref, alt if alt.isupper() else alt.upper(), rsid,
                             _SNV, pos - 1, pos, 1, g, c, a)
                        )  # fmt: skip
                        src.append(nb)
                        which.append(k)
                        continue
                    if is_symbolic(alt):
                        info = rec.INFO
                        where = (path, line_no)
                        svlen = info.get("SVLEN")
                        if isinstance(svlen, tuple):
                            svlen = svlen[k - 1] if k - 1 < len(svlen) else svlen[0]
                        svlen = _info_int(svlen, "SVLEN", where)
                        sv_end = _info_int(info.get("END"), "END", where)
                        if sv_end is not None and sv_end < pos:
                            raise IngestError(
                                f"END ({sv_end}) < POS ({pos})",
                                file=path, line=line_no, field="INFO/END",
                            )  # fmt: skip
                        svtype = info.get("SVTYPE")
                        v = normalise(
                            pos, ref, alt, sv_end=sv_end,
                            svtype=None if svtype is None else str(svtype), svlen=svlen,
                        )  # fmt: skip
                    else:
                        v = normalise(pos, ref, alt if alt.isupper() else alt.upper())
                    rows.append(
                        (chrom, v.pos, v.ref, v.alt, rsid, _TYPE_NAME[v.variant_type], v.start,
                         v.end, v.length, g, c, a)
                    )  # fmt: skip
                    src.append(nb)
                    which.append(k)
                max_allele.append(len(alts))
                lines.append(line_no)
                nb += 1
            if batch.n_records == 0:
                return
            if rows:
                columns = list(zip(*rows, strict=True))
                (batch.chrom, batch.pos, batch.ref, batch.alt, batch.rsid, batch.variant_type,
                 batch.start, batch.end, batch.length, batch.genes, batch.consequences,
                 batch.aa_changes) = (list(col) for col in columns)  # fmt: skip
            batch.pending = _Pending(
                raw_gt[:nb] if raw_gt is not None else None, nb, src, which, max_allele, lines,
                short,
            )  # fmt: skip
            yield batch

    def complete(self, batch: VariantBatch) -> VariantBatch:
        """Decode, split and count a batch's genotypes (numpy only; safe on another thread)."""
        pending = batch.pending
        if pending is None:
            return batch
        batch.pending = None
        n_samples = len(self.samples)
        n = len(pending.src)
        ploidy = self.ploidy
        raw = pending.raw
        if raw is None or n_samples == 0:
            _count(
                batch,
                np.zeros((n, n_samples, ploidy), dtype=np.int8),
                np.zeros((n, n_samples), dtype=bool),
            )
            return batch
        nb = pending.nb
        # htslib's BCF encoding: (allele + 1) << 1 | phased; 0 or 1 = missing; vector_end pads
        # a call with fewer alleles (a haploid call in a diploid record): fill -2. Checked
        # and decoded on the raw codes: one row max, then one lookup table pass.
        limits = np.asarray(pending.max_allele, dtype=np.int64)
        row_max = raw.reshape(nb, -1).max(axis=1)
        too_big = row_max >= 2 * (limits + 2)  # (code >> 1) - 1 > number of ALTs
        if too_big.any():
            r = int(np.flatnonzero(too_big)[0])
            calls_r = np.right_shift(raw[r], 1) - 1
            s = int(np.flatnonzero((calls_r > limits[r]).any(axis=1))[0])
            raise IngestError(
                f"genotype allele {int(calls_r[s].max())} for sample {self.samples[s]} "
                f"but the record has only {int(limits[r])} ALT allele(s)",
                file=str(self.path),
                line=pending.lines[r],
                field="GT",
            )
        # the phase bit sits on the second allele (the file's ploidy is at least 2)
        if int(row_max.max()) < 256:  # every code fits its low byte: decode 1 byte per allele
            low = raw.astype(np.uint8)  # the low byte (a contiguous, vectorised cast)
            phased_all = (low[:, :, 1] & 1).view(bool)  # the phase bit is in the low byte
            np.right_shift(low, 1, out=low)
            alleles = low.view(np.int8)
            alleles -= 1  # missing (0, 1) and bcf_int32_missing (low byte 0) -> -1
        else:  # alleles above 126: int16
            alleles = np.maximum(np.right_shift(raw, 1) - 1, -1).astype(np.int16)
            phased_all = (raw[:, :, 1] & 1).astype(bool)
        if int(raw.min()) < 0:
            alleles[raw == VECTOR_END] = -2
        if pending.short:  # a haploid record has no phase (as cyvcf2's Genotypes.array())
            phased_all[pending.short] = False
        block = raw.base if raw.base is not None else raw  # the whole block, not the view
        del raw  # nothing below reads the int32 block: hand it back for the next batch
        pending.raw = None
        if len(self._spare) < 2:
            self._spare.append(block)
        if n == nb and bool((limits == 1).all()):  # all biallelic: alleles are already 0/1/-1/-2
            calls = alleles.astype(np.int8, copy=False)
            phased = phased_all
        else:
            src_idx = np.asarray(pending.src, dtype=np.intp)
            picked = alleles[src_idx]
            k = np.asarray(pending.which, dtype=np.int32)[:, None, None]
            calls = np.where(picked < 0, picked, picked == k).astype(np.int8)
            phased = phased_all[src_idx]
        _count(batch, calls, phased)
        return batch


def _info_int(value: object, key: str, where: tuple[str, int]) -> int | None:
    """An integer INFO value (END, SVLEN); without a ##INFO header line htslib hands back a
    string, so coerce it, and name the field when it is not a number."""
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, tuple):
        value = value[0] if value else None
        if value is None:
            return None
    try:
        return int(str(value))
    except ValueError:
        raise IngestError(
            f"{value!r} is not an integer", file=where[0], line=where[1], field=f"INFO/{key}"
        ) from None


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


def _packed_luts(ploidy: int) -> tuple[np.ndarray, np.ndarray]:
    """Per raw byte pattern of one call (as _BYTE_LUTS): its dosage, and its five counts
    (alt, called, het, hom, missing) packed in one uint64, _FIELD_BITS bits each, so one
    sum over a row adds all five counts at once."""
    dosage_of, called_of, alt_of, het_of, hom_of = _TABLES[ploidy]
    missing_of = (dosage_of == -1).astype(np.int64)
    packed = np.zeros(4**ploidy, dtype=np.uint64)
    for k, count_of in enumerate((alt_of, called_of, het_of, hom_of, missing_of)):
        packed |= count_of.astype(np.uint64) << np.uint64(_FIELD_BITS * k)
    code = _BYTE_LUTS[ploidy]
    return dosage_of[code], packed[code]


_FIELD_BITS = 12
# Samples summed per block: a call adds at most 2 (alt or called alleles, ploidy <= 2) to a
# field, so a block's field sum stays below 2**_FIELD_BITS and never spills into the next.
_PACK_BLOCK = (1 << _FIELD_BITS) // 2 - 1
_PACKED_LUTS = {p: _packed_luts(p) for p in _BYTE_LUTS}


def _category_codes(calls: np.ndarray) -> np.ndarray:
    """(n, samples) uint8 category codes of (n, samples, ploidy) int8 calls."""
    ploidy = calls.shape[2]
    if ploidy in _BYTE_LUTS and calls.flags.c_contiguous:
        raw = calls.view(_RAW_VIEW[ploidy]).reshape(calls.shape[:2])
        return np.take(_BYTE_LUTS[ploidy], raw)  # take: faster than fancy indexing
    code = calls[:, :, 0].view(np.uint8) + np.uint8(2)  # -2,-1,0,1 -> 0,1,2,3 (wrapping)
    for j in range(1, ploidy):
        code += (calls[:, :, j].view(np.uint8) + np.uint8(2)) * np.uint8(4**j)
    return code


_SCRATCH = threading.local()


def _scratch(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """This thread's intp index and uint64 value blocks for _count_packed, reused from batch
    to batch: fresh blocks are fresh memory, which the kernel zeroes page by page on first
    touch (that cost more than the lookups themselves)."""
    cached = getattr(_SCRATCH, "blocks", None)
    if cached is None or cached[0].shape != shape:
        cached = (np.empty(shape, dtype=np.intp), np.empty(shape, dtype=np.uint64))
        _SCRATCH.blocks = cached
    return cached


def _count_packed(batch: VariantBatch, calls: np.ndarray) -> None:
    """Ploidy 1-2 (contiguous calls): dosages and the five counts straight from the raw bytes
    of each call, by two table lookups and row sums. Unlike bincount (which holds the GIL for
    its whole run), take and sum release the GIL, so the parser thread is not held up."""
    n, n_samples, ploidy = calls.shape
    dosage_lut, packed_lut = _PACKED_LUTS[ploidy]
    raw = calls.view(_RAW_VIEW[ploidy]).reshape(n, n_samples)
    batch.dosage = dosage = np.empty((n, n_samples), dtype=np.int8)
    totals = np.zeros((5, n), dtype=np.int64)
    starts = np.arange(0, n_samples, _PACK_BLOCK)
    mask = np.uint64((1 << _FIELD_BITS) - 1)
    step = max(1, _HIST_CELLS // max(1, n_samples))  # rows per lookup: bounded temporaries
    index_buf, values_buf = _scratch((step, n_samples))
    for i in range(0, n if n_samples else 0, step):
        rows = raw[i : i + step]
        index = index_buf[: len(rows)]  # take casts to intp anyway: once for both lookups
        np.copyto(index, rows, casting="safe")
        np.take(dosage_lut, index, out=dosage[i : i + step], mode="clip")  # clip: unbuffered
        values = np.take(packed_lut, index, out=values_buf[: len(rows)], mode="clip")
        if n_samples <= _PACK_BLOCK:
            sums = values.sum(axis=1, keepdims=True)
        else:
            sums = np.add.reduceat(values, starts, axis=1)
        for k in range(5):
            part = (sums >> np.uint64(_FIELD_BITS * k)) & mask
            totals[k, i : i + len(values)] = part.sum(axis=1, dtype=np.int64)
    batch.ac, batch.an, batch.n_het, batch.n_hom_alt, batch.n_missing = (
        t.astype(np.int32) for t in totals
    )


def _count(batch: VariantBatch, calls: np.ndarray, phased: np.ndarray) -> None:
    """Dosages and allele counts of split calls: each call becomes a small category code
    (alleles in base 4, one table lookup), dosages come from a lookup and the per-variant
    counts from one bincount per variant: a few passes over the batch whatever the counts."""
    n, _, ploidy = calls.shape
    if ploidy not in _TABLES:
        raise IngestError(f"ploidy {ploidy} is not supported (at most 4)", field="GT")
    batch.calls = calls
    batch.phased = phased
    if ploidy in _PACKED_LUTS and calls.dtype == np.int8 and calls.flags.c_contiguous:
        _count_packed(batch, calls)
        return
    dosage_of, called_of, alt_of, het_of, hom_of = _TABLES[ploidy]
    code = _category_codes(calls)
    n_cat = 4**ploidy
    hist = np.zeros((n, n_cat), dtype=np.int64)
    step = max(1, _HIST_CELLS // max(1, code.shape[1]))  # rows per bincount: bounded temp
    for i in range(0, n, step):
        part = code[i : i + step]
        rows = len(part)
        offsets = np.arange(rows, dtype=np.intp)[:, None] * n_cat
        counts = np.bincount((part + offsets).ravel(), minlength=rows * n_cat)
        hist[i : i + rows] = counts.reshape(rows, n_cat)
    batch.dosage = np.take(dosage_of, code)
    batch.ac = (hist @ alt_of).astype(np.int32)
    batch.an = (hist @ called_of).astype(np.int32)
    batch.n_missing = hist[:, dosage_of == -1].sum(axis=1).astype(np.int32)
    batch.n_het = (hist @ het_of).astype(np.int32)
    batch.n_hom_alt = (hist @ hom_of).astype(np.int32)


__all__ = ["CHROM_RANK", "VariantBatch", "VcfReader"]
