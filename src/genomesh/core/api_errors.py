"""The error body node and hub answer with, for their OpenAPI documents.

Every error of both apps is a Beacon v2 `beaconErrorResponse`: `meta` plus
`error: {errorCode, errorMessage}` (and, at a node, `info.details` naming the field or file).
`error_responses(400, 404, ...)` gives FastAPI's `responses=` for an operation and
`document_errors` applies what holds for every operation (validation status, 413), so each
operation's document lists the statuses it really serves (QA issue 12 part 6: node operations
listed only 200 and 422 but served 400, 401, 404, 413 and 429).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

# what each status means, as said in every document that lists it
STATUS_DESCRIPTIONS: dict[int, str] = {
    400: "Bad request: the error names the parameter, field or id at fault",
    401: "Missing, forged or expired credentials (passport or token)",
    403: "Valid identity, but not allowed (visa, data use, jurisdiction, role)",
    404: "No such endpoint, dataset, record, node or application",
    409: "Conflict with the current state (duplicate, or changed since it was read)",
    413: "Request body larger than this service accepts",
    422: "Request does not match the documented parameters or body",
    429: "Too many requests, or this caller's query budget is spent",
    502: "A node or remote service failed to answer properly",
}


class BeaconError(BaseModel):
    """`error` of a beaconErrorResponse."""

    model_config = ConfigDict(extra="allow")

    errorCode: int  # Beacon's field names
    errorMessage: str


class BeaconErrorResponse(BaseModel):
    """A Beacon v2 `beaconErrorResponse`, the body of every error of node and hub."""

    model_config = ConfigDict(extra="allow")

    meta: dict[str, Any]
    error: BeaconError


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """FastAPI `responses=` documenting `statuses` with the Beacon error body."""
    return {
        status: {"model": BeaconErrorResponse, "description": STATUS_DESCRIPTIONS[status]}
        for status in statuses
    }


ERROR_REF = "#/components/schemas/BeaconErrorResponse"


def _error(status: int) -> dict[str, Any]:
    return {
        "description": STATUS_DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
    }


def document_errors(spec: dict[str, Any], *, validation_status: int) -> dict[str, Any]:
    """Make a generated OpenAPI document say what an app answers on every operation:

    * request validation errors: FastAPI lists 422 with its own body; the app answers with
      `validation_status` (hub 400, node 422) and the Beacon error body;
    * every operation with a request body can answer 413 (the body size limit).

    Needs the BeaconErrorResponse component (present once any route lists `error_responses`).
    """
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    if "BeaconErrorResponse" not in schemas:
        raise ValueError("no route documents the Beacon error body (error_responses)")
    for path in spec.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            if responses.pop("422", None) is not None:
                responses[str(validation_status)] = _error(validation_status)
            if "requestBody" in operation:
                responses.setdefault("413", _error(413))
    for unused in ("HTTPValidationError", "ValidationError"):
        if f"/{unused}" not in str(spec.get("paths", {})):
            schemas.pop(unused, None)
    return spec


__all__ = [
    "ERROR_REF",
    "STATUS_DESCRIPTIONS",
    "BeaconError",
    "BeaconErrorResponse",
    "document_errors",
    "error_responses",
]
