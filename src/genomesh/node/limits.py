"""The node's request size limit: genomesh.core.body_limit.BodySizeLimit on every route, with
`settings.max_request_bytes` and Beacon error bodies. A body over the limit gets 413 before
any handler runs, whether the client declared its length or streamed it.

`POST /analysis/rounds` has its own bound, `settings.max_analysis_round_bytes` (64 MB by
default): a GWAS round whose datasets do not share one site list carries the union of their
variant keys (~40 bytes a variant, so 1 MB at ~25,000 variants). The bound is by path: the
body is read (up to that bound) before the route verifies the hub's signature, and a round
without a valid hub signature is refused before anything in it is used."""

from __future__ import annotations

from typing import Any

from genomesh.beacon.responses import error_body
from genomesh.core import body_limit
from genomesh.core.errors import RequestTooLargeError
from genomesh.core.settings import NodeSettings

ROUNDS_PATH = "/analysis/rounds"


class BodySizeLimit(body_limit.BodySizeLimit):
    """Reject request bodies larger than the node's `max_request_bytes` (413, Beacon body)."""

    def __init__(self, app: body_limit.ASGIApp, *, settings: NodeSettings) -> None:
        def render(exc: RequestTooLargeError) -> dict[str, Any]:
            return error_body(settings, exc.http_status, exc.describe())

        super().__init__(
            app,
            limit=settings.max_request_bytes,
            render=render,
            server="this node",
            # analysis rounds may carry a GWAS variant list: their own, larger bound
            larger={
                ROUNDS_PATH: max(settings.max_analysis_round_bytes, settings.max_request_bytes)
            },
        )
        self.settings = settings


__all__ = ["BodySizeLimit"]
