"""The hub's OpenAPI document, made to say what the hub really answers (QA issue 12 part 6).

Routes declare their own error statuses (`responses=error_responses(...)`, the Beacon error
body); `genomesh.core.api_errors.document_errors` adds what holds for every operation: request
validation errors are answered with **400** (the hub's handler, never FastAPI's 422), and
every operation with a body can answer **413**. Routers mounted whole (the committee) get
their statuses at inclusion (`ROUTER_ERRORS`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from genomesh.core.api_errors import document_errors, error_responses

# the statuses the committee's routes answer besides their success (authentication, roles,
# unknown application, state conflicts, the login throttle), listed on each of them
ROUTER_ERRORS: dict[str, dict[int | str, dict[str, Any]]] = {
    "genomesh.hub.dac.routes": error_responses(400, 401, 403, 404, 409, 429),
    "genomesh.hub.broker": {},
}


def document(app: FastAPI) -> dict[str, Any]:
    """The hub's OpenAPI document (built once, then cached on the app like FastAPI's own)."""
    if app.openapi_schema is None:
        spec = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        app.openapi_schema = document_errors(spec, validation_status=400)
    return app.openapi_schema


def install(app: FastAPI) -> None:
    """Serve `document(app)` as the app's /openapi.json."""
    app.openapi = lambda: document(app)  # type: ignore[method-assign]


__all__ = ["ROUTER_ERRORS", "document", "install"]
