"""`genomesh analysis drill TASK_ID REGION`: the variants behind one region of a case search.

Two requests, each through every node's gate with the caller's passport:

* the case carriers: a Beacon network query (`POST /g_variants`, a range query for the
  region, record granularity asked) to the search's case datasets (not its population), with
  the case definition as Beacon filters (an HPO term with its descendants, or the disease
  id; one query per term, as Beacon ANDs filters and the case definition is any of its
  terms). Each node's gate decides per dataset what the caller gets: a dataset without a
  record-level grant answers a count, a boolean or a refusal - what the Beacon tells anyone
  with that passport, nothing more. Carriers listed are cases only.
* the population counts: an `allele-frequency` analysis of the region over the search's
  population datasets (per variant AC / AN / AF, the nodes' small-count suppression applied).

The rarity threshold is applied with those counts: a variant whose population AF is above
the search's `max_af` is dropped; one the population does not carry (AF 0, or no row) is
kept, and so is one whose population AC a node withheld (small-count suppression), with a
note that its rarity is unknown. The search itself may have used a different rule (`split`
filters on a reference half of the population); the drill uses the whole population's AF.

    genomesh analysis drill 3f2c... 1                     # the top-ranked region
    genomesh analysis drill 3f2c... 12:120290001-120300000
    genomesh analysis drill 3f2c... RNU4-2                # a gene, in a gene scan
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer
from rich.markup import escape

from genomesh.cli.analysis_commands import analysis_app
from genomesh.cli.query_commands import (
    HubOption,
    JsonOption,
    PassportOption,
    console,
    hub_request,
    hub_url,
    passport_header,
)
from genomesh.core.errors import GenomeshError, InvalidInputError

HOMOZYGOUS = "GENO:GENO_0000136"  # genomesh.beacon.records.ZYGOSITY[2]


def pick_region(result: dict[str, Any], region: str) -> dict[str, Any]:
    """The result row named by its region (`12:120290001-120300000`), its rank (`1`) or, in
    a gene scan, its gene (`RNU4-2`)."""
    if result.get("analysis") != "case-search" or not isinstance(result.get("rows"), list):
        raise InvalidInputError("that analysis is not a case search", field="task_id")
    rows = result["rows"]
    if region.isdigit():
        rank = int(region)
        if not 1 <= rank <= len(rows):
            raise InvalidInputError(
                f"rank {rank}: the case search has {len(rows)} region(s)", field="region"
            )
        return dict(rows[rank - 1])
    for row in rows:
        if row["region"] == region.removeprefix("chr"):
            return dict(row)
    for row in rows:  # a gene scan's regions are named by their gene too
        if row.get("gene") and region.upper() in row["gene"].upper().split("/"):
            return dict(row)
    raise InvalidInputError(
        f"{region!r} is not a region of this case search (name one as CHROM:START-END "
        "from its result, or give its rank)",
        field="region",
    )


def case_filters(case: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """One Beacon filter list per query: the case definition is any of its terms."""
    if "disease" in case:
        return [[{"id": str(case["disease"])}]]
    descend = bool(case.get("descendants", True))
    return [[{"id": t, "includeDescendantTerms": descend}] for t in case.get("phenotypes") or []]


def drill_query(
    row: dict[str, Any],
    datasets: list[str],
    limit: int,
    filters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The Beacon request: variants overlapping the region (1-based, inclusive) as a range
    query [start - 1, end) in Beacon's 0-based coordinates, record granularity asked, carriers
    limited to individuals matching `filters`."""
    ids = sorted({d.split("/", 1)[-1] for d in datasets})
    return {
        "meta": {"apiVersion": "v2.1.1"},
        "query": {
            "requestedGranularity": "record",
            "requestParameters": {
                "referenceName": row["chrom"],
                "start": [int(row["start"]) - 1],
                "end": [int(row["end"])],
            },
            "pagination": {"skip": 0, "limit": limit},
            **({"filters": filters} if filters else {}),
        },
        "datasets": {"datasetIds": ids},
    }


