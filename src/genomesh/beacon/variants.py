"""Beacon v2 variant request parameters -> one SQL condition over the store's `variants` view.

Query kinds (Beacon v2 coordinates are 0-based; `start` inclusive, `end` exclusive):

* sequence — `referenceName`, `start` (one value), `alternateBases` [, `referenceBases`]:
  variants starting exactly at `start`. Both VCF-style alleles (anchor base kept, as the
  store holds them) and maximally trimmed alleles (empty `referenceBases` for an insertion,
  empty `alternateBases` for a deletion, start after the anchor) match.
* range — `start` and `end` (one value each): variants overlapping `[start, end)`,
  optionally narrowed by `variantType`, `alternateBases`, `variantMinLength/MaxLength`.
* bracket — `start=[s0, s1]`, `end=[e0, e1]`: variants with `s0 <= start < s1` and
  `e0 <= end < e1` (so `s1 = s0 + 1` is a precise start, as the spec describes).
* gene — `geneId` [+ `variantType` | `aminoacidChange` | `alternateBases` | lengths].
* `genomicAlleleShortForm` — HGVS g. substitutions, deletions and insertions
  (`NC_000022.10:g.16050075A>G`, `22:g.100_102del`, `chr1:g.100_101insTT`).

`N` in bases is a wildcard for one base. `referenceName` is matched by exact normalised name,
so `1` never matches `19`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from genomesh.core.errors import InvalidInputError
from genomesh.core.genome import assembly_of_refseq, normalize_assembly, normalize_chromosome

VARIANT_TYPES: dict[str, tuple[str, ...]] = {
    "SNV": ("SNV",), "SNP": ("SNV",), "MNV": ("MNV",), "MNP": ("MNV",), "INS": ("INS",),
    "DEL": ("DEL",), "INDEL": ("INDEL", "INS", "DEL"), "DUP": ("DUP",), "INV": ("INV",),
    "CNV": ("CNV", "DUP"), "BND": ("BND",), "SV": ("SV", "DUP", "INV", "CNV", "BND"),
    "SO:0001483": ("SNV",), "SO:0002007": ("MNV",), "SO:0000159": ("DEL",),
    "SO:0000667": ("INS",), "SO:1000032": ("INDEL",), "SO:0001019": ("CNV", "DUP"),
    "SO:1000035": ("DUP",), "SO:1000036": ("INV",),
    "EFO:0030067": ("CNV", "DUP"), "EFO:0030068": ("DEL", "CNV"), "EFO:0030069": ("DEL", "CNV"),
    "EFO:0030070": ("DUP", "CNV"), "EFO:0030071": ("DUP", "CNV"), "EFO:0030072": ("DUP", "CNV"),
}  # fmt: skip
_BASES = re.compile(r"^[ACGTN]*$")
# The conditions run on the per-dataset in-memory copies (genomesh.beacon.context): the
# variant table has the columns of the store's `variants` view; genes sit in their own table.
VARIANT_TABLE = "bx_variants"
GENE_TABLE = "bx_genes"
_AA3 = {
    "A": "Ala", "R": "Arg", "N": "Asn", "D": "Asp", "C": "Cys", "Q": "Gln", "E": "Glu",
    "G": "Gly", "H": "His", "I": "Ile", "L": "Leu", "K": "Lys", "M": "Met", "F": "Phe",
    "P": "Pro", "S": "Ser", "T": "Thr", "W": "Trp", "Y": "Tyr", "V": "Val", "*": "Ter",
    "X": "Ter",
}  # fmt: skip
_HGVS = re.compile(
    r"^(?P<seq>[A-Za-z0-9_.:]+?):g\.(?P<start>\d+)(?:_(?P<end>\d+))?"
    r"(?:(?P<ref>[ACGTN]+)>(?P<alt>[ACGTN]+)|(?P<del>del[ACGTN]*)|ins(?P<ins>[ACGTN]+)"
    r"|delins(?P<delins>[ACGTN]+))$"
)


@dataclass
class VariantQuery:
    """A parsed, validated variant query and its SQL condition."""

    kind: str  # "none", "sequence", "range", "bracket", "gene", "allele", "id"
    chrom: str | None = None
    assembly: str | None = None  # GRCh37 / GRCh38 when the request states or implies one
    where: str = "TRUE"
    params: list[Any] = field(default_factory=list)
    # Set for a plain sequence query (no wildcard, no other condition): (chrom, start, ref,
    # alt); the engine answers it from a per-dataset position index instead of SQL.
    lookup: tuple[str, int, str | None, str] | None = None
    gene_lookup: str | None = None  # a bare geneId query: answered from the gene index
    range_start: int | None = None  # range/bracket: lowest start that can still overlap
    # Set for a plain range query (referenceName, start, end and nothing else): (chrom,
    # start, end); answered from the position index (variants overlapping [start, end)).
    range_lookup: tuple[str, int, int] | None = None

    def assembly_problem(self, dataset_assembly: str) -> str | None:
        """Why a dataset on `dataset_assembly` cannot answer this query (None: it can)."""
        if self.assembly and normalize_assembly(dataset_assembly) != self.assembly:
            return f"query is on {self.assembly}, dataset is on {dataset_assembly}"
        return None


def _assembly(value: str) -> str:
    norm = normalize_assembly(value)
    if norm is None:
        m = re.fullmatch(r"GCF_000001405\.(\d+)", value.strip())
        if m:
            norm = "GRCh37" if int(m.group(1)) <= 25 else "GRCh38"
    if norm is None:
        raise InvalidInputError(f"unknown assemblyId {value!r}", field="assemblyId")
    return norm


def _chromosome(value: str, field_name: str = "referenceName") -> tuple[str, str | None]:
    name = value.strip()
    if name.lower().startswith("refseq:"):
        name = name[len("refseq:") :]
    chrom = normalize_chromosome(name)
    if chrom is None:
        raise InvalidInputError(f"unknown reference sequence {value!r}", field=field_name)
    return chrom, assembly_of_refseq(name)


def _bases(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    bases = value.strip().upper().replace("-", "").replace(".", "")
    if not _BASES.match(bases):
        raise InvalidInputError(
            f"{name} must use the bases A, C, G, T, N; got {value!r}", field=name
        )
    return bases


def _match(column: str, bases: str, params: list[Any]) -> str:
    """`column` equals `bases`, with N as a one-base wildcard."""
    if "N" in bases:
        params.append(bases.replace("N", "_"))
        return f"{column} LIKE ?"
    params.append(bases)
    return f"{column} = ?"


def _allele_condition(
    start: int | None, ref: str | None, alt: str | None, params: list[Any]
) -> str:
    """Match (start, ref, alt) in VCF style, or maximally trimmed against the anchored form.

    An empty `ref` (insertion) or `alt` (deletion) means the alleles are maximally trimmed;
    the store keeps VCF's anchor base before them, so compare what follows the anchor.
    """
    conds: list[str] = []
    if ref == "" or alt == "":
        conds += ["length(ref) >= 1", "length(alt) >= 1", "left(ref, 1) = left(alt, 1)"]
        if start is not None:
            conds.append("start = ?")
            params.append(start - 1)
        if ref is not None:
            conds.append(_match("substr(ref, 2)", ref, params))
        if alt is not None:
            conds.append(_match("substr(alt, 2)", alt, params))
        return " AND ".join(conds)
    if start is not None:
        conds.append("start = ?")
        params.append(start)
    if ref is not None:
        conds.append(_match("ref", ref, params))
    if alt is not None:
        conds.append(_match("alt", alt, params))
    return " AND ".join(conds) or "TRUE"


def _type_condition(value: str, params: list[Any]) -> str:
    types = VARIANT_TYPES.get(value.strip().upper() if ":" not in value else value.strip())
    if types is None:
        raise InvalidInputError(f"unknown variantType {value!r}", field="variantType")
    params.extend(types)
    return f"variant_type IN ({', '.join('?' for _ in types)})"


def _aa_condition(value: str, params: list[Any]) -> str:
    q = value.strip()
    m = re.fullmatch(r"(?:p\.)?([A-Z*])(\d+)([A-Z*])", q)
    forms = {q, f"p.{q.removeprefix('p.')}"}
    if m and m.group(1) in _AA3 and m.group(3) in _AA3:
        three = f"{_AA3[m.group(1)]}{m.group(2)}{_AA3[m.group(3)]}"
        forms |= {three, f"p.{three}", q.removeprefix("p.")}
    params.append(sorted(forms))
    return "list_has_any(aa_changes, ?::VARCHAR[])"


def _hgvs(value: str, q: VariantQuery, conds: list[str]) -> None:
    m = _HGVS.match(value.strip())
    if not m:
        raise InvalidInputError(
            f"genomicAlleleShortForm {value!r} cannot be resolved (supported: HGVS g. "
            "substitution, del, ins, delins on a chromosome or RefSeq accession)",
            field="genomicAlleleShortForm",
        )
    chrom, implied = _chromosome(m.group("seq"), "genomicAlleleShortForm")
    q.chrom = chrom
    if implied:
        q.assembly = implied
    conds.append("chrom = ?")
    q.params.append(chrom)
    s1 = int(m.group("start"))
    e1 = int(m.group("end") or s1)
    if m.group("ref"):
        conds.append(_allele_condition(s1 - 1, m.group("ref"), m.group("alt"), q.params))
    elif m.group("del") is not None:
        # Deleted bases s1..e1 (1-based); anchored VCF form starts one base before.
        conds.append('start = ? AND "end" = ? AND length(alt) = 1 AND left(ref, 1) = alt')
        q.params.extend([s1 - 2, e1])
    elif m.group("ins") is not None:
        conds.append("start = ? AND length(ref) = 1 AND left(alt, 1) = ref AND substr(alt, 2) = ?")
        q.params.extend([s1 - 1, m.group("ins")])
    else:
        conds.append('start = ? AND "end" = ? AND alt = ?')
        q.params.extend([s1 - 1, e1, m.group("delins")])


def parse_variant_query(parameters: dict[str, Any]) -> VariantQuery:
    """Validate the request parameters and build the SQL condition (raises on nonsense)."""
    p = parameters
    if not p:
        return VariantQuery(kind="none")
    q = VariantQuery(kind="none")
    conds: list[str] = []
    if "assemblyId" in p:
        q.assembly = _assembly(p["assemblyId"])
    if "referenceName" in p:
        chrom, implied = _chromosome(p["referenceName"])
        if implied and q.assembly and implied != q.assembly:
            raise InvalidInputError(
                f"referenceName {p['referenceName']!r} is on {implied}, assemblyId says {q.assembly}",
                field="assemblyId",
            )
        q.chrom, q.assembly = chrom, q.assembly or implied
        conds.append("chrom = ?")
        q.params.append(chrom)
    ref = _bases(p.get("referenceBases"), "referenceBases")
    alt = _bases(p.get("alternateBases"), "alternateBases")
    start, end = p.get("start"), p.get("end")
    if end is not None and start is None:
        raise InvalidInputError("end given without start", field="end")
    if start is not None and q.chrom is None:
        raise InvalidInputError("start needs referenceName", field="referenceName")
    if start is not None and end is None:
        if len(start) != 1:
            raise InvalidInputError(
                "a bracket query needs two start and two end values", field="end"
            )
        if alt is None and "variantType" not in p:
            raise InvalidInputError(
                "start without end needs alternateBases (or variantType)", field="alternateBases"
            )
        q.kind = "sequence"
        conds.append(_allele_condition(start[0], ref, alt, q.params))
    elif start is not None and end is not None:
        if len(start) != len(end):
            raise InvalidInputError(
                "start and end must both have one or both have two values", field="end"
            )
        if len(start) == 1:
            if end[0] <= start[0]:
                raise InvalidInputError(
                    f"end ({end[0]}) must be greater than start ({start[0]})", field="end"
                )
            q.kind = "range"
            conds.append('start < ? AND "end" > ?')
            q.params.extend([end[0], start[0]])
        else:
            if start[1] < start[0] or end[1] < end[0]:
                raise InvalidInputError("bracket values must be ascending", field="start")
            q.kind = "bracket"
            conds.append('start >= ? AND start < ? AND "end" >= ? AND "end" < ?')
            q.params.extend(
                [start[0], max(start[1], start[0] + 1), end[0], max(end[1], end[0] + 1)]
            )
        if ref is not None or alt is not None:
            conds.append(_allele_condition(None, ref, alt, q.params))
    elif ref is not None or alt is not None:
        conds.append(_allele_condition(None, ref, alt, q.params))
    if "geneId" in p:
        q.kind = "gene" if q.kind == "none" else q.kind
        # gene symbols are compared case-insensitively (the gene table holds them upper-cased)
        conds.append(
            f"variant_index IN (SELECT variant_index FROM {GENE_TABLE} WHERE gene = upper(?))"
        )
        q.params.append(p["geneId"])
    if "genomicAlleleShortForm" in p:
        q.kind = "allele"
        _hgvs(p["genomicAlleleShortForm"], q, conds)
    if "variantType" in p:
        conds.append(_type_condition(p["variantType"], q.params))
    if "aminoacidChange" in p:
        conds.append(_aa_condition(p["aminoacidChange"], q.params))
    lo, hi = p.get("variantMinLength"), p.get("variantMaxLength")
    if lo is not None and hi is not None and hi < lo:
        raise InvalidInputError(
            "variantMaxLength is below variantMinLength", field="variantMaxLength"
        )
    if lo is not None:
        conds.append("length >= ?")
        q.params.append(lo)
    if hi is not None:
        conds.append("length <= ?")
        q.params.append(hi)
    if "mateName" in p:
        _chromosome(p["mateName"], "mateName")  # validated; breakend mates are not indexed
    if q.kind == "none" and conds:
        q.kind = "filter"
    plain = {"referenceName", "start", "referenceBases", "alternateBases", "assemblyId"}
    if (
        q.kind == "sequence"
        and set(p) <= plain
        and q.chrom is not None
        and alt is not None
        and "N" not in alt + (ref or "")
    ):
        q.lookup = (q.chrom, int(start[0]), ref, alt)  # type: ignore[index]
    if (
        q.kind == "range"
        and q.chrom is not None
        and set(p) <= {"referenceName", "start", "end", "assemblyId"}
    ):
        q.range_lookup = (q.chrom, int(start[0]), int(end[0]))  # type: ignore[index]
    if q.kind == "gene" and set(p) == {"geneId"}:
        q.gene_lookup = p["geneId"]
    q.where = " AND ".join(f"({c})" for c in conds) or "TRUE"
    return q


def id_query(variant_id: str) -> VariantQuery:
    """One variant by its id (`chrom-pos-ref-alt`) or dbSNP rsid."""
    return VariantQuery(
        kind="id", where="(variant_id = ? OR rsid = ?)", params=[variant_id, variant_id]
    )


__all__ = [
    "GENE_TABLE",
    "VARIANT_TABLE",
    "VARIANT_TYPES",
    "VariantQuery",
    "id_query",
    "parse_variant_query",
]
