"""How `genomesh query ...` prints the hub's merged Beacon answer.

Three parts, each readable at 80 columns (genomesh.cli.layout):

* a headline: exists, total, granularity, and how many nodes *answered* - a node that was
  asked but answered for none of its datasets (another assembly, no such dataset, refused)
  or could not be reached is counted as not answering, never as a "no";
* a row per node and per dataset with every reason given for a narrowed answer or a
  non-answer: the words and, where the node gives one, the machine-readable code;
* with `--granularity record`, the records themselves (one key-value block each).
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from genomesh.cli.layout import print_block, print_rows

STATUS_COLOURS = {
    "ok": "green",
    "absent": "blue",  # does not hold the id looked up: an answer, not a failure
    "no answer": "yellow",
    "refused": "yellow",
    "timeout": "magenta",
    "error": "red",
}


def _dash(value: Any) -> str:
    return "–" if value is None else str(value)


def _said(reasons: Any, notes: Any) -> str:
    """`words [code]` for each structured reason, then any plain note not already said."""
    parts: list[str] = []
    for r in reasons or []:
        if isinstance(r, dict) and r.get("message"):
            parts.append(f"{r['message']} [{r['code']}]" if r.get("code") else str(r["message"]))
    said = {str(r.get("message")) for r in reasons or [] if isinstance(r, dict)}
    parts += [str(n) for n in notes or [] if str(n) not in said]
    return "; ".join(parts)


def answered_nothing(node: dict[str, Any]) -> bool:
    """A node that replied but answered for none of its datasets (all refused or n/a)."""
    return (
        node.get("status") == "ok"
        and not node.get("datasets")
        and bool(node.get("refusedDatasets"))
    )


def node_status(node: dict[str, Any]) -> str:
    return "no answer" if answered_nothing(node) else str(node.get("status"))


def _node_reason(node: dict[str, Any]) -> str:
    reason = node.get("reason") or ""
    if answered_nothing(node) and not reason:
        reason = "answered for none of its datasets (see datasets)"
    return f"{reason} [{node['reasonCode']}]" if node.get("reasonCode") else reason


def headline(body: dict[str, Any], *, title: str) -> str:
    summary = body.get("responseSummary", {})
    meta = body.get("meta", {})
    nodes = (body.get("info") or {}).get("network", {}).get("nodes", [])
    answered = sum(node_status(n) in ("ok", "absent") for n in nodes)
    total = summary.get("numTotalResults")
    # with no node answering, "False" would read as a no: it is not known
    exists = summary.get("exists") if answered or summary.get("exists") else "unknown"
    line = (
        f"[bold]{escape(title)}[/]  exists: [bold]{exists}[/]"
        + (f"  total: [bold]{total}[/]" if total is not None else "")
        + f"  granularity: {escape(str(meta.get('returnedGranularity')))}"
        + f"\n{answered} of {len(nodes)} node(s) answered"
    )
    if answered < len(nodes):
        line += f"; {len(nodes) - answered} did not (their answers are not a no: see why below)"
    capped = (body.get("info") or {}).get("pagination")
    if isinstance(capped, dict) and isinstance(capped.get("reason"), dict):
        line += f"\nnote: {escape(str(capped['reason'].get('message')))} [limit_capped]"
    return line


def _dataset_rows(body: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    meta = body.get("meta", {})
    network = (body.get("info") or {}).get("network", {})
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for n in network.get("nodes", []):
        for d in n.get("datasets", []):
            rows[(n["node"], str(d.get("id")))] = {
                "exists": d.get("exists"),
                "granularity": d.get("granularity"),
                "count": d.get("count"),
                # why the node lowered or narrowed this answer (jurisdiction rule, consent
                # exclusions, suppression, assembly used): the researcher must see it (QA F27)
                "note": _said(d.get("reasons"), d.get("notes")),
            }
        for d in n.get("refusedDatasets", []):
            code = f" [{d['code']}]" if d.get("code") else ""
            rows[(n["node"], str(d.get("id")))] = {
                "exists": "not answered",
                "note": f"{d.get('reason') or ''}{code}",
            }
    response = body.get("response") or {}
    for rs in response.get("resultSets") or response.get("collections") or []:
        info = rs.get("info") or {}
        row = rows.setdefault((str(info.get("node")), str(rs.get("id"))), {})
        row.setdefault("granularity", info.get("granularity") or meta.get("returnedGranularity"))
        row.update(exists=rs.get("exists"), count=rs.get("resultsCount"))
        if row["granularity"] == "record":
            row["records"] = rs.get("results") or []
    return rows


def _record_block(record: Any) -> list[tuple[str, str]]:
    if not isinstance(record, dict):
        return [("value", json.dumps(record))]
    return [
        (str(k), v if isinstance(v, str) else json.dumps(v, separators=(", ", ": ")))
        for k, v in record.items()
    ]


def print_records(
    console: Console, rows: dict[tuple[str, str], dict[str, Any]], *, skip: int = 0
) -> None:
    """The records of each record-level dataset, one key-value block per record."""
    for (node_name, dataset_id), row in sorted(rows.items()):
        if "records" not in row:
            continue
        records = row["records"]
        shown = f"{skip + 1}-{skip + len(records)}" if records else "none"
        console.print(
            Text(
                f"\nrecords of {node_name} / {dataset_id}: {shown} of {_dash(row.get('count'))}",
                style="bold",
            )
        )
        for n, record in enumerate(records):
            if n:
                console.print()
            print_block(console, _record_block(record))


def print_network_answer(
    body: dict[str, Any], *, title: str, console: Console | None = None, skip: int = 0
) -> None:
    """Headline, nodes, datasets, and (record granularity) the records."""
    console = console or Console(emoji=False)
    console.print(headline(body, title=title), highlight=False)
    network = (body.get("info") or {}).get("network", {})
    node_rows = []
    for n in network.get("nodes", []):
        status = node_status(n)
        node_rows.append(
            [
                n.get("node", "?") + (" (dial-out)" if n.get("dialOut") else ""),
                _dash(n.get("country")),
                Text(status, style=STATUS_COLOURS.get(status, "white")),
                "–" if status == "no answer" else _dash(n.get("returnedGranularity")),
                _dash(n.get("numTotalResults")),
                _dash(n.get("elapsedMs")),
                _node_reason(n),
            ]
        )
    print_rows(
        console,
        ["node", "country", "status", "granularity", "count", "ms", "reason"],
        node_rows,
        title="nodes",
        keep=["node", "country", "status", "granularity", "count", "ms"],
    )
    rows = _dataset_rows(body)
    if rows:
        print_rows(
            console,
            ["node", "dataset", "exists", "granularity", "count", "note"],
            [
                [
                    node_name,
                    dataset_id,
                    _dash(row.get("exists")),
                    _dash(row.get("granularity")),
                    _dash(row.get("count")),
                    row.get("note") or "",
                ]
                for (node_name, dataset_id), row in sorted(rows.items())
            ],
            title="datasets",
            keep=["node", "dataset", "exists", "granularity", "count"],
        )
    print_records(console, rows, skip=skip)


__all__ = ["answered_nothing", "headline", "node_status", "print_network_answer", "print_records"]
