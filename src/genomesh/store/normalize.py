"""Allele normalisation and variant typing for one split (biallelic) VCF allele.

Trimming follows `bcftools norm` without a reference: drop the common suffix, then the common
prefix, while both alleles keep at least one base, moving POS past each dropped prefix base.
Indels therefore keep their one anchor base, as VCF requires; MNVs that share bases shrink to
the differing core (AGCCAT>AGCTAT at POS becomes C>T at POS+3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from genomesh.core.genome import VariantType

# ALT alleles that are not variants of their own: the spanning-deletion star, gVCF's
# non-ref placeholder and a missing ALT.
NON_VARIANT_ALTS = frozenset({"*", "<*>", "<NON_REF>", "<X>", "."})

_SYMBOLIC_TYPES: dict[str, VariantType] = {
    "DEL": VariantType.DEL,
    "DUP": VariantType.DUP,
    "INV": VariantType.INV,
    "CNV": VariantType.CNV,
    "INS": VariantType.INS,
    "BND": VariantType.BND,
}


_SEQUENCE = re.compile(r"[ACGTNacgtn]+")
_SYMBOLIC = re.compile(r"<[^<>,\s]+>")
_BREAKEND = re.compile(
    r"[ACGTNacgtn]+[\[\]][^\[\]\s]+:\d+[\[\]]|[\[\]][^\[\]\s]+:\d+[\[\]][ACGTNacgtn]+"
    r"|\.[ACGTNacgtn]+|[ACGTNacgtn]+\."
)
_BASES = frozenset("ACGTN")


def allele_problem(ref: str, alt: str | None = None) -> str | None:
    """Why REF (or one ALT) is not a VCF allele, else None (VCF 4.3 section 1.6.1).

    REF is bases A, C, G, T, N (any case); an ALT is such bases, `*`, `.`, a symbolic
    `<ID>` or a breakend. Anything else (`Z`, IUPAC codes, spaces) cannot be matched by a
    Beacon query, so ingest refuses it rather than store a variant no one can find."""
    if alt is None:
        if ref in _BASES or _SEQUENCE.fullmatch(ref):
            return None
        return f"REF {ref!r} is not a sequence of bases (A, C, G, T, N)"
    if alt in _BASES or alt in NON_VARIANT_ALTS or _SEQUENCE.fullmatch(alt):
        return None
    if _SYMBOLIC.fullmatch(alt) or _BREAKEND.fullmatch(alt):
        return None
    return (
        f"ALT {alt!r} is not a base sequence (A, C, G, T, N), '*', a symbolic allele <ID> "
        "or a breakend"
    )


def trim_alleles(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Minimal representation of REF/ALT at 1-based `pos` (suffix first, then prefix)."""
    if alt.startswith("<") or "[" in alt or "]" in alt:
        return pos, ref, alt
    end = 0
    while len(ref) - end > 1 and len(alt) - end > 1 and ref[-1 - end] == alt[-1 - end]:
        end += 1
    if end:
        ref, alt = ref[: len(ref) - end], alt[: len(alt) - end]
    start = 0
    while len(ref) - start > 1 and len(alt) - start > 1 and ref[start] == alt[start]:
        start += 1
    return pos + start, ref[start:], alt[start:]


def symbolic_type(alt: str, svtype: str | None) -> VariantType:
    """The variant type of a symbolic or breakend ALT, using INFO/SVTYPE as a fallback."""
    if "[" in alt or "]" in alt:
        return VariantType.BND
    name = alt.strip("<>").split(":", 1)[0].upper()
    if name in _SYMBOLIC_TYPES:
        return _SYMBOLIC_TYPES[name]
    if name.startswith("CN"):  # <CN0>, <CN2>, ... copy-number alleles
        return VariantType.CNV
    if svtype:
        key = svtype.split(":", 1)[0].upper()
        if key.startswith("CN"):
            return VariantType.CNV
        return _SYMBOLIC_TYPES.get(key, VariantType.SV)
    return VariantType.SV


def is_symbolic(alt: str) -> bool:
    return alt.startswith("<") or "[" in alt or "]" in alt


def sequence_type(ref: str, alt: str) -> VariantType:
    """SNV / MNV / INS / DEL / INDEL of a trimmed sequence allele."""
    if len(ref) == len(alt):
        return VariantType.SNV if len(ref) == 1 else VariantType.MNV
    if len(ref) == 1 and alt.startswith(ref):
        return VariantType.INS
    if len(alt) == 1 and ref.startswith(alt):
        return VariantType.DEL
    return VariantType.INDEL


@dataclass(frozen=True)
class NormalVariant:
    """One split, trimmed allele and the coordinates the store records for it."""

    pos: int  # 1-based VCF POS after trimming
    ref: str
    alt: str
    variant_type: VariantType
    start: int  # 0-based
    end: int  # 0-based exclusive
    length: int


def normalise(
    pos: int, ref: str, alt: str, *, sv_end: int | None = None, svtype: str | None = None,
    svlen: int | None = None,
) -> NormalVariant:  # fmt: skip
    """Trim, type and place one ALT allele (`sv_end` is INFO/END for symbolic alleles)."""
    if len(ref) == 1 and len(alt) == 1 and alt != "<":  # SNV: the common case, nothing to trim
        return NormalVariant(pos, ref, alt, VariantType.SNV, pos - 1, pos, 1)
    if is_symbolic(alt):
        vtype = symbolic_type(alt, svtype)
        start = pos - 1
        end = sv_end if sv_end is not None and sv_end >= pos else start + len(ref)
        length = abs(svlen) if svlen else end - start
        return NormalVariant(pos, ref, alt, vtype, start, end, length)
    pos, ref, alt = trim_alleles(pos, ref, alt)
    vtype = sequence_type(ref, alt)
    if vtype in (VariantType.SNV, VariantType.MNV):
        length = len(ref)
    else:
        length = abs(len(alt) - len(ref)) or max(len(ref), len(alt))
    return NormalVariant(pos, ref, alt, vtype, pos - 1, pos - 1 + len(ref), length)


__all__ = [
    "NON_VARIANT_ALTS",
    "NormalVariant",
    "allele_problem",
    "is_symbolic",
    "normalise",
    "sequence_type",
    "symbolic_type",
    "trim_alleles",
]
