"""Node data store: VCF/phenopacket/consent ingest, VCF Zarr genotypes, Parquet variant index.

    node = init_node("node1", name="Example Hospital", jurisdiction="GB")
    ingest_dataset("node1", "cohort1", vcf="cohort.vcf.gz", individuals="individuals.json",
                   duo=[DataUseTerm(id="DUO:0000042")])
    ds = open_node("node1").dataset("cohort1")
    ds.connect().sql("SELECT count(*) FROM variants WHERE 'BRCA2' IN genes")

The folder layout and the views are specified in docs/design/store-api.md.
"""

from __future__ import annotations

from genomesh.store.dataset import DatasetStore
from genomesh.store.ingest import cineca_attribution, ingest_dataset
from genomesh.store.model import DatasetInfo, GenotypeChunk, IngestSummary, SourceFile
from genomesh.store.node import NodeStore, init_node, open_node

__all__ = [
    "DatasetInfo",
    "DatasetStore",
    "GenotypeChunk",
    "IngestSummary",
    "NodeStore",
    "SourceFile",
    "cineca_attribution",
    "ingest_dataset",
    "init_node",
    "open_node",
]
