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
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from genomesh.core.errors import AuthenticationError, GenomeshError
from genomesh.matchmaker.service import ACCEPTED_TYPES, MME_VERSION, RESPONSE_TYPE, Matchmaker

router = APIRouter(tags=["matchmaker"])
_MME_TYPE = re.compile(r"^application/vnd\.ga4gh\.matchmaker\.v(\d+)\.(\d+)\+json$")
SUPPORTED_VERSIONS = ["1.0", "1.1"]
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "body is not JSON"},
    401: {"description": "X-Auth-Token missing or unknown"},
    406: {"description": "unsupported API version"},
    415: {"description": "missing or unsupported content type"},
    422: {"description": "not a valid MME request (the field is named)"},
    429: {"description": "this peer's query budget is spent"},
}


class MatchmakerError(Exception):
    """An MME error response (status, message, extra body fields)."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


def mme_response(body: dict[str, Any], status: int = 200, **headers: str) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=RESPONSE_TYPE, headers=headers)


def error_response(status: int, message: str, **extra: Any) -> JSONResponse:
    headers = {"Content-Type": RESPONSE_TYPE}
    if status == 401:
        headers["WWW-Authenticate"] = "X-Auth-Token"
    return JSONResponse({"message": message, **extra}, status_code=status, headers=headers)


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


def _check_content_type(request: Request) -> None:
    raw = request.headers.get("content-type", "")
    media = raw.split(";")[0].strip().lower()
    if not media:
        raise MatchmakerError(
            415, f"Content-Type required: {RESPONSE_TYPE}", supportedVersions=SUPPORTED_VERSIONS
        )
    found = _MME_TYPE.match(media)
    if found:
        if found.group(1) != "1":
            raise MatchmakerError(
                406, "unsupported API version", supportedVersions=SUPPORTED_VERSIONS
            )
        return
    if media != "application/json":
        raise MatchmakerError(
            415,
            f"unsupported Content-Type {media!r}: send {RESPONSE_TYPE}",
            supportedVersions=SUPPORTED_VERSIONS,
        )


def _check_accept(request: Request) -> None:
    """406 when the caller accepts only matchmaker types of another major version."""
    accept = request.headers.get("accept", "")
    types = [t.split(";")[0].strip().lower() for t in accept.split(",") if t.strip()]
    if not types or any(not t.startswith("application/vnd.ga4gh.matchmaker.") for t in types):
        return
    if not any((m := _MME_TYPE.match(t)) and m.group(1) == "1" for t in types):
        raise MatchmakerError(406, "unsupported API version", supportedVersions=SUPPORTED_VERSIONS)


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
        _check_content_type(request)
        _check_accept(request)
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