def _max_frequency(record: dict[str, Any]) -> float | None:
    """The highest population allele frequency a record carries, or None if it has none."""
    values = [
        float(f["alleleFrequency"])
        for fp in record.get("frequencyInPopulations") or []
        for f in fp.get("frequencies") or []
        if isinstance(f, dict) and f.get("alleleFrequency") is not None
    ]
    return max(values) if values else None


def variant_row(record: dict[str, Any], chrom: str | None = None) -> dict[str, Any]:
    """position (VCF, 1-based), ref, alt, key (CHROM-POS-REF-ALT, given the chromosome the
    query asked for), carriers (biosample:alleles) of one Beacon record."""
    variation = record.get("variation") or {}
    start = variation.get("location", {}).get("interval", {}).get("start", {}).get("value")
    carriers = [
        f"{c.get('biosampleId')}:{2 if (c.get('zygosity') or {}).get('id') == HOMOZYGOUS else 1}"
        for c in record.get("caseLevelData") or []
    ]
    position = None if start is None else int(start) + 1
    ref = variation.get("referenceBases")
    alt = variation.get("alternateBases") or (record.get("info") or {}).get("symbolicAllele")
    return {
        "position": position,
        "ref": ref,
        "alt": alt,
        "key": f"{chrom}-{position}-{ref}-{alt}" if chrom and position else None,
        "carriers": carriers,
        "max_af": _max_frequency(record),
    }


def drill_rows(
    answer: dict[str, Any],
    max_af: float,
    datasets: list[str] | None = None,
    population: dict[str, dict[str, Any]] | None = None,
    chrom: str | None = None,
) -> list[dict[str, Any]]:
    """One row per dataset: what the gate allowed, and at record level the rare variants
    (population AF from `population`, keyed CHROM-POS-REF-ALT, else from the records).
    With `datasets` (NODE/DATASET), only those: a node asked for another node's dataset id
    refuses it as unknown, which is no answer about the region."""
    network = (answer.get("info") or {}).get("network") or {}
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for n in network.get("nodes", []):
        node = str(n.get("node"))
        for d in n.get("datasets", []):
            reasons = [r.get("message") for r in d.get("reasons") or [] if isinstance(r, dict)]
            rows[(node, str(d.get("id")))] = {
                "node": node, "dataset": str(d.get("id")), "granularity": d.get("granularity"),
                "exists": d.get("exists"), "count": d.get("count"),
                "reason": "; ".join(dict.fromkeys(str(x) for x in reasons + (d.get("notes") or []) if x)),
            }  # fmt: skip
        for d in n.get("refusedDatasets", []):
            code = f" [{d['code']}]" if d.get("code") else ""
            rows[(node, str(d.get("id")))] = {
                "node": node, "dataset": str(d.get("id")), "granularity": "refused",
                "exists": None, "count": None, "reason": f"{d.get('reason') or ''}{code}",
            }  # fmt: skip
        if n.get("status") not in ("ok", "absent") and not n.get("datasets"):
            rows.setdefault((node, "*"), {
                "node": node, "dataset": "*", "granularity": n.get("status"),
                "exists": None, "count": None, "reason": str(n.get("reason") or ""),
            })  # fmt: skip
    response = answer.get("response") or {}
    for rs in response.get("resultSets") or []:
        info = rs.get("info") or {}
        key = (str(info.get("node")), str(rs.get("id")))
        row = rows.setdefault(key, {"node": key[0], "dataset": key[1], "reason": ""})
        row["granularity"] = info.get("granularity") or row.get("granularity")
        row.update(exists=rs.get("exists"), count=rs.get("resultsCount"))
        if row["granularity"] == "record":
            variants = [variant_row(r, chrom) for r in rs.get("results") or []]
            for v in variants:
                counts = (population or {}).get(v.get("key") or "")
                if counts is not None:
                    v["population"] = counts
                    v["max_af"] = counts.get("AF")
                elif population is not None:
                    v["population"] = {"AC": 0, "AN": None, "AF": None,
                                       "note": "not in the population's answer"}  # fmt: skip
            kept = [v for v in variants if v["max_af"] is None or v["max_af"] <= max_af]
            row["variants"] = kept
            row["common_dropped"] = len(variants) - len(kept)
    wanted = set(datasets or [])
    return sorted(
        (r for r in rows.values()
         if not wanted or r["dataset"] == "*" or f"{r['node']}/{r['dataset']}" in wanted),
        key=lambda r: (r["node"], r["dataset"]),
    )  # fmt: skip


