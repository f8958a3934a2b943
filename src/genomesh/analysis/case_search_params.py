"""The parameters of `case-search`: a case definition, the population, a rarity threshold, a scan.

    {"case": {"phenotypes": ["HP:0001250"], "descendants": true} | {"disease": "OMIM:619851"},
     "population": ["gb-node/gb-cohort"],            # datasets of the task used as population
     "max_af": 0.001,                                 # rarity threshold in the population
     "filter": "split",                               # how qualifying variants are chosen
     "assembly": "GRCh38",                            # of the data, for gene coordinates
     and one scan:
     "regions": ["12:6000000-6001000", ...]           # named regions (CHROM:START-END), or
     "genes": ["RNU4-2", "ENSG00000012048", "672"]    # genes: symbol, Ensembl or NCBI id, or
     "window": 100000                                 # the whole genome in fixed windows, or
     "windows": "genes+fixed" ("genes")               # every gene of the table (+ windows)
     (optionally "region": "12:1-10000000" to scan inside one region only)}

Genes come from the packaged gene table (`genomesh.ontology.genes`: GENCODE, every biotype,
GRCh38 and GRCh37). A gene list is resolved here, at the hub, into regions labelled with the
gene; a whole-genome gene scan names the table's version and every node resolves the genes
from its own copy (a node whose table differs refuses). Regions are 1-based and inclusive;
window `i` of a chromosome is `i*window+1 .. (i+1)*window`, so every node names the same
windows without knowing the genome.

`filter` (see `genomesh.analysis.case_search`): `split` (default) - a variant qualifies when
its frequency in a reference half of the population is at most `max_af`, and the other half
is tested; `pooled` - by its frequency over the cases and the whole population together;
`population` - by its frequency in the population that is also tested (a biased,
anti-conservative test, kept for comparison). The first two leave the test exact under the
null.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from genomesh.core.errors import InvalidInputError
from genomesh.core.genome import require_chromosome

MAX_REGIONS = 10_000
MAX_GENES = 2_000
MIN_WINDOW = 1_000
DEFAULT_WINDOW = 100_000
FILTERS = ("split", "pooled", "population")
WINDOWS = ("fixed", "genes", "genes+fixed")
_REGION = re.compile(r"^([^:]+):(\d+)-(\d+)$")
_HPO = re.compile(r"^HP:\d{7}$")
_DISEASE = re.compile(r"^(OMIM|ORPHA|MONDO|MIM):\S+$")
KEYS = {
    "case",
    "population",
    "max_af",
    "regions",
    "window",
    "region",
    "genes",
    "windows",
    "assembly",
    "filter",
}
SCANS = ("regions", "genes", "window", "windows")


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
    out["filter"] = _choice(params.get("filter", "split"), FILTERS, "filter")
    from genomesh.ontology.genes import require_assembly

    out["assembly"] = require_assembly(params.get("assembly", "GRCh38"))
    out.update(_scan(params, out["assembly"]))
    return out


def _choice(value: Any, allowed: Sequence[str], field: str) -> str:
    if value not in allowed:
        raise InvalidInputError(f"{field} must be one of {', '.join(allowed)}", field=field)
    return str(value)


def _scan(params: Mapping[str, Any], assembly: str) -> dict[str, Any]:
    """The scan: exactly one of regions, genes, window or windows (window may size windows)."""
    given = [k for k in SCANS if k in params and not (k == "window" and "windows" in params)]
    if len(given) != 1:
        raise InvalidInputError(
            "give one scan: regions (CHROM:START-END list), genes (symbols or ids), window "
            "(bp, the whole genome in windows) or windows (genes, genes+fixed)",
            field="regions",
        )
    out: dict[str, Any] = {}
    if given[0] in ("regions", "genes"):
        if "region" in params:
            raise InvalidInputError(
                "region limits a window or gene scan; not with regions or genes", field="region"
            )
        if given[0] == "genes":
            return _genes(params["genes"], assembly)
        regions = params["regions"]
        if not isinstance(regions, list) or not regions or len(regions) > MAX_REGIONS:
            raise InvalidInputError(
                f"regions must be a list of 1 to {MAX_REGIONS} CHROM:START-END", field="regions"
            )
        out["regions"] = sorted(
            {"{}:{}-{}".format(*parse_region(r)) for r in regions}, key=_region_order
        )
        return out
    kind = "fixed" if given[0] == "window" else _choice(params["windows"], WINDOWS, "windows")
    if kind != "genes":
        window = params.get("window", DEFAULT_WINDOW)
        if isinstance(window, bool) or not isinstance(window, int) or window < MIN_WINDOW:
            raise InvalidInputError(
                f"window must be a whole number of bp >= {MIN_WINDOW}", field="window"
            )
        out["window"] = window
    if kind != "fixed":
        from genomesh.ontology.genes import VERSION

        out["windows"] = kind
        out["gene_table"] = VERSION
    if "region" in params:
        out["region"] = "{}:{}-{}".format(*parse_region(params["region"], field="region"))
    return out


def _genes(genes: Any, assembly: str) -> dict[str, Any]:
    """A gene list resolved to its loci: regions plus their gene labels."""
    from genomesh.ontology.genes import VERSION, resolve_genes

    if not isinstance(genes, list) or not genes or len(genes) > MAX_GENES:
        raise InvalidInputError(
            f"genes must be a list of 1 to {MAX_GENES} gene symbols or ids", field="genes"
        )
    labels: dict[str, list[str]] = {}
    for row in resolve_genes([str(g) for g in genes], assembly, field="genes"):
        name = f"{require_chromosome(row['chrom'], field='genes')}:{row['start']}-{row['end']}"
        if row["symbol"] not in labels.setdefault(name, []):
            labels[name].append(row["symbol"])
    return {
        "regions": sorted(labels, key=_region_order),
        "labels": {k: "/".join(v) for k, v in sorted(labels.items())},
        "genes": sorted({str(g) for g in genes}),
        "gene_table": VERSION,
    }


def _region_order(text: str) -> tuple[str, int, int]:
    chrom, start, end = parse_region(text)
    return (chrom.zfill(2), start, end)


def population_at(params: Mapping[str, Any], node: str) -> list[str]:
    """The population dataset ids held by `node`."""
    return [p.rpartition("/")[2] for p in params["population"] if p.rpartition("/")[0] == node]


__all__ = ["FILTERS", "MAX_REGIONS", "WINDOWS", "parse_params", "parse_region", "population_at"]
