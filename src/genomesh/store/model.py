"""Records the store writes and returns: DatasetInfo (dataset.json), IngestSummary, GenotypeChunk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from genomesh.core.consent import DataUseTerm

Assembly = Literal["GRCh37", "GRCh38"]


class SourceFile(BaseModel):
    """One input file of an ingest, with its content hash (provenance)."""

    model_config = ConfigDict(extra="forbid")

    path: str
    sha256: str
    kind: str = Field(default="vcf", description="vcf | individuals | consent | attribution")


class DatasetInfo(BaseModel):
    """What a dataset is: written to `dataset.json` in each version folder."""

    model_config = ConfigDict(extra="ignore")

    id: str
    name: str
    description: str | None = None
    assembly: Assembly
    duo: list[DataUseTerm] = Field(default_factory=list, description="dataset-level DUO terms")
    has_consent_terms: bool = False
    n_individuals: int = 0
    n_samples: int = 0
    n_variants: int = 0
    version: str
    created: datetime
    sources: list[SourceFile] = Field(default_factory=list)
    attribution: str | None = None
    # Optional additions (see docs/design/store-api.md).
    n_records: int = Field(default=0, description="VCF records read (before splitting)")
    n_skipped_records: int = Field(
        default=0, description="records on non-primary contigs or without a usable ALT"
    )
    ploidy: int = 2
    zarr_format: int = 2
    software_version: str | None = None
    unknown_terms: list[str] = Field(
        default_factory=list,
        description="HPO ids kept with --allow-unknown-terms although the packaged HPO "
        "release does not know them (each is flagged in the individual's document)",
    )
    hpo_version: str | None = Field(
        default=None, description="HPO release the features were checked against"
    )


class IngestSummary(BaseModel):
    """What one ingest did (returned by `ingest_dataset`, printed by the CLI)."""

    model_config = ConfigDict(extra="forbid")

    dataset_id: str
    version: str
    path: Path
    n_records: int
    n_variants: int
    n_samples: int
    n_individuals: int
    n_genotypes: int
    n_carriers: int
    n_skipped_records: int
    n_datasets: int
    seconds: float
    info: DatasetInfo
    replaced: DatasetInfo | None = None  # the version this ingest replaced, if any


@dataclass(frozen=True)
class GenotypeChunk:
    """A block of the genotype matrix: alt-allele dosages, -1 where the call is missing."""

    variant_indices: np.ndarray  # (n_var,) int64
    dosages: np.ndarray  # (n_var, n_ind) int8
    individual_ids: list[str]


__all__ = ["Assembly", "DatasetInfo", "GenotypeChunk", "IngestSummary", "SourceFile"]
