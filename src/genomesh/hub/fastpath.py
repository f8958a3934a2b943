"""The Beacon network routes served without FastAPI's per-request machinery.

Profiled under load (QA issue 12 part 5), FastAPI's routing and request handling cost the
hub more CPU per network query than the fan-out itself: route matching through included
routers, dependency solving for handlers that declare no dependencies, several scope copies.
The network handlers read the raw query string and body themselves
(`genomesh.hub.beacon_routes`), so none of that does anything for them.

`NetworkFastPath` is an ASGI middleware just outside FastAPI's exception middleware (inside
the body limit and every other middleware, so those apply unchanged). For a GET or POST whose
path matches one of the network routes — matched with those routes' own compiled patterns,
in their order, and only when FastAPI would pick that route too — it calls the route's handler
with a Starlette `Request` and the path parameters, and sends its response. An exception the
app has a handler for (`GenomeshError` ...) is answered by that handler, as FastAPI's exception
middleware would (same status, body and headers); anything else propagates to the
server-error middleware, as it did. Every other request goes to FastAPI.
The routes stay registered with FastAPI for the OpenAPI document and for HEAD.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Handler = Callable[..., Awaitable[Response]]


class _Route:
    """One route of the network router: its pattern, methods, converters and handler
    (`endpoint` None: a route not served here, whose paths go to FastAPI)."""

    __slots__ = ("convertors", "endpoint", "methods", "regex")

    def __init__(self, route: APIRoute, served: bool) -> None:
        self.regex = route.path_regex
        self.methods = frozenset(route.methods or ())
        self.convertors = route.param_convertors
        self.endpoint: Handler | None = route.endpoint if served else None


class NetworkFastPath:
    """ASGI middleware: the Beacon network routes straight to their handlers."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        hub: FastAPI,
        router: APIRouter,
        fast: Callable[[Any], bool],
    ) -> None:
        """`router`: the network routes, included in `hub` at its root; `fast(endpoint)`:
        whether a route's handler is served here (it must return a Response). Built when
        FastAPI builds its middleware stack, i.e. after every route is added."""
        self.app = app
        self.hub = hub
        self.routes = [
            _Route(route, fast(route.endpoint))
            for route in router.routes
            if isinstance(route, APIRoute)
        ]
        # the app's routes matched before the network router: a path any of them could
        # match is left to FastAPI (none of them can be a network path today)
        self.before: list[re.Pattern[str]] | None = []
        for route in hub.router.routes:
            if getattr(route, "original_router", None) is router:
                break
            regex = getattr(route, "path_regex", None)
            if not isinstance(regex, re.Pattern):
                self.before = None  # a route matched otherwise than by path: no fast path
                break
            self.before.append(regex)
        else:
            self.before = None  # the router is not included at the root: no fast path

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, Any]] | None:
        """The handler and path parameters FastAPI would pick, if it is a fast one."""
        if self.before is None or any(regex.match(path) for regex in self.before):
            return None
        for route in self.routes:
            found = route.regex.match(path)
            if found is None:
                continue
            if method not in route.methods:
                continue  # as Starlette: a later route may take this method (else 405)
            if route.endpoint is None:
                return None  # another handler of this app: FastAPI's
            params = found.groupdict()
            for key, value in params.items():
                params[key] = route.convertors[key].convert(value)
            return route.endpoint, params
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "POST"):
            found = self.match(scope["method"], get_route_path(scope))
            if found is not None:
                handler, params = found
                request = Request(scope, receive)
                try:
                    response = await handler(request, **params)
                except Exception as exc:  # the app's handler for it, as FastAPI's routes have
                    respond = self._handler_of(exc)
                    if respond is None:
                        raise  # to the server-error middleware (the app's 500), as before
                    response = await respond(request, exc)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _handler_of(
        self, exc: Exception
    ) -> Callable[[Request, Exception], Awaitable[Response]] | None:
        """The app's exception handler for `exc`, looked up as Starlette's exception
        middleware does (by class); None for what only the server-error middleware handles."""
        handlers = self.hub.exception_handlers
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None  # the 500 handler belongs to ServerErrorMiddleware
            if cls in handlers:
                return handlers[cls]  # type: ignore[no-any-return,return-value]
        return None


__all__ = ["NetworkFastPath"]
