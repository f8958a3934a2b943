"""The node's request size limit: genomesh.core.body_limit.BodySizeLimit on every route, with
`settings.max_request_bytes` and Beacon error bodies. A body over the limit gets 413 before
any handler runs, whether the client declared its length or streamed it."""

from __future__ import annotations

from typing import Any

from genomesh.beacon.responses import error_body
from genomesh.core import body_limit
from genomesh.core.errors import RequestTooLargeError
from genomesh.core.settings import NodeSettings


class BodySizeLimit(body_limit.BodySizeLimit):
    """Reject request bodies larger than the node's `max_request_bytes` (413, Beacon body)."""

    def __init__(self, app: body_limit.ASGIApp, *, settings: NodeSettings) -> None:
        def render(exc: RequestTooLargeError) -> dict[str, Any]:
            return error_body(settings, exc.http_status, exc.describe())

        super().__init__(app, limit=settings.max_request_bytes, render=render, server="this node")
        self.settings = settings


__all__ = ["BodySizeLimit"]
