"""Matchmaker Exchange API v1.1 at a node: `POST /match`, `GET /heartbeat`, `GET /metrics`.

Strict in what it sends (`Content-Type: application/vnd.ga4gh.matchmaker.v1.1+json`),
lenient in what it accepts (any v1.x matchmaker type, or plain `application/json`). Every
error is the spec's JSON body with a human-readable `message`:

    400 body is not JSON            401 X-Auth-Token missing or unknown
    405 GET /match                  406 unsupported API version (major version not 1)
    415 missing/other content type  422 JSON that is not a valid MME request (field named)

Peers authenticate with `X-Auth-Token` (one token per peer, stored hashed; `genomesh node
match-peer add`). The node app sets `app.state.matchmaker` (a `Matchmaker`).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from genomesh.core.errors import AuthenticationError, GenomeshError
from genomesh.matchmaker.service import Matchmaker
from genomesh.matchmaker.wire import (
    ACCEPTED_TYPES,
    ERROR_STATUSES,
    MME_VERSION,
    SUPPORTED_VERSIONS,
    MatchmakerError,
    check_accept,
    check_content_type,
    error_response,
    mme_response,
)

router = APIRouter(tags=["matchmaker"])
_ERRORS = ERROR_STATUSES


def _matchmaker(request: Request) -> Matchmaker:
    return request.app.state.matchmaker  # type: ignore[no-any-return]


def _peer(request: Request) -> str:
    token = request.headers.get("x-auth-token", "").strip()
    if not token:
        raise MatchmakerError(401, "X-Auth-Token header required (one token per peer)")
    peer = _matchmaker(request).registry.peer_for_token(token)
    if peer is None:
        raise MatchmakerError(401, "unknown X-Auth-Token")
    return peer


async def _handle(request: Request, work: Any) -> JSONResponse:
    try:
        return await work()
    except MatchmakerError as exc:
        return error_response(exc.status, exc.message, **exc.extra)
    except AuthenticationError as exc:
        return error_response(401, exc.describe())
    except GenomeshError as exc:
        return error_response(exc.http_status, exc.describe())


@router.post(
    "/match",
    summary="Matchmaker Exchange v1.1 match request",
    responses={**_ERRORS, 405: {"description": "method not allowed"}},
)
async def match(request: Request) -> JSONResponse:
    async def work() -> JSONResponse:
        peer = _peer(request)
        check_content_type(request.headers)
        check_accept(request.headers)
        raw = await request.body()
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MatchmakerError(400, f"request body is not JSON: {exc}") from None
        client = request.client.host if request.client else None
        from starlette.concurrency import run_in_threadpool

        response, _ = await run_in_threadpool(
            _matchmaker(request).match, body, peer=peer, client_address=client
        )
        return mme_response(response)

    return await _handle(request, work)


@router.get("/match", include_in_schema=False)
async def match_get() -> JSONResponse:
    return JSONResponse(
        {"message": "method not allowed: send a POST to /match"},
        status_code=405,
        headers={"Allow": "POST"},
    )


@router.get("/heartbeat", summary="Matchmaker Exchange heartbeat", responses=_ERRORS)
async def heartbeat(request: Request) -> JSONResponse:
    async def work() -> JSONResponse:
        _peer(request)
        from importlib.metadata import PackageNotFoundError, version

        try:
            software = version("genomesh")
        except PackageNotFoundError:  # pragma: no cover
            software = "0.0.0"
        body = {
            "heartbeat": {
                "production": bool(getattr(request.app.state.settings, "mme_production", True)),
                "version": software,
                "accept": list(ACCEPTED_TYPES),
            },
            "_mmeVersion": MME_VERSION,
        }
        return mme_response(body)

    return await _handle(request, work)


@router.get("/metrics", summary="Matchmaker Exchange metrics", responses=_ERRORS)
async def metrics(request: Request) -> JSONResponse:
    async def work() -> JSONResponse:
        _peer(request)
        return mme_response(_matchmaker(request).metrics())

    return await _handle(request, work)


__all__ = ["SUPPORTED_VERSIONS", "router"]
