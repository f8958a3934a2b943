"""FastAPI routes of the Beacon v2 API (thin: parse -> BeaconService -> JSON).

The app that includes `router` must set `app.state.beacon` (a `BeaconService`) and
`app.state.resolver` (a `genomesh.access.resolve.IdentityResolver`); the node app does.
Every entry type has GET and POST on `/{entry}`, `/{entry}/{id}` and the cross-entity
paths `/{entry}/{id}/{target}` of the default model's beaconMap.

The query handlers are `async` and run the (CPU-bound, GIL-holding) query on the event loop:
measured, this nearly doubles throughput over FastAPI's thread-pool hop for the typical
millisecond query; a node wanting parallelism runs more workers.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from fastapi.responses import JSONResponse

from genomesh.access.identity import Identity
from genomesh.beacon import informational
from genomesh.beacon.request import BeaconRequest, from_body, from_query_params
from genomesh.core.api_errors import error_responses
from genomesh.core.beacon_model import CROSS_PATHS, ENTRY_TYPES, GET_QUERY_PARAMETERS

router = APIRouter()
Json = dict[str, Any]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("genomesh")
    except PackageNotFoundError:  # pragma: no cover
        return "0.0.0"


def identity_of(request: Request) -> Identity:
    """The caller from `Authorization: Bearer <passport>` (anonymous without one)."""
    resolver = request.app.state.resolver
    peer = request.client.host if request.client else None
    client = resolver.address_of(peer, request.headers)
    identity: Identity = resolver.resolve(
        request.headers.get("authorization"), client_address=client
    )
    return identity


def _service(request: Request) -> Any:
    return request.app.state.beacon


def _answer(request: Request, req: BeaconRequest) -> JSONResponse:
    request.state.beacon_request = req  # error handlers echo it in meta
    identity = identity_of(request)
    return JSONResponse(_service(request).query(req, identity))


# -- informational --------------------------------------------------------------------


@router.get("/", tags=["informational"], summary="Beacon info (same as /info)")
def root(request: Request) -> Json:
    return informational.info(
        _service(request).settings,
        version=_version(),
        datasets=_service(request).dataset_summaries(),
    )


@router.get("/info", tags=["informational"], summary="Beacon info")
def info(request: Request) -> Json:
    return root(request)


@router.get("/service-info", tags=["informational"], summary="GA4GH service-info")
def service_info(request: Request) -> Json:
    return informational.service_info(_service(request).settings, version=_version())


@router.get("/configuration", tags=["informational"], summary="Beacon configuration")
def configuration(request: Request) -> Json:
    return informational.configuration(_service(request).settings)


@router.get("/map", tags=["informational"], summary="Beacon map of endpoints")
def beacon_map(request: Request) -> Json:
    return informational.beacon_map(_service(request).settings)


@router.get("/entry_types", tags=["informational"], summary="Entry types served")
def entry_types(request: Request) -> Json:
    return informational.entry_types(_service(request).settings)


@router.get(
    "/filtering_terms", tags=["informational"], summary="Filtering terms present in the data"
)
def filtering_terms(request: Request) -> Json:
    return _service(request).filtering_terms()


@router.get(
    "/datasets/{id}/filtering_terms",
    tags=["informational"],
    summary="Filtering terms present in one dataset",
    responses=error_responses(404),
)
def dataset_filtering_terms(request: Request, id: Annotated[str, Path()]) -> Json:
    return _service(request).filtering_terms(id)


@router.post("/filtering_terms", tags=["informational"], include_in_schema=False)
def filtering_terms_post(request: Request) -> Json:
    return _service(request).filtering_terms()


# -- entry types ----------------------------------------------------------------------

VariantParams = dict[str, Any]


# The GET parameters, documented in /openapi.json only: handlers read the raw query string
# (declaring them as FastAPI parameters would cost a millisecond of validation per request).
GET_PARAMETERS_DOC: dict[str, Any] = {"parameters": GET_QUERY_PARAMETERS}
# what a query can be answered with besides 200: bad input, a passport that fails, a rule that
# refuses, an unknown dataset or record, a spent budget (413 and 422: genomesh.node.app)
QUERY_ERRORS = error_responses(400, 401, 403, 404, 429)


def _get(request: Request, entry: str, entry_id: str | None, target: str | None) -> JSONResponse:
    max_limit = _service(request).settings.max_limit
    returned = target or entry
    body = from_query_params(
        list(request.query_params.multi_items()),
        entry=ENTRY_TYPES[returned].id,
        max_limit=max_limit,
    )
    req = from_body(body, entry=entry, entry_id=entry_id, target=target, max_limit=max_limit)
    return _answer(request, req)


def _post(
    request: Request, body: Any, entry: str, entry_id: str | None, target: str | None
) -> JSONResponse:
    max_limit = _service(request).settings.max_limit
    req = from_body(body, entry=entry, entry_id=entry_id, target=target, max_limit=max_limit)
    return _answer(request, req)


PostBody = Annotated[dict[str, Any] | None, Body()]
EntryId = Annotated[str, Path(description="the entry's id")]


def _add_routes(path: str, entry: str, with_id: bool, target: str | None) -> None:
    name = "_".join(p for p in (entry, "by_id" if with_id else "", target or "") if p)
    returned = target or entry
    summary = f"{ENTRY_TYPES[returned].name} records" + (f" of one {entry[:-1]}" if with_id else "")
    handlers: tuple[Any, Any]
    if with_id:

        async def get_by_id(request: Request, id: EntryId) -> JSONResponse:
            return _get(request, entry, id, target)

        async def post_by_id(request: Request, id: EntryId, body: PostBody = None) -> JSONResponse:
            return _post(request, body, entry, id, target)

        handlers = (get_by_id, post_by_id)
    else:

        async def get_all(request: Request) -> JSONResponse:
            return _get(request, entry, None, None)

        async def post_all(request: Request, body: PostBody = None) -> JSONResponse:
            return _post(request, body, entry, None, None)

        handlers = (get_all, post_all)
    router.add_api_route(
        path,
        handlers[0],
        methods=["GET"],
        name=f"get_{name}",
        summary=summary,
        tags=[entry],
        openapi_extra=GET_PARAMETERS_DOC,
        responses=QUERY_ERRORS,
    )
    router.add_api_route(
        path,
        handlers[1],
        methods=["POST"],
        name=f"post_{name}",
        summary=summary,
        tags=[entry],
        responses=QUERY_ERRORS,
    )


for _entry in ENTRY_TYPES:
    _add_routes(f"/{_entry}", _entry, False, None)
    _add_routes(f"/{_entry}/{{id}}", _entry, True, None)
    for _target in CROSS_PATHS[_entry]:
        _add_routes(f"/{_entry}/{{id}}/{_target}", _entry, True, _target)


__all__ = ["identity_of", "router"]
