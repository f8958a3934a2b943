"""Genes, consequences and amino-acid changes from SnpEff `INFO/ANN` or VEP `INFO/CSQ`.

Both are comma-separated entries of `|`-separated fields. SnpEff's layout is fixed
(Allele|Annotation|Impact|Gene_Name|Gene_ID|...|HGVS.c|HGVS.p|...); VEP's is declared in the
CSQ header's `Format:` description, so it is read from there. VEP writes the allele without
the shared anchor base (`-` for a pure deletion), SnpEff writes the ALT as is; both are
matched to the split ALT here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

_ANN_FORMAT = [
    "Allele",
    "Annotation",
    "Annotation_Impact",
    "Gene_Name",
    "Gene_ID",
    "Feature_Type",
    "Feature_ID",
    "Transcript_BioType",
    "Rank",
    "HGVS.c",
    "HGVS.p",
    "cDNA.pos/cDNA.length",
    "CDS.pos/CDS.length",
    "AA.pos/AA.length",
    "Distance",
    "ERRORS/WARNINGS/INFO",
]


@dataclass(frozen=True)
class AnnotationLayout:
    """Which INFO key holds annotations and where the fields we keep sit in an entry."""

    key: str  # "ANN" or "CSQ"
    allele: int
    consequence: int
    gene: int
    hgvsp: int | None
    amino_acids: int | None = None
    protein_position: int | None = None

    @cached_property
    def needed(self) -> int:
        """The last field index read from an entry."""
        fields = (self.allele, self.consequence, self.gene, self.hgvsp, self.amino_acids,
                  self.protein_position)  # fmt: skip
        return max(i for i in fields if i is not None)

    @cached_property
    def shortest(self) -> int:
        """An entry with no more fields than this lacks allele, consequence or gene."""
        return max(self.allele, self.consequence, self.gene)


def layout_from_header(header_lines: list[str]) -> AnnotationLayout | None:
    """The annotation layout declared by a VCF header (ANN preferred over CSQ), or None."""
    ann = csq = None
    for line in header_lines:
        if line.startswith("##INFO=<ID=ANN,"):
            ann = line
        elif line.startswith("##INFO=<ID=CSQ,"):
            csq = line
    if ann is not None:
        f = {name: i for i, name in enumerate(_ANN_FORMAT)}
        return AnnotationLayout("ANN", f["Allele"], f["Annotation"], f["Gene_Name"], f["HGVS.p"])
    if csq is not None:
        match = re.search(r"Format:\s*([^\"]+)", csq)
        if not match:
            return None
        names = [n.strip() for n in match.group(1).strip().rstrip('">').split("|")]
        f = {name: i for i, name in enumerate(names)}
        if "Allele" not in f or "Consequence" not in f:
            return None
        return AnnotationLayout(
            "CSQ",
            f["Allele"],
            f["Consequence"],
            f.get("SYMBOL", f.get("Gene", 0)),
            f.get("HGVSp"),
            f.get("Amino_acids"),
            f.get("Protein_position"),
        )
    return None


def vep_allele(ref: str, alt: str, alts: list[str]) -> str:
    """The allele string VEP writes for `alt`: anchor base dropped when all alleles share it."""
    if alt.startswith("<"):
        return alt
    if (
        all(a[:1] == ref[:1] for a in alts if not a.startswith("<"))
        and all(len(a) > 1 or len(ref) > 1 for a in alts)
        and (len(ref) != 1 or any(len(a) != 1 for a in alts))
    ):
        return alt[1:] or "-"
    return alt


def _aa_change(fields: list[str], layout: AnnotationLayout) -> str | None:
    if layout.hgvsp is not None and layout.hgvsp < len(fields) and fields[layout.hgvsp]:
        value = fields[layout.hgvsp]
        return value.split(":", 1)[1] if ":" in value else value
    if (
        layout.amino_acids is not None
        and layout.protein_position is not None
        and max(layout.amino_acids, layout.protein_position) < len(fields)
    ):
        aa, position = fields[layout.amino_acids], fields[layout.protein_position]
        if "/" in aa and position:
            before, after = aa.split("/", 1)
            return f"{before}{position}{after}"
    return None


def parse_annotations(
    raw: str | None, layout: AnnotationLayout, *, ref: str, alts: list[str]
) -> dict[str, tuple[list[str], list[str], list[str]]]:
    """Per ALT: (genes, consequences, aa_changes), each de-duplicated in first-seen order."""
    out: dict[str, tuple[list[str], list[str], list[str]]] = {a: ([], [], []) for a in alts}
    if not raw:
        return out
    if layout.key == "CSQ":
        by_allele = {vep_allele(ref, a, alts): a for a in alts}
    else:
        by_allele = {a: a for a in alts}
    single = alts[0] if len(alts) == 1 else None
    needed, shortest = layout.needed, layout.shortest
    for entry in raw.split(","):
        fields = entry.split("|", needed + 1)  # the fields after the last one we read stay joined
        if len(fields) <= shortest:
            continue
        alt = by_allele.get(fields[layout.allele], single)
        if alt is None:
            continue
        genes, consequences, changes = out[alt]
        gene = fields[layout.gene]
        if gene and gene not in genes:
            genes.append(gene)
        for consequence in fields[layout.consequence].split("&"):
            if consequence and consequence not in consequences:
                consequences.append(consequence)
        change = _aa_change(fields, layout)
        if change and change != "." and change not in changes:
            changes.append(change)
    return out


__all__ = ["AnnotationLayout", "layout_from_header", "parse_annotations", "vep_allele"]
