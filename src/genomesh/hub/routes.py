"""HTTP API of the registry (`/nodes`) and the catalogue (`/catalogue`).

Reads are public (the catalogue is metadata meant to be found); changes need the admin
token (`genomesh.hub.admin`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response

from genomesh.core.api_errors import error_responses
from genomesh.core.errors import InvalidInputError, NotFoundError
from genomesh.hub.admin import AdminOnly
from genomesh.hub.audiences import node_audience
from genomesh.hub.catalogue import (
    search_catalogue,
    sync_catalogue,
    validate_role,
    validate_search,
)
from genomesh.hub.dac.governance import enrich_catalogue
from genomesh.hub.invitations import InvitationCreate, JoinRequest, invite, redeem
from genomesh.hub.registry import HubStore, NodeCreate, NodePublic

router = APIRouter()
SEARCH_PARAMS = ("q", "duo", "disease", "phenotype", "country", "role")


def _store(request: Request) -> HubStore:
    return request.app.state.store


async def sync_in_background(request: Request, names: list[str] | None) -> dict[str, str]:
    state = request.app.state
    return await sync_catalogue(
        state.store,
        state.client,
        timeout=state.settings.node_timeout_seconds,
        hub_url=state.settings.base_url,
        names=names,
    )


def _with_audience(request: Request, node: NodePublic) -> NodePublic:
    """Show the audience of the passports the hub sends this node (researchers ask the DAC
    for a passport with it to query the node directly)."""
    node.passport_audience = node_audience(node, request.app.state.settings.base_url)
    return node


@router.get("/nodes", tags=["registry"], summary="Registered nodes")
async def list_nodes(request: Request) -> list[NodePublic]:
    nodes = _store(request).nodes()
    broker = request.app.state.dialout
    for node in nodes:
        if node.dial_out:
            node.info = {**(node.info or {}), "connected": broker.connected(node.name)}
        _with_audience(request, node)
    return nodes


@router.get(
    "/nodes/{name}",
    tags=["registry"],
    summary="One registered node",
    responses=error_responses(404),
)
async def get_node(name: str, request: Request) -> NodePublic:
    return _with_audience(request, _store(request).node(name))


@router.post(
    "/nodes",
    status_code=201,
    tags=["registry"],
    summary="Register a node (admin)",
    responses=error_responses(400, 401, 403, 409),
)
async def add_node(
    node: NodeCreate, request: Request, background: BackgroundTasks, _admin: AdminOnly
) -> NodePublic:
    created = _store(request).add_node(node)
    background.add_task(sync_in_background, request, [node.name])
    return _with_audience(request, created)


@router.put(
    "/nodes/{name}",
    tags=["registry"],
    summary="Change a registered node (admin)",
    responses=error_responses(400, 401, 403, 404, 409),
)
async def replace_node(
    name: str, node: NodeCreate, request: Request, background: BackgroundTasks, _admin: AdminOnly
) -> NodePublic:
    if node.name != name:
        raise NotFoundError(f"body names node {node.name!r}, path {name!r}", field="name")
    updated = _store(request).replace_node(node)
    _forget_circuit(request, name)  # a new address deserves a fresh start
    background.add_task(sync_in_background, request, [name])
    return _with_audience(request, updated)


@router.delete(
    "/nodes/{name}",
    status_code=204,
    tags=["registry"],
    summary="Remove a node (admin)",
    responses=error_responses(401, 403, 404),
)
async def remove_node(name: str, request: Request, _admin: AdminOnly) -> Response:
    _store(request).remove_node(name)
    _forget_circuit(request, name)
    return Response(status_code=204)


def _forget_circuit(request: Request, name: str) -> None:
    """Drop the node's circuit-breaker state (genomesh.hub.breaker), stopping its probe."""
    breaker = getattr(getattr(request.app.state, "client", None), "breaker", None)
    if breaker is not None:
        breaker.forget(name)


@router.post(
    "/nodes/invitations", status_code=201, tags=["registry"],
    summary="Invite a node to join (admin): a one-time token for `genomesh node join`",
    responses=error_responses(400, 401, 403, 409),
)  # fmt: skip
async def invite_node(body: InvitationCreate, request: Request, _admin: AdminOnly) -> Any:
    return invite(_store(request), body)


