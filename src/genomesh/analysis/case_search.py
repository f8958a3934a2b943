"""`case-search`: a one-sided search for regions where cases carry rare variants and a
population cohort carries almost none (the kind of search that found RNU4-2).

Two rounds (`genomesh.analysis.case_search_local` says what the nodes compute and how they
suppress small counts): first the scan's common variants are found - by default from their
frequency in a reference half of each population dataset (`filter: split`), or over the
cases and the population together (`pooled`), or in the whole population (`population`);
then every node counts, per region, the carriers of the remaining (qualifying) variants
among its cases or its (tested half of the) population. The hub sums per region and ranks regions by
a **one-sided Fisher exact test** (scipy, `alternative="greater"`) on

                    carriers        non-carriers
    cases           k               n - k
    population      c               N - c

so zero carriers in a large population is itself evidence.

Why not simply the population's frequency: a filter on the same population sample that is
then tested keeps the variants whose population count came out low by chance and drops those
that came out high, which inflates the test under the null (`filter: population`, kept for
comparison; docs/bench/case-search.md shows its QQ plot). Under the null the cases and the
population are exchangeable; the test stays exact when the filter does not change as case
and tested-population labels are permuted: `split` filters on a held-out reference half of
the population (it tests half the population; like filtering on gnomAD and testing another
cohort), `pooled` on the pooled count (the whole population is tested, but a variant
recurrent in more than `max_af * 2 * (cases + population)` alleles - mostly cases, like
RNU4-2's recurrent insertion in a small search - is dropped as common). The result lists, per region, the
counts, the odds ratio (null when it is infinite or undefined: no non-carrying case, or no
carrier in the population), the p-value, whether it passes Bonferroni over the regions tested, and
which node/datasets contributed case carriers; `notes` say what the nodes suppressed.

    params: see `genomesh.analysis.case_search_params`
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from genomesh.analysis.case_search_params import parse_params, parse_region, population_at
from genomesh.analysis.protocol import Analysis, LocalData, LocalReply, RoundRequest, register
from genomesh.core.errors import InvalidInputError
from genomesh.ontology.hpo import HPO_ACKNOWLEDGEMENT

ALPHA = 0.05
QUALIFYING = {
    "split": "Qualifying variants: in the scan and not common (AF > max_af) in the reference "
    "half of a population dataset; the population counted is the other half",
    "pooled": "Qualifying variants: in the scan and not common (pooled AF over cases and "
    "population > max_af; allele counts below a node's threshold left out)",
    "population": "Qualifying variants: in the scan and not common (AF > max_af) in a "
    "population dataset that is also tested (biased towards small p-values under the null)",
}
TEST = "one-sided Fisher exact test (scipy.stats.fisher_exact, alternative='greater')"


def fisher_greater(k: int, n: int, c: int, big_n: int) -> tuple[float, float]:
    """(odds ratio, one-sided p) of excess carriers in cases over the population."""
    from scipy.stats import fisher_exact

    table = [[k, max(n - k, 0)], [c, max(big_n - c, 0)]]
    odds, p = fisher_exact(table, alternative="greater")
    return float(odds), float(p)


class CaseSearch(Analysis):
    """Regions ranked by excess of rare-variant carriers in cases over a population cohort."""

    name = "case-search"
    description = "one-sided search for regions with rare variants in cases, absent in a population"

    # ---------------------------------------------------------------- hub side
    def configure(self, params: Mapping[str, Any], nodes: Mapping[str, Sequence[str]]) -> dict:
        return {
            "params": parse_params(params, nodes),
            "nodes": {k: list(v) for k, v in nodes.items()},
        }

    def expected_rounds(self, state: dict) -> int:
        return 2

    def _node_params(self, state: dict, node: str, step: str) -> dict[str, Any]:
        return {**state["params"], "step": step, "population": population_at(state["params"], node)}

    def next_round(self, state: dict) -> dict[str, dict[str, Any]] | None:
        params = state["params"]
        if "exclude" not in state:
            if params.get("filter", "population") == "pooled":
                return {
                    node: self._node_params(state, node, "frequency") for node in state["nodes"]
                }
            return {
                node: self._node_params(state, node, "population")
                for node in state["nodes"]
                if population_at(params, node)
            }
        if "counts" not in state:
            out = {}
            for node in state["nodes"]:
                ask = self._node_params(state, node, "count")
                ask["exclude"] = state["exclude"]
                out[node] = ask
            return out
        return None

    def aggregate(self, state: dict, replies: Mapping[str, LocalReply]) -> dict:
        if "exclude" not in state:
            state["exclude"] = sorted(self._common(state, replies))
            state["suppressed"] = {}
            return state
        regions: dict[str, dict[str, Any]] = {}
        totals = {"cases": 0, "population": 0}
        for node, reply in sorted(replies.items()):
            for dataset_id, meta in sorted((reply.values.get("datasets") or {}).items()):
                scope = f"{node}/{dataset_id}"
                role = meta.get("role")
                if role not in ("case", "population"):
                    raise InvalidInputError(f"node {node}: bad role for {dataset_id}", field="role")
                key = "cases" if role == "case" else "population"
                totals[key] += int(meta.get("n") or 0)
                carriers = reply.arrays.get(f"{dataset_id}.carriers")
                names = meta.get("regions") or []
                if names and (carriers is None or len(carriers) != len(names)):
                    raise InvalidInputError(
                        f"node {node}: carriers of {dataset_id} do not match its regions",
                        field="arrays",
                    )
                for r, name in enumerate(names):
                    row = regions.setdefault(
                        name,
                        {"case_carriers": 0, "pop_carriers": 0, "pop_AC": 0, "pop_AN": 0,
                         "contributors": []},
                    )  # fmt: skip
                    value = int(carriers[r])  # type: ignore[index]
                    if role == "case":
                        row["case_carriers"] += value
                        if value:
                            row["contributors"].append(scope)
                    else:
                        row["pop_carriers"] += value
                        row["pop_AC"] += int(reply.arrays[f"{dataset_id}.AC"][r])
                        row["pop_AN"] += int(reply.arrays[f"{dataset_id}.AN"][r])
            if reply.values.get("hpo_version"):
                state.setdefault("hpo_versions", [])
                if reply.values["hpo_version"] not in state["hpo_versions"]:
                    state["hpo_versions"].append(str(reply.values["hpo_version"]))
            for what, why in reply.suppressed.items():
                state["suppressed"][f"{node}/{what}"] = why
        state["counts"] = regions
        state["totals"] = totals
        return state

    @staticmethod
    def _common(state: dict, replies: Mapping[str, LocalReply]) -> set[str]:
        """Round 1: the common variants (named by population datasets, or pooled)."""
        common: set[str] = set()
        if state["params"].get("filter", "population") != "pooled":
            for reply in replies.values():
                common.update(str(k) for k in reply.values.get("common") or [])
            return common
        pooled: dict[str, int] = {}
        people = 0
        for node, reply in sorted(replies.items()):
            for dataset_id, meta in sorted((reply.values.get("datasets") or {}).items()):
                keys = [str(k) for k in meta.get("variants") or []]
                ac = reply.arrays.get(f"{dataset_id}.AC")
                if keys and (ac is None or len(ac) != len(keys)):
                    raise InvalidInputError(
                        f"node {node}: allele counts of {dataset_id} do not match its variants",
                        field="arrays",
                    )
                people += int(meta.get("n") or 0)
                for key, count in zip(keys, ac if keys else [], strict=True):  # type: ignore[arg-type]
                    pooled[key] = pooled.get(key, 0) + int(count)
        limit = state["params"]["max_af"] * 2 * people
        state["pooled_people"] = people
        return {key for key, count in pooled.items() if count > limit}

    def result(self, state: dict) -> dict[str, Any]:
        totals = state.get("totals", {"cases": 0, "population": 0})
        n, big_n = totals["cases"], totals["population"]
        rows = []
        labels = self._labels(state)
        for name, row in state.get("counts", {}).items():
            chrom, start, end = parse_region(name)
            k = min(row["case_carriers"], n)
            c = min(row["pop_carriers"], big_n)
            odds, p = fisher_greater(k, n, c, big_n) if n and big_n else (float("nan"), 1.0)
            rows.append(
                {
                    "region": name, "gene": labels.get(name), "chrom": chrom, "start": start,
                    "end": end,
                    "case_carriers": k, "cases": n, "pop_carriers": c, "population": big_n,
                    "pop_AC": row["pop_AC"], "pop_AN": row["pop_AN"],
                    "odds_ratio": odds if np.isfinite(odds) else None, "p": p,
                    "contributors": ";".join(row["contributors"]),
                }
            )  # fmt: skip
        rows.sort(key=lambda r: (r["p"], -r["case_carriers"], r["chrom"].zfill(2), r["start"]))
        tested = max(len(rows), 1)
        for rank, row in enumerate(rows, 1):
            row["rank"] = rank
            row["significant"] = row["p"] < ALPHA / tested
        how = state["params"].get("filter", "population")
        notes = [
            f"{TEST}; Bonferroni over {len(rows)} region(s) (alpha {ALPHA}).",
            QUALIFYING[how] + f"; {len(state.get('exclude', []))} common variant(s) excluded.",
            "Case carrier counts below a node's threshold count as 0, population counts below "
            "it as threshold - 1: both make the test conservative.",
        ]
        versions = ", ".join(sorted(state.get("hpo_versions", [])))
        if versions:  # the case definition's descendants came from this HPO release
            notes.append(HPO_ACKNOWLEDGEMENT.format(version=versions))
        if state["params"].get("gene_table"):
            from genomesh.ontology.genes import ATTRIBUTION

            notes.append(ATTRIBUTION)
        return {
            "analysis": self.name,
            "params": state["params"],
            "hpo_version": versions or None,
            "test": TEST,
            "cases": n,
            "population": big_n,
            "rows": rows,
            "suppressed": state.get("suppressed", {}),
            "notes": notes,
        }

    @staticmethod
    def _labels(state: dict) -> dict[str, str]:
        """Region name -> gene symbol(s), for gene lists and whole-genome gene scans."""
        params = state["params"]
        if params.get("labels"):
            return dict(params["labels"])
        if params.get("windows") not in ("genes", "genes+fixed"):
            return {}
        from genomesh.core.genome import normalize_chromosome
        from genomesh.ontology.genes import gene_table

        table = gene_table(params.get("assembly", "GRCh38"))
        wanted = set(state.get("counts", {}))
        out: dict[str, list[str]] = {}
        for symbol, c, start, end in zip(
            table["symbol"], table["chrom"], table["start"], table["end"], strict=True
        ):
            name = f"{normalize_chromosome(c)}:{start}-{end}"
            if name in wanted:
                out.setdefault(name, []).append(symbol)
        return {k: "/".join(v) for k, v in out.items()}

    # ---------------------------------------------------------------- node side
    def local(self, data: LocalData, request: RoundRequest) -> LocalReply:
        from genomesh.analysis.case_search_local import common_variants, count_round

        params = dict(request.params)
        population = set(params.get("population") or [])
        reply = LocalReply()
        if params.get("step") == "frequency":
            from genomesh.analysis.case_search_local import pooled_counts

            datasets: dict[str, Any] = {}
            for dataset_id in data.dataset_ids:
                values, arrays, read = pooled_counts(
                    data, dataset_id, params, population=dataset_id in population
                )
                datasets[dataset_id] = values
                for name, array in arrays.items():
                    reply.arrays[f"{dataset_id}.{name}"] = array
                reply.contributors |= read
            reply.values["datasets"] = datasets
            return reply
        if params.get("step") == "population":
            common: set[str] = set()
            for dataset_id in data.dataset_ids:
                if dataset_id in population:
                    keys, read = common_variants(data, dataset_id, params)
                    common.update(keys)
                    reply.contributors |= read
            reply.values["common"] = sorted(common)
            return reply
        if params.get("step") != "count":
            raise InvalidInputError(
                "case-search step must be frequency, population or count", field="step"
            )
        out: dict[str, Any] = {}
        for dataset_id in data.dataset_ids:
            values, arrays, who, why = count_round(
                data, dataset_id, params, population=dataset_id in population
            )
            out[dataset_id] = values
            for name, array in arrays.items():
                reply.arrays[f"{dataset_id}.{name}"] = array
            reply.contributors |= who
            if why:
                reply.suppressed[dataset_id] = why
        reply.values["datasets"] = out
        if "phenotypes" in params.get("case", {}):
            from genomesh.ontology.hpo import get_hpo

            reply.values["hpo_version"] = get_hpo().version
        return reply


register(CaseSearch())

__all__ = ["TEST", "CaseSearch", "fisher_greater"]
