"""Node data store: VCF/phenopacket/consent ingest, VCF Zarr genotypes, Parquet variant index."""
