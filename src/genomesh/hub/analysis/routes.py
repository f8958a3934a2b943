"""HTTP API of analysis tasks (data visiting). Every call needs the researcher's passport.

    POST /analysis/tasks                 submit {"type", "params", "datasets": ["NODE/DATASET", ...]}
    GET  /analysis/tasks                 the caller's tasks
    GET  /analysis/tasks/{id}            state, reason, progress (rounds done / expected), per node;
                                         ?wait=S answers once a round is done or the task
                                         ended, or after S seconds (a long poll)
    GET  /analysis/tasks/{id}/result     the result (JSON); ?format=tsv for its rows as TSV;
                                         ?wait=S waits up to S seconds for a running task
    POST /analysis/tasks/{id}/cancel     cancel a queued or running task
    POST /analysis/tasks/{id}/rerun      the same analysis again, without participants who
                                         withdrew since (genomesh.hub.analysis.stale)
    GET  /analysis/types           the registered analysis types

(Not `/analyses`: at the hub's root that is the Beacon v2 entry type, asked across the network.)
A refused submission (no passport, no visa for a dataset, unknown type, bad params) is an
error naming the reason, and nothing is queued. A task a node refuses ends as `refused`.
"""

from __future__ import annotations

import csv
import io
import math
import time
from typing import Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from genomesh.analysis import registered
from genomesh.analysis.results import table_columns, table_tsv
from genomesh.core.api_errors import error_responses
from genomesh.core.errors import ConflictError, InvalidInputError
from genomesh.hub.analysis.coordinator import Coordinator
from genomesh.hub.analysis.stale import describe_change, result_change, stale_store
from genomesh.hub.analysis.tasks import ACTIVE, Task

router = APIRouter(tags=["analyses"])
MAX_WAIT_SECONDS = 60.0  # a long poll's limit (proxies and clients time out idle requests)


class AnalysisSubmission(BaseModel):
    """A researcher's analysis request."""

    type: str = Field(description="a registered analysis type, e.g. allele-frequency")
    params: dict[str, Any] = Field(default_factory=dict, description="the type's parameters")
    datasets: list[str] = Field(
        description="NODE/DATASET ids (a dataset id held by one node only is enough)"
    )


def coordinator(request: Request) -> Coordinator:
    return coordinator_of(request.app)


def coordinator_of(app: Any) -> Coordinator:
    state = app.state
    found = getattr(state, "analyses", None)
    if found is None:
        found = state.analyses = Coordinator(app)
    return found


def shown(task: Task, request: Request) -> dict[str, Any]:
    """A task as the API shows it, with whether withdrawals made its result stale and, for a
    re-run, which task it re-ran and how much the result changed."""
    store = stale_store(request.app)
    out = task.public()
    out["stale"] = store.stale(task.id)
    if out["stale"] and out["stale"]["reruns"] and task.state == "done":
        latest = coordinator(request).tasks.get(out["stale"]["reruns"][-1])
        if latest.state == "done":  # the notice of how much the re-run changed the result
            out["stale"]["rerun_change"] = describe_change(
                result_change(task.result, latest.result)
            )
    original = store.rerun_of(task.id)
    if original is not None:
        out["rerun_of"] = {"task": original, "change": None}
        first = coordinator(request).tasks.get(original)
        if task.state == "done" and first.state == "done":
            change = result_change(first.result, task.result)
            out["rerun_of"]["change"] = finite(change)
            out["rerun_of"]["summary"] = describe_change(change)
    return out


def _auth(request: Request) -> str | None:
    return request.headers.get("authorization")


@router.get("/analysis/types", summary="Registered analysis types")
async def types() -> list[dict[str, str]]:
    return [{"type": a.name, "description": a.description} for a in registered().values()]


@router.post(
    "/analysis/tasks",
    status_code=201,
    summary="Submit an analysis (needs a passport)",
    responses=error_responses(400, 401, 403, 404, 409, 429),
)
async def submit(body: AnalysisSubmission, request: Request) -> dict[str, Any]:
    task = coordinator(request).submit(body.model_dump(), _auth(request))
    return {**task.public(), "stale": None}  # new: neither stale nor a re-run (yet)


@router.get("/analysis/tasks", summary="The caller's analyses", responses=error_responses(400, 401))
async def list_tasks(request: Request) -> list[dict[str, Any]]:
    return [shown(t, request) for t in coordinator(request).mine(_auth(request))]


@router.get(
    "/analysis/tasks/{task_id}",
    summary="State and progress of an analysis",
    responses=error_responses(400, 401, 403, 404),
)
async def status(
    task_id: str,
    request: Request,
    wait: float = Query(
        0.0,
        ge=0.0,
        le=MAX_WAIT_SECONDS,
        description="answer once the task finished a round or ended, or after this many "
        "seconds (a long poll; 0 = at once)",
    ),
) -> dict[str, Any]:
    hub = coordinator(request)
    task = hub.owned(task_id, _auth(request))
    if wait > 0:
        task = await hub.watch(task, wait)
    return shown(task, request)