def population_counts(
    row: dict[str, Any], population: list[str], *, base: str, headers: dict[str, str]
) -> dict[str, Any]:
    """The population's per-variant AC / AN / AF in the region: an `allele-frequency`
    analysis over the population datasets (through each node's gate and suppression)."""
    from genomesh.cli.analysis_commands import FINAL

    out: dict[str, Any] = {"datasets": population, "variants": {}, "task": None}
    if not population:
        out["reason"] = "the case search named no population dataset"
        return out
    body = {"type": "allele-frequency", "datasets": population,
            "params": {"region": f"{row['chrom']}:{row['start']}-{row['end']}"}}  # fmt: skip
    try:
        task = hub_request("POST", f"{base}/analysis/tasks", json_body=body, headers=headers)
        out["task"] = task["id"]
        deadline = time.monotonic() + 600
        while task["state"] not in FINAL and time.monotonic() < deadline:
            time.sleep(0.3)
            task = hub_request("GET", f"{base}/analysis/tasks/{task['id']}", headers=headers)
        if task["state"] != "done":
            out["reason"] = f"allele-frequency task {task['id']} {task['state']}"
            return out
        result = hub_request("GET", f"{base}/analysis/tasks/{task['id']}/result", headers=headers)
    except GenomeshError as exc:
        out["reason"] = f"allele frequencies refused: {exc.message}"
        return out
    for r in result.get("rows") or []:
        if r.get("group") == "all":
            out["variants"][r["variant_id"]] = {
                "AC": r.get("AC"), "AN": r.get("AN"), "AF": r.get("AF"),
                **({} if r.get("complete") else {"note": "AC withheld by the nodes' suppression: "
                                                 "rarity unknown, kept"}),
            }  # fmt: skip
    out["notes"] = result.get("notes") or []
    return out


def drill(task_id: str, region: str, *, hub: str | None, passport: str | None,
          limit: int = 500) -> dict[str, Any]:  # fmt: skip
    """Fetch the task and its result, ask the network for the case carriers and the
    population counts, return the per-dataset drill-down."""
    base, headers = hub_url(hub), passport_header(passport)
    result = hub_request("GET", f"{base}/analysis/tasks/{task_id}/result", headers=headers)
    row = pick_region(result, region)
    task = hub_request("GET", f"{base}/analysis/tasks/{task_id}", headers=headers)
    params = result.get("params") or {}
    population = sorted(params.get("population") or [])
    cases = [d for d in task.get("datasets") or [] if d not in population]
    nodes = sorted({d.split("/", 1)[0] for d in cases})
    max_af = float(params.get("max_af", 0.001))
    counts = population_counts(row, population, base=base, headers=headers)
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for filters in case_filters(params.get("case") or {}) or [[]]:
        answer = hub_request(
            "POST",
            f"{base}/g_variants",
            params={"nodes": ",".join(nodes)} if nodes else None,
            json_body=drill_query(row, cases, limit, filters),
            headers=headers,
        )
        for d in drill_rows(answer, max_af, cases, counts["variants"], row["chrom"]):
            merge_dataset(merged, d)
    return {
        "task": task_id,
        "region": row["region"],
        "gene": row.get("gene"),
        "rank": row.get("rank"),
        "p": row.get("p"),
        "max_af": max_af,
        "case": params.get("case"),
        "datasets": [merged[k] for k in sorted(merged)],
        "population": counts,
    }


