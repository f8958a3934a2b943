"""Error handling for the node app: every failure becomes a Beacon error body, never a trace.

* `GenomeshError` -> its `http_status` (400 bad input, 401 bad passport, 403, 404, 413, 429 ...);
* FastAPI/pydantic request validation -> 422;
* Starlette HTTP errors (unknown path 404, wrong method 405) -> their status;
* anything else -> 500 with a generic message (the traceback goes to the server log only).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from genomesh.beacon.responses import error_body
from genomesh.core.errors import GenomeshError
from genomesh.core.request_errors import json_error_of

log = logging.getLogger("genomesh.node")


def _settings(request: Request) -> Any:
    return request.app.state.settings


def beacon_error(
    request: Request, status: int, message: str, details: dict[str, Any] | None = None
) -> JSONResponse:
    """A Beacon error response (echoing the parsed request when there is one)."""
    req = getattr(request.state, "beacon_request", None)
    headers = {"WWW-Authenticate": 'Bearer realm="genomesh"'} if status == 401 else None
    return JSONResponse(
        error_body(_settings(request), status, message, req=req, details=details),
        status_code=status,
        headers=headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    @app.exception_handler(GenomeshError)
    async def _genomesh(request: Request, exc: GenomeshError) -> JSONResponse:
        if exc.http_status >= 500:
            log.error("node error: %s", exc.describe())
        details = {
            k: v for k, v in exc.to_dict().items() if k in ("field", "file", "line", "details")
        }
        return beacon_error(request, exc.http_status, exc.describe(), details or None)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        not_json = json_error_of(exc.errors())  # the same 400 and words as the hub
        if not_json is not None:
            return beacon_error(request, 400, not_json.describe(), {"field": "body"})
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
            for e in exc.errors()
        ]
        return beacon_error(request, 422, "invalid request: " + "; ".join(problems[:5]))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "HTTP error"
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.url.path}"
        return beacon_error(request, exc.status_code, message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error answering %s", request.url.path)
        return beacon_error(
            request, 500, "internal error; the node operator can find details in the server log"
        )


__all__ = ["beacon_error", "install_error_handlers"]
