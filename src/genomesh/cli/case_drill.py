"""`genomesh analysis drill TASK_ID REGION`: the variants behind one region of a case search.

The drill-down is an ordinary Beacon network query (`POST /g_variants`, a range query for the
region's coordinates, record granularity asked) sent to the case search's datasets with the
caller's passport. Each node's gate decides per dataset what the caller gets, so a dataset
without a record-level grant answers a count, a boolean or a refusal - exactly what the
Beacon tells anyone with that passport, nothing more. Records are filtered to the case
search's rarity threshold (`max_af`) where they carry population frequencies.

    genomesh analysis drill 3f2c... 1                     # the top-ranked region
    genomesh analysis drill 3f2c... 12:120290001-120300000
"""

from __future__ import annotations

import json
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
from genomesh.core.errors import InvalidInputError

HOMOZYGOUS = "GENO:GENO_0000136"  # genomesh.beacon.records.ZYGOSITY[2]


def pick_region(result: dict[str, Any], region: str) -> dict[str, Any]:
    """The result row named by its region (`12:120290001-120300000`) or by its rank (`1`)."""
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
    raise InvalidInputError(
        f"{region!r} is not a region of this case search (name one as CHROM:START-END "
        "from its result, or give its rank)",
        field="region",
    )


def drill_query(row: dict[str, Any], datasets: list[str], limit: int) -> dict[str, Any]:
    """The Beacon request: variants overlapping the region (1-based, inclusive) as a range
    query [start - 1, end) in Beacon's 0-based coordinates, record granularity asked."""
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


def variant_row(record: dict[str, Any]) -> dict[str, Any]:
    """position (VCF, 1-based), ref, alt, carriers (biosample:alleles) of one Beacon record."""
    variation = record.get("variation") or {}
    start = variation.get("location", {}).get("interval", {}).get("start", {}).get("value")
    carriers = [
        f"{c.get('biosampleId')}:{2 if (c.get('zygosity') or {}).get('id') == HOMOZYGOUS else 1}"
        for c in record.get("caseLevelData") or []
    ]
    return {
        "position": None if start is None else int(start) + 1,
        "ref": variation.get("referenceBases"),
        "alt": variation.get("alternateBases") or (record.get("info") or {}).get("symbolicAllele"),
        "carriers": carriers,
        "max_af": _max_frequency(record),
    }


def drill_rows(
    answer: dict[str, Any], max_af: float, datasets: list[str] | None = None
) -> list[dict[str, Any]]:
    """One row per dataset: what the gate allowed, and at record level the rare variants.
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
            variants = [variant_row(r) for r in rs.get("results") or []]
            kept = [v for v in variants if v["max_af"] is None or v["max_af"] <= max_af]
            row["variants"] = kept
            row["common_dropped"] = len(variants) - len(kept)
    wanted = set(datasets or [])
    return sorted(
        (r for r in rows.values()
         if not wanted or r["dataset"] == "*" or f"{r['node']}/{r['dataset']}" in wanted),
        key=lambda r: (r["node"], r["dataset"]),
    )  # fmt: skip


def drill(task_id: str, region: str, *, hub: str | None, passport: str | None,
          limit: int = 500) -> dict[str, Any]:  # fmt: skip
    """Fetch the task and its result, ask the network, return the per-dataset drill-down."""
    base, headers = hub_url(hub), passport_header(passport)
    result = hub_request("GET", f"{base}/analysis/tasks/{task_id}/result", headers=headers)
    row = pick_region(result, region)
    task = hub_request("GET", f"{base}/analysis/tasks/{task_id}", headers=headers)
    datasets = list(task.get("datasets") or [])
    nodes = sorted({d.split("/", 1)[0] for d in datasets})
    max_af = float((result.get("params") or {}).get("max_af", 0.001))
    answer = hub_request(
        "POST",
        f"{base}/g_variants",
        params={"nodes": ",".join(nodes)} if nodes else None,
        json_body=drill_query(row, datasets, limit),
        headers=headers,
    )
    return {
        "task": task_id,
        "region": row["region"],
        "rank": row.get("rank"),
        "p": row.get("p"),
        "max_af": max_af,
        "datasets": drill_rows(answer, max_af, datasets),
    }


@analysis_app.command("drill")
def drill_command(
    task_id: Annotated[str, typer.Argument(help="the id of a finished case search")],
    region: Annotated[str, typer.Argument(help="CHROM:START-END from its result, or a rank")],
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="records per dataset to ask for")
    ] = 500,
    hub: HubOption = None,
    passport: PassportOption = None,
    as_json: JsonOption = False,
) -> None:
    """The rare variants in one region of a case search, per dataset, as far as your grants go."""
    out = drill(task_id, region, hub=hub, passport=passport, limit=limit)
    if as_json:
        print(json.dumps(out, indent=2))
        return
    from genomesh.analysis.case_search_params import parse_region  # numpy: not at startup

    chrom = parse_region(out["region"])[0]
    console.print(
        f"[bold]region {escape(out['region'])}[/] (rank {out['rank']}, p {out['p']:.3g}); "
        f"variants with population AF <= {out['max_af']} where the answer carries frequencies",
        soft_wrap=True,
    )
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
                console.print(escape(f"{line}  carriers: {carriers}"), highlight=False)
        else:
            said = f"exists {d.get('exists')}" + (
                f", count {d['count']}" if d.get("count") is not None else ""
            )
            reason = f" - {d['reason']}" if d.get("reason") else ""
            console.print(escape(f"{head} ({said}){reason}"), soft_wrap=True, highlight=False)


__all__ = ["drill", "drill_command", "drill_query", "drill_rows", "pick_region", "variant_row"]
