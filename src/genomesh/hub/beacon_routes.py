"""The hub's Beacon v2 API at its root: informational endpoints and the network fan-out.

Every entry-type path (`/g_variants`, `/individuals/{id}/g_variants`, `/datasets`, ...) is
forwarded (method, query string, body) to all registered nodes, or to those named in the
hub-only query parameter `nodes=a,b` (removed before forwarding), and the answers are merged
(`genomesh.hub.network`). The caller's passport is verified here and never forwarded: each
node gets a short-lived passport for its own audience (`genomesh.hub.audiences`, QA F23).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from genomesh.core.errors import AuthenticationError, InvalidInputError, RequestTooLargeError
from genomesh.core.request_errors import body_not_json
from genomesh.hub.audiences import node_audience
from genomesh.hub.client import NodeRequest
from genomesh.hub.network import (
    INCLUDE_RESULTSETS,
    fan_out,
    mark_absent,
    merge_filtering_terms,
    merge_results,
)
from genomesh.hub.registry import NodePublic
from genomesh.hub.wire import (
    API_VERSION,
    ENTRY_TYPES,
    GRANULARITIES,
    configuration_body,
    entry_types_body,
    info_body,
    map_body,
    service_info_body,
)

router = APIRouter(tags=["beacon network"])
HUB_ONLY_PARAMS = ("nodes",)


def _settings(request: Request) -> Any:
    return request.app.state.settings


@router.get("/", summary="Beacon info of the hub")
@router.get("/info", summary="Beacon info of the hub")
async def info(request: Request) -> dict[str, Any]:
    store = request.app.state.store
    extra = {"nodes": len(store.nodes()), "datasets": store.catalogue_size()}
    return info_body(_settings(request), extra=extra)


@router.get("/service-info", summary="GA4GH service-info")
async def service_info(request: Request) -> dict[str, Any]:
    return service_info_body(_settings(request))


@router.get("/configuration", summary="Beacon configuration")
async def configuration(request: Request) -> dict[str, Any]:
    return configuration_body(_settings(request))


@router.get("/entry_types", summary="Beacon entry types")
async def entry_types(request: Request) -> dict[str, Any]:
    return entry_types_body(_settings(request))


@router.get("/map", summary="Beacon map")
async def beacon_map(request: Request) -> dict[str, Any]:
    return map_body(_settings(request))


def _node_names(request: Request) -> list[str] | None:
    raw = [v for v in request.query_params.getlist("nodes") if v]
    names = [n.strip() for value in raw for n in value.split(",") if n.strip()]
    # a node named twice is asked once (it was asked twice and its counts doubled: QA F24)
    return list(dict.fromkeys(names)) or None


def _forward_params(request: Request) -> list[tuple[str, str]]:
    return [(k, v) for k, v in request.query_params.multi_items() if k not in HUB_ONLY_PARAMS]


async def _body(request: Request) -> Any:
    if request.method != "POST":
        return None
    raw = await request.body()
    limit = request.app.state.settings.max_request_bytes
    if len(raw) > limit:
        raise RequestTooLargeError(
            f"request body is {len(raw)} bytes; this hub accepts at most {limit}", field="body"
        )
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:  # the same words as a node's (core.request_errors)
        raise body_not_json(exc.msg, exc.pos) from exc
    except ValueError as exc:  # not UTF-8
        raise body_not_json(str(exc)) from exc


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any, field: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{field} must be a whole number", field=field) from exc
    if number < 0:
        raise InvalidInputError(f"{field} must be 0 or more", field=field)
    return number


def request_summary(params: list[tuple[str, str]], body: Any) -> dict[str, Any]:
    """`meta.receivedRequestSummary` of the hub's own answer (the request as received)."""
    if body is not None and not isinstance(body, dict):
        raise InvalidInputError("the request body must be a JSON object", field="body")
    body = body or {}
    for name, value in (("meta", body.get("meta")), ("query", body.get("query"))):
        if value is not None and not isinstance(value, dict):
            raise InvalidInputError(f"{name} must be an object", field=name)
    meta = _obj(body.get("meta"))
    query = _obj(body.get("query"))
    get = dict(params)
    if query.get("pagination") is not None and not isinstance(query.get("pagination"), dict):
        raise InvalidInputError("pagination must be an object", field="pagination")
    if query.get("filters") is not None and not isinstance(query.get("filters"), list):
        raise InvalidInputError("filters must be a list of filter objects", field="filters")
    if meta.get("requestedSchemas") is not None and not isinstance(meta["requestedSchemas"], list):
        raise InvalidInputError("requestedSchemas must be a list", field="requestedSchemas")
    pagination = _obj(query.get("pagination"))
    granularity = query.get("requestedGranularity") or get.get("requestedGranularity") or "boolean"
    if granularity not in GRANULARITIES:
        raise InvalidInputError(
            f"requestedGranularity must be one of {', '.join(GRANULARITIES)}",
            field="requestedGranularity",
        )
    summary: dict[str, Any] = {
        "apiVersion": str(meta.get("apiVersion") or get.get("apiVersion") or API_VERSION),
        "requestedSchemas": meta.get("requestedSchemas") or [],
        "pagination": {
            "skip": _int(pagination.get("skip", get.get("skip")), "skip", 0),
            "limit": _int(pagination.get("limit", get.get("limit")), "limit", 10),
        },
        "requestedGranularity": granularity,
    }
    filters: list[str] = []
    for item in query.get("filters") or []:
        filters.append(str(item.get("id")) if isinstance(item, dict) else str(item))
    for key, value in params:
        if key == "filters":
            filters.extend(v for v in value.split(",") if v)
    if filters:
        summary["filters"] = filters
    include = query.get("includeResultsetResponses") or get.get("includeResultsetResponses")
    if include:
        if include not in INCLUDE_RESULTSETS:  # the hub applies it to the merged sets too
            raise InvalidInputError(
                f"includeResultsetResponses must be one of {', '.join(INCLUDE_RESULTSETS)}",
                field="includeResultsetResponses",
            )
        summary["includeResultsetResponses"] = include
    return summary


