"""`cohort-summary`: who is in the datasets, as counts (BBMRI-style availability).

One round. Each node counts, per dataset, its allowed individuals in all (`n`), by sex, by
population, by age band and by phenotype term (observed HPO features and diseases), then
suppresses counts below its disclosure threshold: the hub never sees them, and a partition
(sex, population, age band) with one small cell loses its next smallest cell too
(`genomesh.analysis.suppression`). The hub adds the shown counts over datasets into network
totals; a total missing a suppressed cell says so (`complete: false`, `suppressed_in`).

    params: {"age_bands": [18, 40, 65]}   # band edges in years (default below)
            {"phenotypes": ["HP:0001513"]} # only these terms (default: every term present)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from genomesh.analysis.protocol import Analysis, LocalData, LocalReply, RoundRequest, register
from genomesh.analysis.suppression import PRIMARY, suppress_partition
from genomesh.core.errors import InvalidInputError

DEFAULT_AGE_BANDS = (18, 30, 40, 50, 60, 70, 80)
PARTITIONS = ("sex", "population", "age_band")
MAX_TERMS = 200


def age_band(age: float, edges: Sequence[int]) -> str:
    """The band of `age` for band edges (e.g. 18, 30 -> "<18", "18-29", "30+"); "unknown"."""
    if age is None or (isinstance(age, float) and math.isnan(age)):
        return "unknown"
    if age < edges[0]:
        return f"<{edges[0]}"
    for lo, hi in itertools.pairwise(edges):
        if lo <= age < hi:
            return f"{lo}-{hi - 1}"
    return f"{edges[-1]}+"


def _check_params(params: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(params) - {"age_bands", "phenotypes"}
    if unknown:
        raise InvalidInputError(
            f"unknown parameter(s) {sorted(unknown)} (cohort-summary takes age_bands, phenotypes)",
            field=sorted(unknown)[0],
        )
    edges = params.get("age_bands", list(DEFAULT_AGE_BANDS))
    if (
        not isinstance(edges, list)
        or not edges
        or not all(isinstance(e, int) and not isinstance(e, bool) and 0 < e < 150 for e in edges)
        or sorted(set(edges)) != edges
    ):
        raise InvalidInputError(
            "age_bands must be increasing whole years between 1 and 149, e.g. [18, 40, 65]",
            field="age_bands",
        )
    terms = params.get("phenotypes")
    if terms is not None and (
        not isinstance(terms, list)
        or not all(isinstance(t, str) and ":" in t for t in terms)
        or len(terms) > MAX_TERMS
    ):
        raise InvalidInputError(
            f"phenotypes must be a list of at most {MAX_TERMS} term ids such as HP:0001513",
            field="phenotypes",
        )
    return {"age_bands": edges, **({"phenotypes": terms} if terms is not None else {})}


def count_dataset(
    people: pd.DataFrame, *, edges: Sequence[int], terms: Sequence[str] | None, min_count: int
) -> tuple[dict[str, Any], dict[str, str]]:
    """One dataset's counts after suppression, and what was withheld (`category.value` ->
    why). The naive pooled computation is the same with `min_count=1`."""
    n = len(people)
    counts: dict[str, Any] = {}
    withheld: dict[str, str] = {}
    if 0 < n < min_count:
        return {"n": None}, {"n": PRIMARY.format(min_count=min_count)}
    counts["n"] = n
    groups = {
        "sex": people["sex"].value_counts(),
        "population": people["population"].fillna("unknown").value_counts(),
        "age_band": people["age"].map(lambda a: age_band(a, edges)).value_counts(),
    }
    for name, series in groups.items():
        shown, why = suppress_partition(
            {str(k): int(v) for k, v in series.items()}, min_count=min_count
        )
        counts[name] = dict(sorted(shown.items()))
        withheld.update({f"{name}.{k}": v for k, v in why.items()})
    exploded = people["phenotypes"].explode().dropna()
    per_term = exploded.groupby(exploded).size()
    if terms is not None:
        per_term = per_term.reindex(terms, fill_value=0)
    shown_terms: dict[str, int | None] = {}
    for term, value in sorted(per_term.items()):
        if 0 < int(value) < min_count:
            shown_terms[str(term)] = None
            withheld[f"phenotype.{term}"] = PRIMARY.format(min_count=min_count)
        else:
            shown_terms[str(term)] = int(value)
    counts["phenotype"] = shown_terms
    return counts, withheld


class CohortSummary(Analysis):
    """Counts by sex, population, age band and phenotype term, per dataset and network."""

    name = "cohort-summary"
    description = "counts by sex, population, age band and phenotype term (small counts suppressed)"

    def configure(self, params: Mapping[str, Any], nodes: Mapping[str, Sequence[str]]) -> dict:
        return {"params": _check_params(params), "nodes": {k: list(v) for k, v in nodes.items()}}

    def next_round(self, state: dict) -> dict[str, dict[str, Any]] | None:
        if "replies" in state:
            return None
        return {node: dict(state["params"]) for node in state["nodes"]}

    def aggregate(self, state: dict, replies: Mapping[str, LocalReply]) -> dict:
        state["replies"] = {
            node: {"datasets": r.values.get("datasets", {}), "suppressed": r.suppressed}
            for node, r in replies.items()
        }
        return state

    def local(self, data: LocalData, request: RoundRequest) -> LocalReply:
        params = _check_params(request.params)
        reply = LocalReply()
        datasets: dict[str, Any] = {}
        for dataset_id in data.dataset_ids:
            people = data.individuals(dataset_id, genotyped=False)  # type: ignore[call-arg]
            counts, withheld = count_dataset(
                people,
                edges=params["age_bands"],
                terms=params.get("phenotypes"),
                min_count=data.min_count(dataset_id),
            )
            datasets[dataset_id] = counts
            reply.suppressed.update({f"{dataset_id}.{k}": v for k, v in withheld.items()})
            reply.contributors.update(people["individual_id"])
        reply.values["datasets"] = datasets
        return reply

    def result(self, state: dict) -> dict[str, Any]:
        rows: list[dict[str, Any]] = []
        totals: dict[tuple[str, str], dict[str, Any]] = {}
        suppressed: dict[str, str] = {}
        for node, reply in sorted(state.get("replies", {}).items()):
            suppressed.update({f"{node}/{k}": v for k, v in reply["suppressed"].items()})
            for dataset_id, counts in sorted(reply["datasets"].items()):
                cells = [("total", "all", counts.get("n"))]
                for category in (*PARTITIONS, "phenotype"):
                    cells += [(category, k, v) for k, v in (counts.get(category) or {}).items()]
                for category, value, count in cells:
                    rows.append(
                        {
                            "scope": f"{node}/{dataset_id}",
                            "category": category,
                            "value": value,
                            "count": count,
                            "suppressed": count is None,
                        }
                    )
                    total = totals.setdefault((category, value), {"count": 0, "suppressed_in": []})
                    if count is None:
                        total["suppressed_in"].append(f"{node}/{dataset_id}")
                    else:
                        total["count"] += count
        network = []
        for (category, value), total in sorted(totals.items()):
            network.append(
                {
                    "scope": "network",
                    "category": category,
                    "value": value,
                    "count": total["count"],
                    "complete": not total["suppressed_in"],
                    "suppressed_in": ";".join(total["suppressed_in"]),
                }
            )
        notes = []
        if suppressed:
            notes.append(
                f"{len(suppressed)} count(s) were suppressed by the nodes (below their disclosure "
                "thresholds, or withheld so that one could not be recovered from a total); network "
                "totals marked complete=false leave them out"
            )
        return {
            "analysis": self.name,
            "params": state["params"],
            "rows": network + rows,
            "suppressed": suppressed,
            "notes": notes,
        }


register(CohortSummary())

__all__ = ["DEFAULT_AGE_BANDS", "CohortSummary", "age_band", "count_dataset"]