@router.post(
    "/nodes/join", status_code=201, tags=["registry"],
    summary="Join with an invitation token: registers the node, says whom to trust",
    responses=error_responses(400, 401, 403, 404, 409),
)  # fmt: skip
async def join_node(body: JoinRequest, request: Request, background: BackgroundTasks) -> Any:
    node = _with_audience(request, redeem(_store(request), body))
    background.add_task(sync_in_background, request, [node.name])
    broker = getattr(request.app.state, "broker", None)
    settings = request.app.state.settings
    return {
        "node": node.model_dump(mode="json"),
        "hub_url": settings.base_url,
        # what the node must trust: the hub's passports (issuer, keys, revocations)
        "issuer": broker.issuer if broker is not None else None,
        # served by this hub, at the address the node just reached it on
        "jwks_url": f"{settings.base_url.rstrip('/')}/.well-known/jwks.json" if broker else None,
        "revocations_url": f"{settings.base_url.rstrip('/')}/ga4gh/revocations" if broker else None,
    }


@router.post(
    "/catalogue/announce", status_code=202, tags=["catalogue"],
    summary="A node announces a new or changed dataset (signed with its key): re-sync it",
    responses=error_responses(400, 401, 404),
)  # fmt: skip
async def announce(body: dict[str, Any], request: Request, background: BackgroundTasks) -> Any:
    """The node signs `{"datasets": [...]}` with its registered Ed25519 key (iss = its name,
    aud = "hub"); the hub then re-syncs that node's catalogue entries, no admin needed."""
    from genomesh.hub.signing import NonceCache, load_public_key, verify_message

    payload = body.get("payload") if isinstance(body, dict) else None
    name = payload.get("iss") if isinstance(payload, dict) else None
    if not isinstance(name, str):
        raise InvalidInputError("expected a signed message from a node", field="payload.iss")
    node = _store(request).node(name)
    if not node.public_key:
        raise InvalidInputError(f"node {name!r} has no registered key to sign with", field="iss")
    state = request.app.state
    skew = state.settings.dialout_max_skew_seconds
    if getattr(state, "announce_nonces", None) is None:
        state.announce_nonces = NonceCache(skew)
    verify_message(
        body, load_public_key(node.public_key), iss=name, aud="hub",
        nonces=state.announce_nonces, max_skew=skew,
    )  # fmt: skip
    background.add_task(_sync_after_relist, request, name)
    return {"node": name, "sync": "scheduled"}


ANNOUNCE_DELAY_SECONDS = 2.5  # a serving node re-lists its datasets every 2 s


async def _sync_after_relist(request: Request, name: str) -> None:
    await asyncio.sleep(ANNOUNCE_DELAY_SECONDS)
    await sync_in_background(request, [name])


@router.get(
    "/catalogue",
    tags=["catalogue"],
    summary="Search the dataset catalogue",
    responses=error_responses(400),
)
async def catalogue(
    request: Request,
    q: str | None = Query(None, description="free text (name, description, node, labels)"),
    duo: str | None = Query(None, description="DUO term, e.g. DUO:0000042 (descendants match)"),
    disease: str | None = Query(None, description="disease term id or label text"),
    phenotype: str | None = Query(None, description="HPO term (descendants match) or label text"),
    country: str | None = Query(None, description="ISO country code of the node"),
    role: str | None = Query(None, description="cohort role: population, control or cases"),
) -> dict[str, Any]:
    unknown = sorted(set(request.query_params) - set(SEARCH_PARAMS))
    if unknown:
        raise InvalidInputError(
            f"unknown search parameter(s) {', '.join(unknown)}; "
            f"the catalogue takes {', '.join(SEARCH_PARAMS)}",
            field=unknown[0],
        )
    validate_search(duo=duo, phenotype=phenotype)
    validate_role(role)
    entries = search_catalogue(
        _store(request).catalogue(),
        q=q,
        duo=duo,
        disease=disease,
        phenotype=phenotype,
        country=country,
        role=role,
    )
    entries = enrich_catalogue(request.app.state, entries)  # register, community labels
    return {"count": len(entries), "datasets": entries}


@router.get(
    "/catalogue/{node}/{dataset_id}",
    tags=["catalogue"],
    summary="One catalogue entry",
    responses=error_responses(404),
)
async def catalogue_entry(node: str, dataset_id: str, request: Request) -> dict[str, Any]:
    for entry in _store(request).catalogue():
        if entry["node"] == node and entry["datasetId"] == dataset_id:
            return enrich_catalogue(request.app.state, [entry])[0]
    raise NotFoundError(f"no dataset {dataset_id!r} on node {node!r} in the catalogue")


@router.post(
    "/catalogue/sync",
    tags=["catalogue"],
    summary="Re-sync the catalogue now (admin)",
    responses=error_responses(400, 401, 403),
)
async def sync(
    request: Request,
    _admin: AdminOnly,
    node: list[str] | None = Query(None, description="only these nodes"),
) -> dict[str, Any]:
    return {"nodes": await sync_in_background(request, node)}


__all__ = ["router"]
