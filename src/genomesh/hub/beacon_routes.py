"""The hub's Beacon v2 API at its root: informational endpoints and the network fan-out.

Every route of the beaconMap (`/g_variants`, `/individuals/{id}`, `/individuals/{id}/g_variants`,
`/datasets/{id}/filtering_terms` ...) is forwarded (method, query string, body) to all
registered nodes, or to those named in the hub-only query parameter `nodes=a,b` (removed
before forwarding), and the answers are merged (`genomesh.hub.network`). The path a node gets
is built from the route's parts with the id as one encoded segment
(`genomesh.hub.beacon_paths`); any other path is refused here and reaches no node. The caller's passport is verified here and never forwarded: each
node gets a short-lived passport for its own audience (`genomesh.hub.audiences`, QA F23).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from genomesh.core.api_errors import error_responses
from genomesh.core.beacon_model import CROSS_PATHS, GET_QUERY_PARAMETERS
from genomesh.core.errors import AuthenticationError, InvalidInputError, RequestTooLargeError
from genomesh.core.request_errors import body_not_json
from genomesh.hub.audiences import node_audience
from genomesh.hub.beacon_paths import node_path, refuse_unrouted
from genomesh.hub.callers import CallerBudget, caller_of
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


class _Json(JSONResponse):
    """The merged answers, written with orjson (json.dumps was ~3 % of the hub's CPU)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


router = APIRouter(tags=["beacon network"])
HUB_ONLY_PARAMS = ("nodes",)
EntryId = Annotated[str, Path(description="the entry's id (one path segment)")]
NODES_PARAMETER: dict[str, Any] = {
    "name": "nodes",
    "in": "query",
    "required": False,
    "description": "ask only these registered nodes (comma-separated names); not forwarded",
    "schema": {"type": "string"},
}
# documented only: the handlers read the raw query string and body, as a node's do
GET_DOC: dict[str, Any] = {"parameters": [NODES_PARAMETER, *GET_QUERY_PARAMETERS]}
POST_DOC: dict[str, Any] = {
    "parameters": [NODES_PARAMETER],
    "requestBody": {
        "required": False,
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
}
NETWORK_ERRORS = error_responses(400, 401, 404, 413)
# the handlers served by genomesh.hub.fastpath (each returns a Response, reads the raw request)
FAST_ENDPOINTS: set[Any] = set()


def _fast(endpoint: Any) -> Any:
    FAST_ENDPOINTS.add(endpoint)
    return endpoint


def is_fast(endpoint: Any) -> bool:
    """Whether `endpoint` is a network handler that genomesh.hub.fastpath may serve."""
    return endpoint in FAST_ENDPOINTS


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


async def _network(
    request: Request, entry: str, path: str, *, filtering_terms: bool = False
) -> JSONResponse:
    """Forward one Beacon query to the chosen nodes as `path` (built by
    `genomesh.hub.beacon_paths`, never the caller's URL) and merge the answers."""
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

    # The real caller: charged against the hub's own per-caller budget, and named to each
    # node in a signed assertion so nodes key their budgets on it (genomesh.hub.callers).
    budget: CallerBudget = state.caller_budget
    subject = (verified[0].issuer, verified[0].subject) if verified is not None else None
    who = caller_of(request, budget.proxies, subject)
    if budget.take(who) is None:  # this worker's lease of charges (genomesh.hub.callers) is spent
        await run_in_threadpool(budget.charge, who)  # a database transaction (workers share it)

    def caller(node: NodePublic) -> str | None:
        if deriver is None:
            return None
        return deriver.caller_for(who, node_audience(node, settings.base_url))

    forwarded = NodeRequest(
        method=request.method,
        path=path,
        params=params,
        body=body,
        forwarded_for=_forwarded_for(request),
    )
    timeout = settings.node_timeout_seconds
    replies = await fan_out(
        forwarded, nodes, client=state.client, timeout=timeout, authorize=authorize, caller=caller
    )
    replies = mark_absent(replies, path=path)
    if filtering_terms:
        return _Json(merge_filtering_terms(replies, nodes, settings=settings, timeout=timeout))
    status, merged = merge_results(
        replies, nodes, settings=settings, entry=entry, request_summary=summary, timeout=timeout
    )
    return _Json(merged, status_code=status)


@router.get(
    "/filtering_terms",
    summary="Filtering terms of every node, merged",
    responses=NETWORK_ERRORS,
    openapi_extra={"parameters": [NODES_PARAMETER]},
)
@_fast
async def filtering_terms(request: Request) -> JSONResponse:
    return await _network(request, "individuals", "/filtering_terms", filtering_terms=True)


@router.get(
    "/datasets/{id}/filtering_terms",
    summary="Filtering terms of one dataset, from the nodes that hold it",
    responses=NETWORK_ERRORS,
    operation_id="network_datasets_by_id_filtering_terms_get",
    openapi_extra={"parameters": [NODES_PARAMETER]},
)
@_fast
async def dataset_filtering_terms(request: Request, id: EntryId) -> JSONResponse:
    path = node_path("datasets", id, "filtering_terms")
    return await _network(request, "datasets", path, filtering_terms=True)


def _forwarded_for(request: Request) -> str | None:
    """The caller's address chain for X-Forwarded-For (nodes decide whether to trust it)."""
    chain = [request.headers["x-forwarded-for"]] if "x-forwarded-for" in request.headers else []
    if request.client is not None:
        chain.append(request.client.host)
    return ", ".join(chain) or None


def _endpoint(entry: str, target: str | None, with_id: bool) -> Any:
    if with_id:

        async def by_id(request: Request, id: EntryId) -> JSONResponse:
            return await _network(request, entry, node_path(entry, id, target))

        return _fast(by_id)

    async def root(request: Request) -> JSONResponse:
        return await _network(request, entry, node_path(entry))

    return _fast(root)


def _unrouted(entry: str) -> Any:
    async def unrouted(request: Request, rest: str) -> JSONResponse:
        if not rest:  # `/individuals/` is `/individuals`
            return await _network(request, entry, node_path(entry))
        raw = request.scope.get("raw_path") or request.url.path.encode()
        raise refuse_unrouted(entry, raw.decode("latin-1"))

    return _fast(unrouted)


def _add_entry_routes() -> None:
    """The beaconMap's routes, one per path and method, each with its own operation id
    (FastAPI would give GET and POST of one route the same id, which breaks /openapi.json).
    Any other path under an entry type is refused here, without reaching a node."""
    for entry in ENTRY_TYPES:
        routes: list[tuple[str, str, str | None, bool]] = [
            (f"/{entry}", "", None, False),
            (f"/{entry}/{{id}}", "_by_id", None, True),
        ]
        routes += [
            (f"/{entry}/{{id}}/{target}", f"_by_id_{target}", target, True)
            for target in CROSS_PATHS[entry]
        ]
        for route, suffix, target, with_id in routes:
            for method in ("GET", "POST"):
                router.add_api_route(
                    route,
                    _endpoint(entry, target, with_id),
                    methods=[method],
                    summary=f"{route} across the network",
                    operation_id=f"network_{entry}{suffix}_{method.lower()}",
                    responses=NETWORK_ERRORS,
                    openapi_extra=GET_DOC if method == "GET" else POST_DOC,
                )
        router.add_api_route(
            f"/{entry}/{{rest:path}}",
            _unrouted(entry),
            methods=["GET", "POST"],
            include_in_schema=False,
        )


_add_entry_routes()

__all__ = ["FAST_ENDPOINTS", "is_fast", "request_summary", "router"]
