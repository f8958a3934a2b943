"""Write the individuals, phenotype and consent tables of a dataset version (Parquet)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from genomesh.core.consent import DataUseTerm
from genomesh.store.individuals import Individual

_LIST = pa.list_(pa.string())
SCHEMAS = {
    "individuals": pa.schema(
        [
            ("individual_id", pa.string()), ("sample_index", pa.int32()),
            ("sex_id", pa.string()), ("sex_label", pa.string()),
            ("ethnicity_id", pa.string()), ("ethnicity_label", pa.string()),
            ("origin_id", pa.string()), ("origin_label", pa.string()),
            ("document", pa.string()),
        ]
    ),
    "features": pa.schema(
        [("individual_id", pa.string()), ("term_id", pa.string()), ("label", pa.string()),
         ("excluded", pa.bool_())]
    ),
    "diseases": pa.schema(
        [("individual_id", pa.string()), ("term_id", pa.string()), ("label", pa.string())]
    ),
    "measures": pa.schema(
        [("individual_id", pa.string()), ("assay_id", pa.string()), ("assay_label", pa.string()),
         ("value", pa.float64()), ("unit_id", pa.string()), ("unit_label", pa.string())]
    ),
    "interventions": pa.schema(
        [("individual_id", pa.string()), ("term_id", pa.string()), ("label", pa.string())]
    ),
    "consent": pa.schema(
        [("individual_id", pa.string()), ("duo_id", pa.string()), ("diseases", _LIST),
         ("countries", _LIST), ("expires", pa.date32()), ("moratorium_until", pa.date32()),
         ("institutions", _LIST), ("projects", _LIST), ("users", _LIST), ("topics", _LIST),
         ("inherited", pa.bool_())]
    ),
}  # fmt: skip


# What json.dumps(doc, separators=(",", ":")) builds on every call, built once (the same text;
# a new encoder per individual was most of the table's cost on 2,504 bare individuals).
_COMPACT = json.JSONEncoder(separators=(",", ":"))


def _write(rows: list[dict], name: str, folder: Path) -> None:
    schema = SCHEMAS[name]
    table = pa.Table.from_pylist(rows, schema=schema)
    pq.write_table(table, str(folder / f"{name}.parquet"), compression="zstd")


def write_people(people: list[Individual], sample_index: dict[str, int], folder: Path) -> None:
    """individuals / features / diseases / measures / interventions tables."""
    individuals, features, diseases, measures, interventions = [], [], [], [], []
    for p in people:
        eth = p.ethnicity or (None, None)
        origin = p.origin or (None, None)
        individuals.append(
            {
                "individual_id": p.id, "sample_index": sample_index.get(p.id),
                "sex_id": p.sex[0], "sex_label": p.sex[1],
                "ethnicity_id": eth[0], "ethnicity_label": eth[1],
                "origin_id": origin[0], "origin_label": origin[1],
                "document": _COMPACT.encode(p.beacon_document()),
            }
        )  # fmt: skip
        features += [
            {"individual_id": p.id, "term_id": t, "label": lab, "excluded": ex}
            for t, lab, ex in p.features
        ]
        diseases += [{"individual_id": p.id, "term_id": t, "label": lab} for t, lab in p.diseases]
        measures += [
            {"individual_id": p.id, "assay_id": a, "assay_label": al, "value": v,
             "unit_id": u, "unit_label": ul}
            for a, al, v, u, ul in p.measures
        ]  # fmt: skip
        interventions += [
            {"individual_id": p.id, "term_id": t, "label": lab} for t, lab in p.interventions
        ]
    _write(individuals, "individuals", folder)
    _write(features, "features", folder)
    _write(diseases, "diseases", folder)
    _write(measures, "measures", folder)
    _write(interventions, "interventions", folder)


def write_consent(
    people: list[str],
    personal: dict[str, list[DataUseTerm]],
    dataset_terms: list[DataUseTerm],
    folder: Path,
) -> int:
    """One row per (individual, term); people without own terms inherit the dataset's."""
    rows = []
    for pid in people:
        own = personal.get(pid)
        terms, inherited = (own, False) if own else (dataset_terms, True)
        for t in terms:
            row = t.model_dump()
            row["duo_id"] = row.pop("id")
            rows.append({"individual_id": pid, **row, "inherited": inherited})
    _write(rows, "consent", folder)
    return len(rows)


__all__ = ["SCHEMAS", "write_consent", "write_people"]
