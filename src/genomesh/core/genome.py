"""Shared genomic vocabulary: chromosome names, assemblies, variant types.

Chromosome names arrive as `1`, `chr1`, `NC_000001.10` (GRCh37) or `NC_000001.11` (GRCh38);
they are all normalised to the bare name (`1` ... `22`, `X`, `Y`, `MT`) by exact lookup,
never by prefix, so `1` can never match `19`.
"""

from __future__ import annotations

from enum import StrEnum

from genomesh.core.errors import InvalidInputError

CHROMOSOMES: tuple[str, ...] = tuple([str(i) for i in range(1, 23)] + ["X", "Y", "MT"])

# RefSeq accessions of the primary assembly chromosomes: (GRCh37 version, GRCh38 version).
_REFSEQ_VERSIONS: dict[str, tuple[int, int]] = {
    "1": (10, 11), "2": (11, 12), "3": (11, 12), "4": (11, 12), "5": (9, 10), "6": (11, 12),
    "7": (13, 14), "8": (10, 11), "9": (11, 12), "10": (10, 11), "11": (9, 10), "12": (11, 12),
    "13": (10, 11), "14": (8, 9), "15": (9, 10), "16": (9, 10), "17": (10, 11), "18": (9, 10),
    "19": (9, 10), "20": (10, 11), "21": (8, 9), "22": (10, 11), "X": (10, 11), "Y": (9, 10),
}  # fmt: skip


def _refseq_number(chrom: str) -> str:
    return {"X": "23", "Y": "24"}.get(chrom, chrom).zfill(6)


_ALIASES: dict[str, str] = {}
for _c in CHROMOSOMES:
    for _alias in (_c, f"chr{_c}", _c.lower(), f"chr{_c.lower()}", f"CHR{_c}"):
        _ALIASES[_alias] = _c
_ALIASES.update({"M": "MT", "chrM": "MT", "chrMT": "MT", "NC_012920.1": "MT", "NC_001807.4": "MT"})
_REFSEQ_ASSEMBLY: dict[str, str] = {}
for _c, (_v37, _v38) in _REFSEQ_VERSIONS.items():
    _ALIASES[f"NC_{_refseq_number(_c)}.{_v37}"] = _c
    _ALIASES[f"NC_{_refseq_number(_c)}.{_v38}"] = _c
    _REFSEQ_ASSEMBLY[f"NC_{_refseq_number(_c)}.{_v37}"] = "GRCh37"
    _REFSEQ_ASSEMBLY[f"NC_{_refseq_number(_c)}.{_v38}"] = "GRCh38"


def normalize_chromosome(name: str) -> str | None:
    """The canonical chromosome name for `name`, or None if it is not a primary chromosome."""
    return _ALIASES.get(name.strip())


def require_chromosome(name: str, *, field: str = "referenceName") -> str:
    """Like `normalize_chromosome` but raise a clear error for an unknown name."""
    chrom = normalize_chromosome(name)
    if chrom is None:
        raise InvalidInputError(f"unknown chromosome {name!r}", field=field)
    return chrom


def assembly_of_refseq(name: str) -> str | None:
    """GRCh37 or GRCh38 when `name` is a versioned RefSeq chromosome accession."""
    return _REFSEQ_ASSEMBLY.get(name.strip())


_ASSEMBLY_ALIASES = {
    "grch37": "GRCh37", "hg19": "GRCh37", "hs37d5": "GRCh37", "b37": "GRCh37", "grch37.p13": "GRCh37",
    "grch38": "GRCh38", "hg38": "GRCh38", "grch38.p14": "GRCh38", "hs38": "GRCh38", "b38": "GRCh38",
}  # fmt: skip


def normalize_assembly(name: str) -> str | None:
    """`GRCh37` / `GRCh38` for the usual spellings (hg19, hs37d5, b37, hg38 ...), else None."""
    return _ASSEMBLY_ALIASES.get(name.strip().lower())


class VariantType(StrEnum):
    """Beacon v2 variant types; symbolic structural types keep their VCF names."""

    SNV = "SNV"
    MNV = "MNV"
    INS = "INS"
    DEL = "DEL"
    INDEL = "INDEL"
    DUP = "DUP"
    INV = "INV"
    CNV = "CNV"
    BND = "BND"
    SV = "SV"


__all__ = [
    "CHROMOSOMES",
    "VariantType",
    "assembly_of_refseq",
    "normalize_assembly",
    "normalize_chromosome",
    "require_chromosome",
]
