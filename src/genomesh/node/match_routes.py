"""The node's matchmaker as the hub reaches it: `POST /match/hub`, one hub-signed MME request.

The hub (a matchmaker of matchmakers, `genomesh.hub.matchmaker`) relays a /match it
received to every node through its signed node exchange rather than with an `X-Auth-Token`:
push nodes get the signed message over HTTP, dial-out nodes through their dial-out client,
which runs it against this app, so both take one code path. Body::

    {"payload": {"type": "mme-match", "request": {MME request}, "requester": "<peer>",
                 "iss": "hub", "aud": "<this node>", "iat": ..., "nonce": ...},
     "sig": base64url(Ed25519(canonical JSON of payload))}

The signature (checked with the key the analysis rounds use, `hub_key` or the dial-out
pin) says the hub sent it. The custodian opts in by registering the peer `hub` (`genomesh
match peer-add NODE hub`; the token printed then is not needed): without it the node
answers 403, and removing the peer stops hub matches at once. Matching is then the node's
own (`Matchmaker.match`): one gate run on surface `matchmaker`, the hub as the peer, the
requesting peer audited as `on_behalf_of`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from genomesh.core.api_errors import error_responses
from genomesh.core.errors import AccessDeniedError, InvalidInputError
from genomesh.matchmaker.wire import mme_response
from genomesh.node.analysis_routes import _verifier

MATCH_MESSAGE = "mme-match"
HUB_PEER = "hub"

router = APIRouter(tags=["matchmaker"])


class SignedMatch(BaseModel):
    """A hub-signed MME match request."""

    payload: dict[str, Any]
    sig: str


@router.post(
    "/match/hub",
    summary="Matchmaker Exchange request relayed by the hub (signed by the hub)",
    responses=error_responses(400, 401, 403, 422, 429),
)
async def hub_match(message: SignedMatch, request: Request) -> JSONResponse:
    payload = _verifier(request).verify(message.model_dump())
    if payload.get("type") != MATCH_MESSAGE:
        raise InvalidInputError(f"expected an {MATCH_MESSAGE!r} message", field="type")
    matchmaker = request.app.state.matchmaker
    if HUB_PEER not in matchmaker.registry.peers():
        raise AccessDeniedError(
            "this node takes no matches from the hub: its custodian has not added the peer "
            f"{HUB_PEER!r} (genomesh match peer-add NODE {HUB_PEER})"
        )
    requester = payload.get("requester")
    response, _ = await run_in_threadpool(
        matchmaker.match,
        payload.get("request"),
        peer=HUB_PEER,
        client_address=request.client.host if request.client else None,
        on_behalf_of=str(requester) if requester else None,
    )
    return mme_response(response)


__all__ = ["MATCH_MESSAGE", "router"]
