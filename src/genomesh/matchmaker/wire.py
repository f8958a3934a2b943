"""The Matchmaker Exchange v1.1 wire: media types, content negotiation and error bodies.

Shared by every /match genomesh serves (a node's, and the hub's matchmaker of matchmakers)
and by the clients that call other matchmakers. Strict in what it sends
(`application/vnd.ga4gh.matchmaker.v1.1+json`), lenient in what it accepts (any v1.x
matchmaker type, or plain `application/json`). Errors are the spec's JSON body with a
human-readable `message`; a 406 or 415 also lists `supportedVersions`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse

MME_VERSION = "1.1"
ACCEPTED_TYPES = (
    "application/vnd.ga4gh.matchmaker.v1.0+json",
    "application/vnd.ga4gh.matchmaker.v1.1+json",
)
RESPONSE_TYPE = "application/vnd.ga4gh.matchmaker.v1.1+json"
SUPPORTED_VERSIONS = ["1.0", "1.1"]
_MME_TYPE = re.compile(r"^application/vnd\.ga4gh\.matchmaker\.v(\d+)\.(\d+)\+json$")
ERROR_STATUSES: dict[int | str, dict[str, Any]] = {
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
    """A JSON response with the MME v1.1 media type."""
    return JSONResponse(body, status_code=status, media_type=RESPONSE_TYPE, headers=headers)


def error_response(status: int, message: str, **extra: Any) -> JSONResponse:
    """The spec's error body `{"message": ...}` with its status."""
    headers = {"Content-Type": RESPONSE_TYPE}
    if status == 401:
        headers["WWW-Authenticate"] = "X-Auth-Token"
    return JSONResponse({"message": message, **extra}, status_code=status, headers=headers)


def check_content_type(headers: Mapping[str, str]) -> None:
    """415 without a content type or with a non-JSON one; 406 for another major version."""
    raw = headers.get("content-type", "")
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


def check_accept(headers: Mapping[str, str]) -> None:
    """406 when the caller accepts only matchmaker types of another major version."""
    accept = headers.get("accept", "")
    types = [t.split(";")[0].strip().lower() for t in accept.split(",") if t.strip()]
    if not types or any(not t.startswith("application/vnd.ga4gh.matchmaker.") for t in types):
        return
    if not any((m := _MME_TYPE.match(t)) and m.group(1) == "1" for t in types):
        raise MatchmakerError(406, "unsupported API version", supportedVersions=SUPPORTED_VERSIONS)


def is_mme_type(content_type: str) -> bool:
    """True for a v1.x matchmaker media type or plain JSON (what genomesh accepts back)."""
    media = content_type.split(";")[0].strip().lower()
    found = _MME_TYPE.match(media)
    return media == "application/json" or (found is not None and found.group(1) == "1")


__all__ = [
    "ACCEPTED_TYPES",
    "ERROR_STATUSES",
    "MME_VERSION",
    "RESPONSE_TYPE",
    "SUPPORTED_VERSIONS",
    "MatchmakerError",
    "check_accept",
    "check_content_type",
    "error_response",
    "is_mme_type",
    "mme_response",
]
