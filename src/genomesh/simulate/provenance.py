"""Provenance: the exact `simulate_cohort` call stored in truth.json, and its replay.

truth.json["call"] holds every argument as JSON (the seed, the resolved population counts, the
resolved consent mix, the full disease and trait specifications), so
`replay_cohort("truth.json", out_dir)` rebuilds byte-identical files with the same software.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genomesh.core.errors import InvalidInputError
from genomesh.simulate.phenotypes import DiseaseSpec, Term
from genomesh.simulate.traits import BinaryTraitSpec, QuantitativeTraitSpec

if TYPE_CHECKING:
    from genomesh.simulate.cohort import CohortFiles, Progress


def call_record(
    *,
    n_individuals: int,
    counts: dict[str, int],
    length: int,
    seed: int,
    chromosome: str,
    assembly: str,
    start: int,
    duo_mix: str,
    country: str | None,
    disease: DiseaseSpec,
    quantitative: QuantitativeTraitSpec,
    binary: BinaryTraitSpec,
    id_prefix: str,
    reference_date: date,
) -> dict[str, Any]:
    """The `simulate_cohort` keyword arguments as JSON-able values."""
    return {
        "n_individuals": n_individuals,
        "populations": dict(counts),
        "length": length,
        "seed": seed,
        "chromosome": chromosome,
        "assembly": assembly,
        "start": start,
        "duo_mix": duo_mix,
        "country": country,
        "disease": asdict(disease),
        "quantitative": {
            **asdict(quantitative),
            "population_shift": dict(quantitative.population_shift),
        },
        "binary": asdict(binary),
        "id_prefix": id_prefix,
        "reference_date": reference_date.isoformat(),
    }


def _disease(doc: dict[str, Any]) -> DiseaseSpec:
    return DiseaseSpec(
        term=Term(**doc["term"]),
        case_features=tuple((Term(**t), float(p)) for t, p in doc["case_features"]),
        onset_age=(int(doc["onset_age"][0]), int(doc["onset_age"][1])),
        age_range=(int(doc["age_range"][0]), int(doc["age_range"][1])),
    )


def call_from_record(record: dict[str, Any]) -> dict[str, Any]:
    """`simulate_cohort` keyword arguments rebuilt from a truth.json `call` record."""
    try:
        return {
            **record,
            "disease": _disease(record["disease"]),
            "quantitative": QuantitativeTraitSpec(**record["quantitative"]),
            "binary": BinaryTraitSpec(**record["binary"]),
            "reference_date": date.fromisoformat(record["reference_date"]),
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"truth.json has no usable 'call' record: {exc}", field="call"
        ) from exc


def replay_cohort(
    truth: str | Path | dict[str, Any],
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> CohortFiles:
    """Simulate again from a truth.json (path or parsed dict): the same files, byte for byte."""
    from genomesh.simulate.cohort import simulate_cohort

    doc = truth if isinstance(truth, dict) else json.loads(Path(truth).read_text(encoding="utf-8"))
    if "call" not in doc:
        raise InvalidInputError("truth.json has no 'call' record", field="call")
    return simulate_cohort(
        out_dir, overwrite=overwrite, progress=progress, **call_from_record(doc["call"])
    )


__all__ = ["call_from_record", "call_record", "replay_cohort"]
