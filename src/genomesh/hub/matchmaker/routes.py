"""The hub's Matchmaker Exchange API: `POST /match` over the network, peers, pairs, inbox.

    POST   /match                   MME v1.1 request from an inbound peer (X-Auth-Token)
    GET    /match/peers             the registered peers (hub admin)
    POST   /match/peers             add one: {name, baseUrl?, token?, inbound?, contact?}
    DELETE /match/peers/{name}      remove it (its token stops working at once)
    GET    /match/pairs             every matched pair recorded (hub admin)
    GET    /match/notifications     the caller's inbox: an inbound peer (X-Auth-Token) sees
                                    what came through it; a hub account (session bearer) what
                                    is addressed to its e-mail; the hub admin everything

`/match` speaks the MME wire as a node does (`genomesh.matchmaker.wire`): the same media
types and the spec's error statuses, each with a JSON `message`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from genomesh.core.api_errors import error_responses
from genomesh.core.errors import AuthenticationError, GenomeshError
from genomesh.hub.admin import AdminOnly, require_admin
from genomesh.hub.matchmaker.network import HubMatchmaker, parse_body
from genomesh.hub.matchmaker.store import MatchmakerStore
from genomesh.matchmaker.wire import (
    ERROR_STATUSES,
    MatchmakerError,
    check_accept,
    check_content_type,
    error_response,
    mme_response,
)

router = APIRouter(tags=["matchmaker"])


def matchmaker_store(app: Any) -> MatchmakerStore:
    """The hub's matchmaker store (created on first use, in the hub's database)."""
    store = getattr(app.state, "mme_store", None)
    if store is None:
        store = app.state.mme_store = MatchmakerStore(app.state.store.engine)
    return store


def hub_matchmaker(app: Any) -> HubMatchmaker:
    found = getattr(app.state, "hub_matchmaker", None)
    if found is None or found.client is not app.state.client:  # built per app start
        settings = app.state.settings
        found = app.state.hub_matchmaker = HubMatchmaker(
            matchmaker_store(app),
            client=app.state.client,
            key=app.state.dialout.key,
            nodes=app.state.store.nodes,
            hub_name=settings.name,
            timeout=settings.node_timeout_seconds,
        )
    return found


def _peer(request: Request) -> str:
    token = request.headers.get("x-auth-token", "").strip()
    if not token:
        raise MatchmakerError(401, "X-Auth-Token header required (one token per peer)")
    peer = matchmaker_store(request.app).peer_for_token(token)
    if peer is None:
        raise MatchmakerError(401, "unknown X-Auth-Token")
    return peer


@router.post(
    "/match",
    summary="Matchmaker Exchange v1.1 match over every node and external peer",
    responses={**ERROR_STATUSES, 405: {"description": "method not allowed"}},
)
async def match(request: Request) -> JSONResponse:
    try:
        peer = _peer(request)
        check_content_type(request.headers)
        check_accept(request.headers)
        try:
            body = parse_body(await request.body())
        except GenomeshError as exc:
            raise MatchmakerError(400, exc.message) from None
        return mme_response(await hub_matchmaker(request.app).match(body, requester=peer))
    except MatchmakerError as exc:
        return error_response(exc.status, exc.message, **exc.extra)
    except AuthenticationError as exc:
        return error_response(401, exc.describe())
    except GenomeshError as exc:
        return error_response(exc.http_status, exc.describe())


@router.get("/match", include_in_schema=False)
async def match_get() -> JSONResponse:
    return JSONResponse(
        {"message": "method not allowed: send a POST to /match"},
        status_code=405,
        headers={"Allow": "POST"},
    )


class PeerIn(BaseModel):
    """A matchmaker peer as the hub admin registers it."""

    name: str = Field(description="1-64 letters, digits, '.', '_' or '-'")
    baseUrl: str | None = Field(
        default=None, description="the peer's base URL, if the hub should call its /match"
    )
    token: str | None = Field(default=None, description="the X-Auth-Token the peer issued")
    inbound: bool = Field(default=True, description="issue a token so the peer can call the hub")
    contact: str = ""


@router.get(
    "/match/peers", summary="Matchmaker peers (hub admin)", responses=error_responses(401, 403)
)
def list_peers(request: Request, _: AdminOnly) -> dict[str, Any]:
    return {"peers": [p.to_dict() for p in matchmaker_store(request.app).peers()]}


@router.post(
    "/match/peers",
    status_code=201,
    summary="Add a matchmaker peer; an inbound peer's token is shown once (hub admin)",
    responses=error_responses(400, 401, 403, 409),
)
def add_peer(request: Request, peer: PeerIn, _: AdminOnly) -> dict[str, Any]:
    token = matchmaker_store(request.app).add_peer(
        peer.name, base_url=peer.baseUrl, token=peer.token, inbound=peer.inbound,
        contact=peer.contact,
    )  # fmt: skip
    return {"name": peer.name, "token": token}


@router.delete(
    "/match/peers/{name}",
    summary="Remove a matchmaker peer (hub admin)",
    responses=error_responses(401, 403, 404),
)
def remove_peer(request: Request, name: str, _: AdminOnly) -> dict[str, Any]:
    matchmaker_store(request.app).remove_peer(name)
    return {"removed": name}


@router.get(
    "/match/pairs",
    summary="Every matched pair the hub recorded (hub admin)",
    responses=error_responses(401, 403),
)
def pairs(request: Request, _: AdminOnly) -> dict[str, Any]:
    return {"pairs": matchmaker_store(request.app).matches()}


def _account_email(request: Request, token: str) -> str | None:
    try:
        from genomesh.hub.dac.routes import get_service
    except ImportError:
        return None
    try:
        service = get_service(request)
        return service.me(service.authenticate(token)).email or None
    except GenomeshError:
        return None


@router.get(
    "/match/notifications",
    summary="Match notifications for the caller (peer token, hub account, or hub admin)",
    responses=error_responses(401, 403),
)
def notifications(request: Request) -> dict[str, Any]:
    store = matchmaker_store(request.app)
    if request.headers.get("x-auth-token"):
        try:
            peer = _peer(request)
        except MatchmakerError as exc:
            raise AuthenticationError(exc.message) from None
        return {"notifications": store.notifications(via=f"peer:{peer}")}
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError(
            "send an MME peer's X-Auth-Token or a hub session (Authorization: Bearer ...)"
        )
    email = _account_email(request, token.strip())
    if email:
        return {"notifications": store.notifications(recipients=[f"mailto:{email.lower()}"])}
    require_admin(request)
    return {"notifications": store.notifications()}


__all__ = ["hub_matchmaker", "matchmaker_store", "router"]
