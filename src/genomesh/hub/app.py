"""The hub app factory: registry, catalogue, Beacon network, dial-out, DAC and passports.

`create_app(settings)` builds a FastAPI app; nothing happens at import time. The HTTP
transport used to reach push nodes is injectable (`transport=`) so tests can run nodes
in-process. The DAC (`genomesh.hub.dac.routes.router`) and passport broker
(`genomesh.hub.broker.router`) are mounted when those modules are present.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from genomesh.core.apidocs import install_api_docs
from genomesh.core.body_limit import BodySizeLimit
from genomesh.core.errors import GenomeshError, InvalidInputError
from genomesh.core.request_errors import json_error_of
from genomesh.core.settings import HubSettings
from genomesh.hub import anchors, beacon_routes, dialout, routes, transparency
from genomesh.hub import openapi as hub_openapi
from genomesh.hub.admin import admin_token
from genomesh.hub.analysis import routes as analysis_routes
from genomesh.hub.breaker import CircuitBreaker
from genomesh.hub.callers import CallerBudget
from genomesh.hub.catalogue import sync_catalogue
from genomesh.hub.client import NodeClient
from genomesh.hub.dialout import DialoutBroker
from genomesh.hub.fastpath import NetworkFastPath
from genomesh.hub.matchmaker import routes as matchmaker_routes
from genomesh.hub.registry import HubStore
from genomesh.hub.shared import SqlNonceCache
from genomesh.hub.signing import load_or_create_key
from genomesh.hub.wire import error_body

log = logging.getLogger(__name__)
OPTIONAL_ROUTERS = ("genomesh.hub.dac.routes", "genomesh.hub.broker")
CATALOGUE_RETRY_SECONDS = 15.0  # how soon a node whose catalogue sync failed is asked again


async def _periodic_sync(app: FastAPI) -> None:
    """Sync every node each `catalogue_sync_seconds`; a node whose last sync failed (cold,
    restarting, not yet connected) is retried every CATALOGUE_RETRY_SECONDS in between, so
    one timeout does not leave it out of the catalogue for a whole period (QA F2)."""
    settings: HubSettings = app.state.settings
    period = settings.catalogue_sync_seconds
    last_full = time.monotonic()
    while True:
        await asyncio.sleep(min(CATALOGUE_RETRY_SECONDS, period))
        names: list[str] | None = None  # all
        if time.monotonic() - last_full < period:
            names = [n.name for n in app.state.store.nodes() if n.last_sync_error]
            if not names:
                continue
        else:
            last_full = time.monotonic()
        try:
            await sync_catalogue(
                app.state.store,
                app.state.client,
                timeout=settings.node_timeout_seconds,
                hub_url=settings.base_url,
                names=names,
            )
        except GenomeshError as exc:  # keep syncing; the registry records per-node errors
            log.warning("catalogue sync failed: %s", exc)


def _optional_routers(app: FastAPI) -> None:
    for name in OPTIONAL_ROUTERS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # that part of the hub is not installed yet
            raise
        router = getattr(module, "router", None)
        if router is not None:
            app.include_router(router, responses=hub_openapi.ROUTER_ERRORS.get(name))


def _passport_broker(app: FastAPI, settings: HubSettings) -> None:
    """Passport issuer keys for the broker router and the DAC (when that part is installed)."""
    try:
        from genomesh.hub.broker import BrokerState
    except ImportError:
        return
    revocations = None
    try:  # the DAC's SQL list from the start, not an in-memory one until the DAC starts up
        from genomesh.hub.dac.grants import SqlRevocationList
    except ImportError:
        pass
    else:
        revocations = SqlRevocationList.from_settings(settings)
    state = BrokerState.from_settings(settings, revocations=revocations)
    app.state.broker = state
    app.state.keys = state.keys
    from genomesh.hub.audiences import PassportDeriver

    # researchers' passports are checked here and each node gets its own (QA F23)
    app.state.deriver = PassportDeriver(state, settings)


def create_app(
    settings: HubSettings, *, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """Build the hub app from `settings` (state in settings.state_url or HUB_DIR/hub.sqlite)."""
    hub_dir = Path(settings.hub_dir)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        breaker = None
        if settings.breaker_failures > 0:
            breaker = CircuitBreaker(
                failures=settings.breaker_failures, probe_seconds=settings.breaker_probe_seconds
            )
        client = NodeClient(transport=transport, broker=app.state.dialout, breaker=breaker)
        app.state.client = client
        syncing: set[asyncio.Task[Any]] = set()

        def sync_on_connect(name: str) -> None:
            """A dial-out node (re)connected: refresh its catalogue entries."""
            task = asyncio.create_task(
                sync_catalogue(
                    app.state.store,
                    client,
                    timeout=settings.node_timeout_seconds,
                    hub_url=settings.base_url,
                    names=[name],
                )
            )
            syncing.add(task)
            task.add_done_callback(syncing.discard)

        app.state.dialout.on_connect = sync_on_connect
        from genomesh.hub.analysis.coordinator import Coordinator

        app.state.analyses = Coordinator(app)
        app.state.analyses.resume_all()  # tasks queued or running when the hub stopped
        task = None
        if settings.catalogue_sync_seconds > 0:
            task = asyncio.create_task(_periodic_sync(app))
        try:
            yield
        finally:
            await app.state.analyses.close()
            for pending in [task, *syncing]:
                if pending is not None:
                    pending.cancel()
                    with contextlib.suppress(asyncio.CancelledError, GenomeshError):
                        await pending
            await client.aclose()
            await app.state.dialout.aclose()
            app.state.caller_budget.release()  # charges reserved and not used (hub.callers)
            app.state.store.close()

    app = FastAPI(
        title="genomesh hub",
        description="Beacon v2 network over the registered nodes, node registry, catalogue.",
        lifespan=lifespan,
        docs_url=None,  # served offline by install_api_docs below, not from a CDN
        redoc_url=None,
    )
    install_api_docs(app)
    store = HubStore(settings.state_database_url, hub_dir=hub_dir)
    app.state.settings = settings
    app.state.caller_budget = CallerBudget(  # in the hub database: shared by workers
        store.engine,
        settings.caller_budget,
        settings.caller_budget_window_seconds,
        settings.trusted_proxies,
    )
    app.state.store = store
    app.state.admin_token = admin_token(settings)
    app.state.dialout = DialoutBroker(
        store,
        load_or_create_key(hub_dir),
        poll_seconds=settings.dialout_poll_seconds,
        max_skew=settings.dialout_max_skew_seconds,
    )
    # nonces of signed announcements and withdrawal notices, seen by every worker
    app.state.announce_nonces = app.state.dac_nonces = SqlNonceCache(
        store.engine, settings.dialout_max_skew_seconds * 2
    )
    # failed DAC logins counted in the database: N workers do not give N times the attempts
    from genomesh.hub.dac.throttle_sql import SqlLoginThrottle

    app.state.dac_login_throttle = SqlLoginThrottle(store.engine)

    # the Beacon network routes without FastAPI's per-request machinery (issue 12 part 5),
    # inside the body limit below
    app.add_middleware(
        NetworkFastPath, hub=app, router=beacon_routes.router, fast=beacon_routes.is_fast
    )
    # one body limit on every route, before any parsing (issue 12 part 4)
    app.add_middleware(
        BodySizeLimit,
        limit=settings.max_request_bytes,
        larger={"/dialout/": settings.max_answer_bytes},
        render=lambda exc: error_body(settings, exc),
        server="this hub",
    )

    @app.exception_handler(GenomeshError)
    async def genomesh_error(request: Request, exc: GenomeshError) -> JSONResponse:
        headers = getattr(exc, "headers", None)  # e.g. Retry-After of a throttled login
        return JSONResponse(error_body(settings, exc), status_code=exc.http_status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """Routing errors (404 no such path, 405 wrong method) as hub error bodies too."""
        if exc.status_code == 404 and exc.detail == "Not Found":
            message = f"no such endpoint: {request.url.path}"
        elif exc.status_code == 405:
            message = f"method {request.method} is not allowed on {request.url.path}"
        else:
            message = str(exc.detail)
        error = GenomeshError(message)
        body = error_body(settings, error)
        body["error"]["errorCode"] = exc.status_code
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        not_json = json_error_of(exc.errors())  # the same words as a node's
        if not_json is not None:
            return JSONResponse(error_body(settings, not_json), status_code=400)
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body')}: {e.get('msg')}"
            for e in exc.errors()
        )
        error = InvalidInputError(problems or "invalid request")
        return JSONResponse(error_body(settings, error), status_code=400)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        error = GenomeshError("internal error in the hub (logged)")
        return JSONResponse(error_body(settings, error), status_code=500)

    # signed audit heads of the nodes, append-only (genomesh.hub.anchors)
    app.state.audit_heads = anchors.AuditHeads(store, max_skew=settings.dialout_max_skew_seconds)
    _passport_broker(app, settings)
    # the Beacon network first: routes are matched in order, and its paths share no prefix
    # with the others, so the busiest routes are found first
    app.include_router(beacon_routes.router)
    app.include_router(routes.router)
    app.include_router(anchors.router)
    app.include_router(matchmaker_routes.router)  # the hub's Matchmaker Exchange /match
    app.include_router(dialout.router)
    app.include_router(analysis_routes.router)
    app.include_router(transparency.router)  # the network's yearly transparency report
    _optional_routers(app)
    hub_openapi.install(app)
    return app


def prepare(settings: HubSettings) -> None:
    """Make what every worker shares before several start: the database at the head
    revision, the dial-out key, the passport keys and the admin token (each created once,
    so workers starting together do not race to create them)."""
    hub_dir = Path(settings.hub_dir)
    HubStore(settings.state_database_url, hub_dir=hub_dir).close()
    load_or_create_key(hub_dir)
    admin_token(settings)
    from genomesh.hub.broker import BrokerState

    BrokerState.from_settings(settings)


def create_app_from_env() -> FastAPI:
    """App factory for `uvicorn --factory` (`genomesh hub serve --workers N`): settings from
    the `GENOMESH_HUB_*` environment variables, which `hub serve` sets for its workers."""
    return create_app(HubSettings())


def hub_state(app: FastAPI) -> Any:
    """The app's shared state (store, broker, client, settings), for embedding code."""
    return app.state


__all__ = ["create_app", "create_app_from_env", "hub_state", "prepare"]