def merge_dataset(merged: dict[tuple[str, str], dict[str, Any]], d: dict[str, Any]) -> None:
    """Union one query's answer for a dataset into the others' (carriers of each variant)."""
    key = (d["node"], d["dataset"])
    if key not in merged:
        merged[key] = d
        return
    have = merged[key]
    if d.get("granularity") == "record" and have.get("granularity") == "record":
        by = {(v["position"], v["ref"], v["alt"]): v for v in have["variants"]}
        for v in d["variants"]:
            old = by.get((v["position"], v["ref"], v["alt"]))
            if old is None:
                have["variants"].append(v)
            else:
                old["carriers"] = sorted(set(old["carriers"]) | set(v["carriers"]))
        have["variants"].sort(key=lambda v: (v["position"] or 0, v["ref"] or "", v["alt"] or ""))
        have["common_dropped"] = max(have.get("common_dropped", 0), d.get("common_dropped", 0))
        have["count"] = len(have["variants"])
    elif d.get("exists") and not have.get("exists"):
        merged[key] = d


@analysis_app.command("drill")
def drill_command(
    task_id: Annotated[str, typer.Argument(help="the id of a finished case search")],
    region: Annotated[
        str, typer.Argument(help="CHROM:START-END from its result, a rank, or a gene")
    ],
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="records per dataset to ask for")
    ] = 500,
    hub: HubOption = None,
    passport: PassportOption = None,
    as_json: JsonOption = False,
) -> None:
    """The rare variants in one region of a case search: case carriers per case dataset, and
    the population's allele counts, as far as your grants go."""
    out = drill(task_id, region, hub=hub, passport=passport, limit=limit)
    if as_json:
        print(json.dumps(out, indent=2))
        return
    from genomesh.analysis.case_search_params import parse_region  # numpy: not at startup

    chrom = parse_region(out["region"])[0]
    gene = f" {out['gene']}" if out.get("gene") else ""
    console.print(
        f"[bold]region {escape(out['region'])}{escape(gene)}[/] (rank {out['rank']}, "
        f"p {out['p']:.3g}); case carriers of variants with population AF <= {out['max_af']}",
        soft_wrap=True,
    )
    pop = out["population"]
    if pop.get("reason"):
        console.print(escape(f"population ({', '.join(pop['datasets'])}): {pop['reason']}"),
                      soft_wrap=True, highlight=False)  # fmt: skip
    else:
        console.print(escape(f"population ({', '.join(pop['datasets'])}): allele counts for "
                             f"{len(pop['variants'])} variant(s), task {pop['task']}"),
                      soft_wrap=True, highlight=False)  # fmt: skip
    for d in out["datasets"]:
        head = f"{d['node']}/{d['dataset']}: {d.get('granularity')}"
        if d.get("granularity") == "record":
            dropped = d.get("common_dropped") or 0
            console.print(
                escape(f"{head}, {len(d['variants'])} variant(s)")
                + (f" ({dropped} common dropped)" if dropped else ""),
                highlight=False,
            )
            for v in d["variants"]:
                line = f"  {chrom}:{v['position']} {v['ref']}>{v['alt']}"
                carriers = ", ".join(v["carriers"]) or "carriers not disclosed"
                counts = v.get("population") or {}
                popn = (
                    f"  population AC {counts.get('AC')}/AN {counts.get('AN')}"
                    + (f" ({counts['note']})" if counts.get("note") else "")
                    if counts
                    else ""
                )
                console.print(escape(f"{line}  case carriers: {carriers}{popn}"), highlight=False)
        else:
            said = f"exists {d.get('exists')}" + (
                f", count {d['count']}" if d.get("count") is not None else ""
            )
            reason = f" - {d['reason']}" if d.get("reason") else ""
            console.print(escape(f"{head} ({said}){reason}"), soft_wrap=True, highlight=False)


__all__ = [
    "case_filters", "drill", "drill_command", "drill_query", "drill_rows", "merge_dataset",
    "pick_region", "population_counts", "variant_row",
]  # fmt: skip
