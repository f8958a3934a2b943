"""The packaged gene table: every GENCODE gene (coding and non-coding) on GRCh38 and GRCh37,
with its symbol, Ensembl id, NCBI (Entrez) id where known, coordinates and biotype.

Files: `genomesh/ontology/data/genes/genes-GRCh3{7,8}.tsv.gz` (SOURCE.md there says where they
come from: GENCODE 43 (GRCh38) and GENCODE 19 (GRCh37) gene records, ids from NCBI Gene via
org.Hs.eg.db 2022-09-12; built by `validation/build_gene_table.py`). Coordinates are 1-based
and inclusive, chromosomes without `chr`. Each table is read at its first use (~0.3 s) and
kept; nothing is looked up over the network.

A gene is named by symbol (case-insensitive), Ensembl id (`ENSG...`, version suffix ignored)
or NCBI id (`672`, `NCBIGene:672`). A symbol that GENCODE gives to several loci (e.g. the
pseudo-autosomal genes on X and Y) resolves to all of them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

from genomesh.core.errors import InvalidInputError

ASSEMBLIES = ("GRCh38", "GRCh37")
VERSION = "GENCODE 43 (GRCh38) / GENCODE 19 (GRCh37); ids NCBI Gene 2022-09-12"
ATTRIBUTION = (
    "Gene coordinates: GENCODE release 43 (GRCh38) and release 19 (GRCh37), Frankish A et al., "
    "GENCODE 2021, Nucleic Acids Res. 2021;49(D1):D916-D923; NCBI Gene ids via Bioconductor "
    "org.Hs.eg.db 3.16.0 (2022-09-12)."
)
_ENSEMBL = re.compile(r"^(?:ENSEMBL:)?(ENSG\d{11})(?:\.\d+)?$", re.IGNORECASE)
_ENTREZ = re.compile(r"^(?:(?:NCBIGene|ENTREZ|EntrezGene):)?(\d+)$", re.IGNORECASE)
_LOCK = threading.Lock()


def require_assembly(assembly: Any, *, field: str = "assembly") -> str:
    """`GRCh38`/`GRCh37` (also hg38/hg19), else InvalidInputError naming the field."""
    text = str(assembly).strip()
    aliases = {"grch38": "GRCh38", "hg38": "GRCh38", "grch37": "GRCh37", "hg19": "GRCh37"}
    if text.lower() not in aliases:
        raise InvalidInputError(
            f"assembly {assembly!r} is not GRCh38 or GRCh37 (the gene tables shipped)", field=field
        )
    return aliases[text.lower()]


@cache
def gene_table(assembly: str = "GRCh38") -> Any:
    """The assembly's genes as a DataFrame: symbol, ensembl ('|'-joined when NCBI gives
    several), entrez, chrom, start, end, strand, biotype (empty string where unknown)."""
    import pandas as pd

    name = f"genes-{require_assembly(assembly)}.tsv.gz"
    with (
        _LOCK,
        resources.files("genomesh.ontology").joinpath("data", "genes", name).open("rb") as f,
    ):
        table = pd.read_csv(
            f, sep="\t", compression="gzip", keep_default_na=False,
            dtype={"symbol": str, "ensembl": str, "entrez": str, "chrom": str,
                   "start": "int64", "end": "int64", "strand": str, "biotype": str},
        )  # fmt: skip
    return table


@cache
def _index(assembly: str) -> dict[str, tuple[int, ...]]:
    """Lookup key (upper-case symbol, ENSG id, NCBIGene:id) -> row numbers."""
    table = gene_table(assembly)
    index: dict[str, list[int]] = {}
    for row, (symbol, ensembl, entrez) in enumerate(
        zip(table["symbol"], table["ensembl"], table["entrez"], strict=True)
    ):
        keys = {symbol.upper()} | {e for e in ensembl.split("|") if e}
        if entrez:
            keys.add(f"NCBIGene:{entrez}")
        for key in keys:
            index.setdefault(key, []).append(row)
    return {k: tuple(v) for k, v in index.items()}


def lookup_key(gene_id: str) -> str:
    """The table's key for a gene id as written: `ENSG...`, `NCBIGene:N`, or the symbol."""
    text = str(gene_id).strip()
    if found := _ENSEMBL.match(text):
        return found.group(1).upper()
    if found := _ENTREZ.match(text):
        return f"NCBIGene:{found.group(1)}"
    return text.removeprefix("HGNC:").upper()


def find_gene(gene_id: str, assembly: str = "GRCh38") -> list[dict[str, Any]]:
    """Every table row for one gene id (empty when the table does not know it)."""
    rows = _index(require_assembly(assembly)).get(lookup_key(gene_id), ())
    table = gene_table(require_assembly(assembly))
    return [table.iloc[r].to_dict() for r in rows]


def resolve_genes(
    genes: Iterable[str], assembly: str = "GRCh38", *, field: str = "genes"
) -> list[dict[str, Any]]:
    """The loci of the named genes, in the order given; an unknown name is an
    InvalidInputError that lists every unknown one."""
    out: list[dict[str, Any]] = []
    unknown: list[str] = []
    for gene in genes:
        rows = find_gene(gene, assembly)
        if not rows:
            unknown.append(str(gene))
        out.extend({**row, "query": str(gene)} for row in rows)
    if unknown:
        raise InvalidInputError(
            f"gene(s) not in the packaged {assembly} gene table ({VERSION}): "
            + ", ".join(repr(u) for u in unknown[:20]),
            field=field,
        )
    return out


def ensembl_to_entrez(ensembl_id: str) -> str | None:
    """The NCBI gene id of an Ensembl gene id when the table knows exactly one."""
    key = lookup_key(ensembl_id)
    ids = set()
    for assembly in ASSEMBLIES:
        table = gene_table(assembly)
        for r in _index(assembly).get(key, ()):
            if table["entrez"].iat[r]:
                ids.add(table["entrez"].iat[r])
        if ids:
            break
    return ids.pop() if len(ids) == 1 else None


__all__ = [
    "ASSEMBLIES",
    "ATTRIBUTION",
    "VERSION",
    "ensembl_to_entrez",
    "find_gene",
    "gene_table",
    "lookup_key",
    "require_assembly",
    "resolve_genes",
]