def finite(value: Any) -> Any:
    """JSON-safe: NaN and infinities (e.g. an undefined statistic) become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def _tsv(rows: list[dict[str, Any]], declared: list[str] | None = None) -> str:
    """Rows as TSV, NA for missing. A result that declares its `columns` (GWAS: plink2's
    `CHROM POS ID REF ALT A1 TEST OBS_CT BETA SE T_STAT|Z_STAT P ...`) gets them in that
    order with plink2's `#` before the first header; values keep full precision."""
    columns: list[str] = list(declared or [])
    for row in rows:
        columns += [k for k in row if k not in columns]
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow([f"#{c}" if declared and i == 0 else c for i, c in enumerate(columns)])
    for row in rows:
        writer.writerow(["NA" if row.get(c) is None else row.get(c) for c in columns])
    return out.getvalue()


def _splice(stored: str | None, extra: dict[str, Any]) -> bytes | None:
    """The stored result with `extra`'s keys appended, without parsing it (a GWAS result is
    a row per variant: parsing and re-encoding it cost more than everything else in the
    request). None when the text cannot be used as is: not an object written by orjson
    (stored arrays, NaN from the standard library) or already holding one of the keys."""
    text = stored.strip() if stored else ""
    if not (text.startswith("{") and text.endswith("}")):
        return None
    if '"__ndarray__"' in text or "NaN" in text or "Infinity" in text:
        return None
    if any(f'"{key}"' in text for key in extra):
        return None
    return _append(text.encode(), extra)


def _append(body: bytes, extra: dict[str, Any]) -> bytes:
    """A JSON object's text (ending in its `}`) with `extra`'s keys added: one copy."""
    tail = orjson.dumps(extra, option=orjson.OPT_SERIALIZE_NUMPY)[1:]  # '"stale":...}'
    empty = body.find(b'"') < 0  # an object with a key has a quote, "{}" none
    return b"".join((memoryview(body)[:-1], b"" if empty else b",", tail))


@router.get(
    "/analysis/tasks/{task_id}/result",
    summary="The result (JSON, or ?format=tsv)",
    responses=error_responses(400, 401, 403, 404, 409),
)
async def result(
    task_id: str,
    request: Request,
    format: str = "json",
    wait: float = Query(
        0.0,
        ge=0.0,
        le=MAX_WAIT_SECONDS,
        description="while the task runs, wait up to this many seconds for it to end (a long "
        "poll: the result comes as soon as it is ready; 409 if still running then)",
    ),
) -> Response:
    hub = coordinator(request)
    task = hub.owned(task_id, _auth(request))
    if format not in ("json", "tsv"):
        raise InvalidInputError("format must be json or tsv", field="format")
    if wait > 0:
        deadline = time.monotonic() + wait
        while task.state in ACTIVE and (left := deadline - time.monotonic()) > 0:
            task = await hub.watch(task, left)
    if task.state != "done":
        why = f": {task.reason}" if task.reason else ""
        raise ConflictError(f"analysis {task_id} is {task.state}, no result{why}", field="state")
    if format == "tsv":
        declared = task.result.get("columns")
        if isinstance(task.result.get("table"), dict):  # a result by columns (GWAS)
            text = table_tsv(task.result["table"], table_columns(task.result))
        else:
            text = _tsv(
                task.result.get("rows") or [], declared if isinstance(declared, list) else None
            )
        stale = stale_store(request.app).stale(task_id)
        headers = {"X-Genomesh-Stale": stale["reason"]} if stale else None
        return Response(text, media_type="text/tab-separated-values", headers=headers)
    meta = shown(task, request)
    extra = {"stale": meta["stale"], "rerun_of": meta.get("rerun_of")}
    kept = coordinator(request).result_body(task_id)  # dump_result's JSON: append at once
    spliced = _append(kept, extra) if kept is not None else _splice(task.result_text, extra)
    if spliced is not None:
        return Response(spliced, media_type="application/json")
    document = {**task.result, **extra}
    try:  # orjson writes NaN and infinities as null itself, ~30x faster than walking the rows
        body = orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY)
    except TypeError:  # something orjson does not know: the general path
        return JSONResponse(finite(document))
    return Response(body, media_type="application/json")


@router.post(
    "/analysis/tasks/{task_id}/cancel",
    summary="Cancel a queued or running analysis",
    responses=error_responses(400, 401, 403, 404, 409),
)
async def cancel(task_id: str, request: Request) -> dict[str, Any]:
    hub = coordinator(request)
    task = hub.owned(task_id, _auth(request))
    if task.state not in ("queued", "running"):
        raise ConflictError(f"analysis {task_id} is already {task.state}", field="state")
    return (await hub.cancel(task)).public()


@router.post(
    "/analysis/tasks/{task_id}/rerun",
    status_code=201,
    summary="Run an analysis again (withdrawn participants are left out)",
    responses=error_responses(400, 401, 403, 404, 409),
)
async def rerun(task_id: str, request: Request) -> dict[str, Any]:
    """The same type, parameters and datasets, submitted again with the caller's passport;
    the nodes leave out everyone who has withdrawn. The new task names the one it re-runs."""
    hub = coordinator(request)
    task = hub.owned(task_id, _auth(request))
    if task.state in ("queued", "running"):
        raise ConflictError(f"analysis {task_id} is still {task.state}", field="state")
    body = {
        "type": task.analysis,
        "params": task.params,
        "datasets": [f"{n}/{d}" for n, ds in sorted(task.nodes.items()) for d in ds],
    }
    new = hub.submit(body, _auth(request))
    stale_store(request.app).link(new.id, task.id)
    return shown(new, request)


__all__ = ["AnalysisSubmission", "coordinator", "coordinator_of", "router", "shown"]
