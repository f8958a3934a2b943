"""What a VCF header tells the store: the assembly, the samples, and where the records start.

Also diagnoses a record htslib refused to parse, so the error names the line and the field.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

from genomesh.core.errors import IngestError
from genomesh.core.genome import assembly_of_refseq, normalize_assembly

# Length of chromosome 1 in each assembly: a last resort when nothing else names it.
_CHR1_LENGTH = {249250621: "GRCh37", 248956422: "GRCh38"}
_ASSEMBLY_TOKEN = re.compile(r"[A-Za-z0-9]+(?:\.p\d+)?")


def _assembly_in_text(text: str) -> str | None:
    for token in _ASSEMBLY_TOKEN.findall(text):
        found = normalize_assembly(token)
        if found:
            return found
    return None


def detect_assembly(header_lines: list[str]) -> tuple[str | None, str | None]:
    """(assembly, evidence) from ##reference, ##contig assembly=, RefSeq contig names, lengths."""
    for line in header_lines:
        if line.startswith("##reference="):
            found = _assembly_in_text(line.split("=", 1)[1])
            if found:
                return found, line
    for line in header_lines:
        if line.startswith("##contig=<"):
            match = re.search(r"assembly=\"?([^,>\"]+)", line)
            if match and (found := normalize_assembly(match.group(1))):
                return found, line
            id_match = re.search(r"ID=([^,>]+)", line)
            if id_match and (found := assembly_of_refseq(id_match.group(1))):
                return found, line
    for line in header_lines:
        if line.startswith("##contig=<") and re.search(r"ID=(chr)?1[,>]", line):
            match = re.search(r"length=(\d+)", line)
            if match and (found := _CHR1_LENGTH.get(int(match.group(1)))):
                return found, line
    return None, None


def _open_text(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", errors="replace")
    return open(path, errors="replace")


def read_line(path: Path, line_number: int) -> str | None:
    """The text of 1-based `line_number` (only used to explain an error)."""
    try:
        with _open_text(path) as fh:
            for i, line in enumerate(fh, 1):
                if i == line_number:
                    return line.rstrip("\n")
    except (OSError, EOFError):
        return None
    return None


def count_header_lines(path: Path) -> int:
    """Number of `#` lines at the top of the file (htslib may add lines to its own copy)."""
    n = 0
    try:
        with _open_text(path) as fh:
            for line in fh:
                if not line.startswith("#"):
                    break
                n += 1
    except (OSError, EOFError):
        return 0
    return n


def diagnose_header(path: Path, reason: str) -> IngestError:
    """An IngestError saying why htslib refused the header (it only says 'cannot parse')."""
    where: dict[str, Any] = {"file": str(path)}
    try:
        with _open_text(path) as fh:
            for n, line in enumerate(fh, 1):
                if not line.startswith("#"):
                    break
                if line.startswith("#CHROM"):
                    samples = line.rstrip("\r\n").split("\t")[9:]
                    dupes = [s for s, n in Counter(samples).items() if n > 1]
                    if dupes:
                        return IngestError(
                            f"duplicate sample name(s) in the header: {sorted(set(dupes))[:5]}",
                            line=n, field="samples", **where,
                        )  # fmt: skip
                    if any(not s.strip() for s in samples):
                        return IngestError(
                            "empty sample name in the header", line=n, field="samples", **where
                        )
                    break
    except (OSError, EOFError, UnicodeDecodeError):
        pass
    return IngestError(f"cannot read VCF header: {reason}", **where)


_COLUMNS = ("CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT")
_GT_ALLELE = re.compile(r"^(\.|\d+)$")


def _compressed_stream_problem(path: Path) -> str | None:
    """Why a gzip/bgzip file cannot be read to its end (truncated, corrupt), else None."""
    with open(path, "rb") as fh:
        if fh.read(2) != b"\x1f\x8b":
            return None
    try:
        with gzip.open(path, "rb") as fh:
            while fh.read(1 << 20):
                pass
    except (EOFError, OSError, zlib.error) as exc:
        return f"the compressed file is truncated or corrupt ({exc or type(exc).__name__})"
    return None


def diagnose_record(path: Path, line_number: int, samples: list[str], reason: str) -> IngestError:
    """An IngestError naming the line and the offending field of a record htslib refused."""
    where: dict[str, Any] = {"file": str(path), "line": line_number}
    broken = _compressed_stream_problem(path)
    if broken:
        return IngestError(broken, field="file", **where)
    text = read_line(path, line_number)
    if text is None:
        return IngestError(f"unreadable VCF record ({reason})", **where)
    cols = text.split("\t")
    if len(cols) < 8:
        missing = _COLUMNS[len(cols)] if len(cols) < len(_COLUMNS) else "INFO"
        return IngestError(
            f"record has {len(cols)} tab-separated columns, VCF needs at least 8",
            field=missing,
            **where,
        )
    if not cols[1].isdigit():
        return IngestError(f"POS {cols[1]!r} is not a positive integer", field="POS", **where)
    if not re.fullmatch(r"[ACGTNacgtn]+", cols[3]):
        return IngestError(f"REF {cols[3]!r} is not a DNA sequence", field="REF", **where)
    if samples:
        if len(cols) < 9:
            return IngestError("record has no FORMAT/genotype columns", field="FORMAT", **where)
        if len(cols) - 9 != len(samples):
            return IngestError(
                f"record has {len(cols) - 9} sample columns, the header names {len(samples)}",
                field="samples",
                **where,
            )
        keys = cols[8].split(":")
        if "GT" in keys:
            gt_at = keys.index("GT")
            for sample, value in zip(samples, cols[9:], strict=False):
                parts = value.split(":")
                gt = parts[gt_at] if gt_at < len(parts) else "."
                if not all(_GT_ALLELE.match(a) for a in re.split(r"[/|]", gt)):
                    return IngestError(
                        f"bad genotype {gt!r} for sample {sample}", field="GT", **where
                    )
    if cols[7] != "." and any(not part for part in cols[7].split(";")):
        return IngestError("empty INFO entry", field="INFO", **where)
    return IngestError(f"malformed VCF record ({reason})", field="record", **where)


__all__ = [
    "count_header_lines",
    "detect_assembly",
    "diagnose_header",
    "diagnose_record",
    "read_line",
]
