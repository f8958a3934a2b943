"""The parameters of `case-search`: a case definition, the population, a rarity threshold, a scan.

    {"case": {"phenotypes": ["HP:0001250"], "descendants": true} | {"disease": "OMIM:619851"},
     "population": ["gb-node/gb-cohort"],            # datasets of the task used as population
     "max_af": 0.001,                                 # rarity threshold in the population
     "regions": ["12:6000000-6001000", ...]           # named regions (CHROM:START-END), or
     "window": 100000                                 # the whole genome in fixed windows
     (optionally "region": "12:1-10000000" to scan windows inside one region only)}

Gene lists are not taken: no gene-coordinate table ships in a package usable offline, so a
gene is given as its region. Regions are 1-based and inclusive; window `i` of a chromosome
is `i*window+1 .. (i+1)*window`, so every node names the same windows without knowing the
genome.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from genomesh.core.errors import InvalidInputError
from genomesh.core.genome import require_chromosome

MAX_REGIONS = 10_000
MIN_WINDOW = 1_000
_REGION = re.compile(r"^([^:]+):(\d+)-(\d+)$")
_HPO = re.compile(r"^HP:\d{7}$")
_DISEASE = re.compile(r"^(OMIM|ORPHA|MONDO|MIM):\S+$")
KEYS = {"case", "population", "max_af", "regions", "window", "region"}


def parse_region(text: Any, *, field: str = "regions") -> tuple[str, int, int]:
    """(chrom, start, end) of `CHROM:START-END` (1-based, inclusive)."""
    found = _REGION.match(str(text).replace(",", "").strip())
    if not found:
        raise InvalidInputError(f"region {text!r} is not CHROM:START-END", field=field)
    chrom = require_chromosome(found.group(1), field=field)
    start, end = int(found.group(2)), int(found.group(3))
    if start < 1 or end < start:
        raise InvalidInputError(f"region {text!r}: start must be >= 1 and <= end", field=field)
    return chrom, start, end


def _case(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or ("phenotypes" in value) == ("disease" in value):
        raise InvalidInputError(
            'case must be {"phenotypes": ["HP:..."], "descendants": true} or '
            '{"disease": "OMIM:..."}',
            field="case",
        )
    if "disease" in value:
        disease = str(value["disease"]).strip()
        if not _DISEASE.match(disease):
            raise InvalidInputError(
                f"case disease {disease!r} is not an OMIM:, ORPHA: or MONDO: id",
                field="case.disease",
            )
        return {"disease": disease}
    terms = value["phenotypes"]
    if not isinstance(terms, list) or not terms or len(terms) > 100:
        raise InvalidInputError(
            "case phenotypes must be a list of 1 to 100 HPO ids", field="case.phenotypes"
        )
    for term in terms:
        if not isinstance(term, str) or not _HPO.match(term):
            raise InvalidInputError(
                f"{term!r} is not an HPO term id (HP:NNNNNNN)", field="case.phenotypes"
            )
    descendants = value.get("descendants", True)
    if not isinstance(descendants, bool):
        raise InvalidInputError("case descendants must be true or false", field="case.descendants")
    return {"phenotypes": sorted(set(terms)), "descendants": descendants}


def parse_params(params: Mapping[str, Any], nodes: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """Validated, normalised params (InvalidInputError naming the field otherwise)."""
    unknown = set(params) - KEYS
    if unknown:
        raise InvalidInputError(
            f"unknown parameter(s) {sorted(unknown)} (case-search takes {', '.join(sorted(KEYS))})",
            field=sorted(unknown)[0],
        )
    out: dict[str, Any] = {"case": _case(params.get("case"))}
    population = params.get("population")
    if not isinstance(population, list) or not population:
        raise InvalidInputError(
            "population must list the task's population or control datasets as NODE/DATASET",
            field="population",
        )
    held = {f"{n}/{d}" for n, ds in nodes.items() for d in ds}
    for item in population:
        if item not in held:
            raise InvalidInputError(
                f"population dataset {item!r} is not one of the task's datasets "
                f"({', '.join(sorted(held))})",
                field="population",
            )
    if not held - set(population):
        raise InvalidInputError(
            "every dataset is a population dataset: name case datasets too", field="population"
        )
    out["population"] = sorted(set(population))
    max_af = params.get("max_af", 0.001)
    if isinstance(max_af, bool) or not isinstance(max_af, int | float) or not 0 <= max_af < 0.5:
        raise InvalidInputError("max_af must be a number in [0, 0.5)", field="max_af")
    out["max_af"] = float(max_af)
    if ("regions" in params) == ("window" in params):
        raise InvalidInputError(
            "give regions (CHROM:START-END list) or window (bp, the whole genome in windows)",
            field="regions",
        )
    if "regions" in params:
        regions = params["regions"]
        if not isinstance(regions, list) or not regions or len(regions) > MAX_REGIONS:
            raise InvalidInputError(
                f"regions must be a list of 1 to {MAX_REGIONS} CHROM:START-END", field="regions"
            )
        out["regions"] = sorted(
            {"{}:{}-{}".format(*parse_region(r)) for r in regions}, key=_region_order
        )
        if "region" in params:
            raise InvalidInputError("region limits a window scan; not with regions", field="region")
    else:
        window = params["window"]
        if isinstance(window, bool) or not isinstance(window, int) or window < MIN_WINDOW:
            raise InvalidInputError(
                f"window must be a whole number of bp >= {MIN_WINDOW}", field="window"
            )
        out["window"] = window
        if "region" in params:
            out["region"] = "{}:{}-{}".format(*parse_region(params["region"], field="region"))
    return out


def _region_order(text: str) -> tuple[str, int, int]:
    chrom, start, end = parse_region(text)
    return (chrom.zfill(2), start, end)


def population_at(params: Mapping[str, Any], node: str) -> list[str]:
    """The population dataset ids held by `node`."""
    return [p.rpartition("/")[2] for p in params["population"] if p.rpartition("/")[0] == node]


__all__ = ["MAX_REGIONS", "parse_params", "parse_region", "population_at"]
