"""The network's transparency report: each node's yearly compelled-disclosure counts, summed.

`GET /transparency/{year}` asks every registered node for its own report
(`GET {node}/transparency/{year}`, public and nameless at the node), adds up the counts by
kind of requester and by decision, and lists each node's report with its status, so a
node that could not be asked is named rather than silently counted as zero.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from genomesh.core.api_errors import error_responses
from genomesh.hub.client import NodeRequest

router = APIRouter(tags=["transparency"])
COUNTS = ("requests", "with_gag_order", "participants_disclosed")
TABLES = ("by_kind", "by_decision")


def _add(total: dict[str, Any], report: dict[str, Any]) -> None:
    for key in COUNTS:
        total[key] = total.get(key, 0) + int(report.get(key) or 0)
    for table in TABLES:
        into = total.setdefault(table, {})
        for k, v in (report.get(table) or {}).items():
            into[k] = into.get(k, 0) + int(v)
    cross = total.setdefault("by_kind_and_decision", {})
    for kind, row in (report.get("by_kind_and_decision") or {}).items():
        into = cross.setdefault(kind, {})
        for k, v in row.items():
            into[k] = into.get(k, 0) + int(v)


def aggregate(year: int, replies: list[tuple[str, str, Any, str | None]]) -> dict[str, Any]:
    """The network report from (node, status, body, reason) replies (only `ok` ones count)."""
    total: dict[str, Any] = {}
    nodes = []
    for name, status, body, reason in replies:
        ok = status == "ok" and isinstance(body, dict) and body.get("year") == year
        if ok:
            _add(total, body)
        nodes.append(
            {
                "node": name,
                "status": "reported" if ok else "not_reported",
                "reason": None if ok else (reason or f"node answered {status}"),
                "report": body if ok else None,
            }
        )
    return {
        "year": year,
        "nodes_reporting": sum(n["status"] == "reported" for n in nodes),
        "nodes": nodes,
        "network": {k: total.get(k, 0) for k in COUNTS}
        | {t: total.get(t, {}) for t in (*TABLES, "by_kind_and_decision")},
    }


@router.get("/transparency/{year}", responses=error_responses(400))
async def network_transparency(
    request: Request, year: Annotated[int, Path(ge=1900, le=9999)]
) -> dict[str, Any]:
    """Every node's yearly transparency report and their sum (counts only, no names)."""
    store, client = request.app.state.store, request.app.state.client
    timeout = request.app.state.settings.node_timeout_seconds
    nodes = store.nodes()
    replies = await asyncio.gather(
        *(
            client.send(n, NodeRequest("GET", f"/transparency/{year}"), timeout=timeout)
            for n in nodes
        )
    )
    return aggregate(year, [(r.node, r.status, r.body, r.reason) for r in replies])


__all__ = ["aggregate", "router"]
