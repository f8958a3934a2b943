"""The node app: `create_app(settings)` builds the FastAPI application of one node.

Lifespan: open the store (`genomesh.store.open_node`), the node state (`NodeState.open`),
the gate, the passport `IdentityResolver`, and the Beacon service (whose per-dataset
DuckDB connections and carrier arrays are warmed before the first request); with `hub_url`
set, anchor the audit log at the hub (`genomesh.node.anchor`). The Beacon v2
API is served at the root, the participant API under `/participants`, the Matchmaker Exchange
API at `/match`, `/heartbeat` and `/metrics`, the OpenAPI document
at `/openapi.json`. Every error is a Beacon error body (see `genomesh.node.errors`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from genomesh.core.api_errors import document_errors
from genomesh.core.apidocs import install_api_docs
from genomesh.core.settings import NodeSettings
from genomesh.node.errors import install_error_handlers
from genomesh.node.limits import BodySizeLimit


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("genomesh")
    except PackageNotFoundError:  # pragma: no cover
        return "0.0.0"


def create_app(settings: NodeSettings, *, warm: bool = True) -> FastAPI:
    """A node app for `settings` (nothing is opened until the app starts)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from genomesh.access.resolve import IdentityResolver
        from genomesh.beacon.service import BeaconService
        from genomesh.gate import Gate
        from genomesh.matchmaker.registry import MatchmakerRegistry
        from genomesh.matchmaker.service import Matchmaker
        from genomesh.node.anchor import anchoring
        from genomesh.node.state import NodeState
        from genomesh.store import open_node

        node = open_node(settings.node_dir)
        state = NodeState.open(settings)
        gate = Gate(settings=settings, node=node, state=state)
        resolver = IdentityResolver(settings, known_datasets=node.dataset_ids)
        service = BeaconService(settings=settings, node=node, gate=gate)
        app.state.matchmaker = Matchmaker(gate=gate, registry=MatchmakerRegistry(settings.node_dir))
        app.state.node = node
        app.state.node_state = state
        app.state.gate = gate
        app.state.resolver = resolver
        app.state.beacon = service
        if warm:
            service.engine.warm()
            service.vocabulary()
            if app.state.matchmaker.registry.patients():  # only nodes that offer matching
                app.state.matchmaker.warm()
        try:
            # with hub_url set: send the signed audit head to the hub (genomesh.node.anchor)
            async with anchoring(state, settings) as sender:
                app.state.anchor_sender = sender
                yield
        finally:
            runner = getattr(app.state, "analysis_runner", None)
            if runner is not None:  # the analysis endpoint's dask client, if it made one
                runner.close()
                app.state.analysis_runner = None  # a restart builds one on the new gate
            service.engine.close()
            state.close()

    app = FastAPI(
        title=f"genomesh node {settings.name}",
        version=_version(),
        description="GA4GH Beacon v2.1.1 API of a genomesh node; every answer passes the node's gate.",
        lifespan=lifespan,
        docs_url=None,  # served offline by install_api_docs below, not from a CDN
        redoc_url=None,
    )
    install_api_docs(app)
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, settings=settings)

    from genomesh.beacon.routes import router as beacon_router
    from genomesh.matchmaker.routes import router as matchmaker_router
    from genomesh.node.analysis_routes import router as analysis_router
    from genomesh.node.compelled_routes import admin as compelled_admin
    from genomesh.node.compelled_routes import public as transparency_router
    from genomesh.node.findings_routes import router as findings_router
    from genomesh.participants.routes import router as participants_router

    app.include_router(analysis_router)
    app.include_router(participants_router)
    app.include_router(compelled_admin)  # compelled-disclosure register (node admin token)
    app.include_router(transparency_router)  # /transparency/{year}
    app.include_router(findings_router)  # return of findings (hub-signed flags, admin queue)
    app.include_router(matchmaker_router)
    from genomesh.node.match_routes import router as hub_match_router  # /match/hub, hub-signed

    app.include_router(hub_match_router)
    app.include_router(beacon_router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The node's OpenAPI document: routes list their own error statuses; validation errors
    (422) and the body limit (413) are documented on every operation they apply to, all with
    the Beacon error body the node really sends (QA issue 12 part 6)."""
    if app.openapi_schema is None:
        spec = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        app.openapi_schema = document_errors(spec, validation_status=422)
    return app.openapi_schema


def preflight(settings: NodeSettings) -> None:
    """Open what the app opens at start-up (store, state, gate with its jurisdiction profiles,
    passport resolver) and close it again, so configuration errors surface as one clear
    GenomeshError before a server is announced, not as a traceback inside uvicorn."""
    from genomesh.access.resolve import IdentityResolver
    from genomesh.gate import Gate
    from genomesh.node.state import NodeState
    from genomesh.store import open_node

    node = open_node(settings.node_dir)
    state = NodeState.open(settings)
    try:
        if settings.hub_key:  # a malformed hub key: said now, not at the first analysis round
            from genomesh.node.analysis_routes import hub_public_key

            hub_public_key(settings)
        Gate(settings=settings, node=node, state=state)
        IdentityResolver(settings, known_datasets=node.dataset_ids)
        for dataset_id in node.dataset_ids():
            node.dataset(dataset_id)
    finally:
        state.close()


def create_app_from_env() -> FastAPI:
    """App factory for `uvicorn --factory` / multi-worker serving: the node folder comes from
    `GENOMESH_NODE_DIR`, everything else from its genomesh.toml and `GENOMESH_*` variables."""
    import os

    from genomesh.core.errors import InvalidInputError

    node_dir = os.environ.get("GENOMESH_NODE_DIR")
    if not node_dir:
        raise InvalidInputError("GENOMESH_NODE_DIR is not set", field="GENOMESH_NODE_DIR")
    return create_app(NodeSettings.load(node_dir))


__all__ = ["create_app", "create_app_from_env", "preflight"]