async def _network(request: Request, entry: str) -> JSONResponse:
    state = request.app.state
    settings = state.settings
    params = _forward_params(request)
    body = await _body(request)
    summary = request_summary(params, body)
    nodes = state.store.select_nodes(_node_names(request))
    deriver = getattr(state, "deriver", None)
    authorization = request.headers.get("authorization")
    if deriver is None and authorization:
        raise AuthenticationError("this hub issues no passports; send passports to nodes directly")
    verified = deriver.verify(authorization) if deriver is not None else None

    def authorize(node: NodePublic) -> str | None:
        if verified is None or deriver is None:
            return None
        return deriver.bearer_for(verified, node_audience(node, settings.base_url))

    forwarded = NodeRequest(
        method=request.method,
        path=request.url.path,
        params=params,
        body=body,
        forwarded_for=_forwarded_for(request),
    )
    timeout = settings.node_timeout_seconds
    replies = await fan_out(
        forwarded, nodes, client=state.client, timeout=timeout, authorize=authorize
    )
    replies = mark_absent(replies, path=request.url.path)
    if request.url.path.rstrip("/").endswith("filtering_terms"):
        return JSONResponse(
            merge_filtering_terms(replies, nodes, settings=settings, timeout=timeout)
        )
    status, merged = merge_results(
        replies, nodes, settings=settings, entry=entry, request_summary=summary, timeout=timeout
    )
    return JSONResponse(merged, status_code=status)


@router.get("/filtering_terms", summary="Filtering terms of every node, merged")
async def filtering_terms(request: Request) -> JSONResponse:
    return await _network(request, "individuals")


def _forwarded_for(request: Request) -> str | None:
    """The caller's address chain for X-Forwarded-For (nodes decide whether to trust it)."""
    chain = [request.headers["x-forwarded-for"]] if "x-forwarded-for" in request.headers else []
    if request.client is not None:
        chain.append(request.client.host)
    return ", ".join(chain) or None


def _entry_endpoint(entry: str) -> Any:
    async def endpoint(request: Request) -> JSONResponse:
        return await _network(request, entry)

    return endpoint


def _add_entry_routes() -> None:
    """One route per entry path and method, each with its own operation id (FastAPI would
    give GET and POST of one route the same id, which breaks /openapi.json)."""
    for path in ENTRY_TYPES:
        for route, suffix in ((f"/{path}", ""), (f"/{path}/{{rest:path}}", "_sub")):
            for method in ("GET", "POST"):
                router.add_api_route(
                    route,
                    _entry_endpoint(path),
                    methods=[method],
                    summary=f"{route} across the network",
                    operation_id=f"network_{path}{suffix}_{method.lower()}",
                )


_add_entry_routes()

__all__ = ["request_summary", "router"]
