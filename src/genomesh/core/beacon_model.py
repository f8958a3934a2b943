"""The Beacon v2 default model's entry types: facts of the specification that the node's
Beacon and the hub's Beacon network both describe (one table, so they cannot drift apart).

Per path entry type: the entity id, its human name, the ontology term for it, a description,
the default schema's id and folder in the beacon-v2 repository, and what a collection
(dataset, cohort) is a collection of.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

API_VERSION = "v2.1.1"
SPEC = "Beacon v2.1.1"
SCHEMA_BASE = "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/models/json/beacon-v2-default-model"


@dataclass(frozen=True)
class EntryType:
    id: str
    name: str
    term: dict[str, str]
    description: str
    schema_id: str
    schema_dir: str
    collection_of: str | None = None


ENTRY_TYPES: dict[str, EntryType] = {
    "g_variants": EntryType("genomicVariant", "Genomic Variants", {"id": "ENSGLOSSARY:0000092", "label": "Variant"}, "A genomic variant observed in at least one allowed individual.", "ga4gh-beacon-variant-v2.0.0", "genomicVariations"),
    "individuals": EntryType("individual", "Individual", {"id": "NCIT:C25190", "label": "Person"}, "A human being taking part in a dataset.", "ga4gh-beacon-individual-v2.0.0", "individuals"),
    "biosamples": EntryType("biosample", "Biological Sample", {"id": "NCIT:C70699", "label": "Biospecimen"}, "The sample genotyped for an individual (one per genotype sample).", "ga4gh-beacon-biosample-v2.0.0", "biosamples"),
    "runs": EntryType("run", "Sequencing run", {"id": "NCIT:C148088", "label": "Sequencing run"}, "The run behind a genotype sample (one per sample).", "ga4gh-beacon-run-v2.0.0", "runs"),
    "analyses": EntryType("analysis", "Bioinformatics analysis", {"id": "edam:operation_2945", "label": "Analysis"}, "The variant calling behind a genotype sample (one per sample).", "ga4gh-beacon-analysis-v2.0.0", "analyses"),
    "datasets": EntryType("dataset", "Dataset", {"id": "NCIT:C47824", "label": "Data set"}, "A dataset held by a node.", "ga4gh-beacon-dataset-v2.0.0", "datasets", "genomicVariant"),
    "cohorts": EntryType("cohort", "Cohort", {"id": "NCIT:C61512", "label": "Cohort"}, "The individuals of one dataset (one study-defined cohort per dataset).", "ga4gh-beacon-cohort-v2.0.0", "cohorts", "individual"),
}  # fmt: skip

# The beaconMap's cross-entity lookups: /{entry}/{id}/{target} for each target listed. The
# node serves exactly these; the hub forwards exactly these (and nothing else, QA issue 12).
CROSS_PATHS: dict[str, tuple[str, ...]] = {
    "g_variants": ("individuals", "biosamples", "runs", "analyses"),
    "individuals": ("g_variants", "biosamples", "runs", "analyses"),
    "biosamples": ("g_variants", "runs", "analyses"),
    "runs": ("g_variants", "analyses"),
    "analyses": ("g_variants",),
    "datasets": ("g_variants", "individuals", "biosamples", "runs", "analyses"),
    "cohorts": ("g_variants", "individuals", "biosamples", "runs", "analyses"),
}

_STRING_PARAMS = (
    "referenceName", "referenceBases", "alternateBases", "variantType", "variantMinLength",
    "variantMaxLength", "assemblyId", "geneId", "aminoacidChange", "genomicAlleleShortForm",
    "skip", "limit", "requestedGranularity", "includeResultsetResponses",
)  # fmt: skip
_LIST_PARAMS = ("start", "end", "filters", "datasetIds")
# The Beacon v2 GET query parameters of the entry-type endpoints, as OpenAPI parameter
# objects (for the documents of node and hub; both read the raw query string).
GET_QUERY_PARAMETERS: list[dict[str, Any]] = [
    {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
    for n in _STRING_PARAMS
] + [
    {
        "name": n,
        "in": "query",
        "required": False,
        "style": "form",
        "explode": True,
        "schema": {"type": "array", "items": {"type": "string"}},
    }
    for n in _LIST_PARAMS
]


def returned_schemas(path: str) -> list[dict[str, str]]:
    """`meta.returnedSchemas` for an answer about entry type `path` (e.g. "g_variants")."""
    entry = ENTRY_TYPES.get(path)
    if entry is None:
        return [{"entityType": "beacon", "schema": "beacon-v2.1.1"}]
    return [{"entityType": entry.id, "schema": entry.schema_id}]


def entry_type_definitions() -> dict[str, Any]:
    """`/entry_types` and `/configuration`'s `entryTypes`: one definition per entry type."""
    out: dict[str, Any] = {}
    for entry in ENTRY_TYPES.values():
        item: dict[str, Any] = {
            "id": entry.id,
            "name": entry.name,
            "ontologyTermForThisType": entry.term,
            "partOfSpecification": SPEC,
            "description": entry.description,
            "defaultSchema": {
                "id": entry.schema_id,
                "name": f"Default schema for {entry.name.lower()}",
                "referenceToSchemaDefinition": f"{SCHEMA_BASE}/{entry.schema_dir}/defaultSchema.json",
                "schemaVersion": "v2.0.0",
            },
            "additionallySupportedSchemas": [],
            "nonFilteredQueriesAllowed": True,
        }
        if entry.collection_of:
            item["aCollectionOf"] = [{"id": entry.collection_of, "name": entry.collection_of}]
        out[entry.id] = item
    return out


__all__ = [
    "API_VERSION",
    "CROSS_PATHS",
    "ENTRY_TYPES",
    "GET_QUERY_PARAMETERS",
    "SCHEMA_BASE",
    "SPEC",
    "EntryType",
    "entry_type_definitions",
    "returned_schemas",
]
