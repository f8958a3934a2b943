"""One request body limit for every route of an ASGI app (hub and node alike).

`BodySizeLimit` wraps the whole app, so no route (login, registration, a Beacon query, a
dial-out answer) can be handed a body larger than the limit. It refuses

* at once, from the `Content-Length` header, before a byte of the body is read; and
* while streaming (chunked bodies, or a client that sends more than it declared): the
  receive channel stops the moment the running total passes the limit, so a body is never
  read, let alone parsed, in full.

Either way the answer is 413 with a JSON error body rendered by the app's own error format
(`render`, from a RequestTooLargeError), never the handler's reaction to a cut-off body
(FastAPI would call that a 400 "error parsing the body"). Selected path prefixes may get a
larger limit (`larger`), e.g. the hub's signed dial-out answers from nodes.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from genomesh.core.errors import RequestTooLargeError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Render = Callable[[RequestTooLargeError], dict[str, Any]]


class _TooLarge(Exception):
    """Raised inside the app's receive channel to stop it reading further."""


def _default_render(exc: RequestTooLargeError) -> dict[str, Any]:
    return exc.to_dict()


class BodySizeLimit:
    """ASGI middleware: refuse request bodies over `limit` bytes with 413 before parsing."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        render: Render | None = None,
        larger: Mapping[str, int] | None = None,
        server: str = "this server",
        setting: str = "max_request_bytes",
    ) -> None:
        if limit < 1:
            raise ValueError("a body limit must be at least 1 byte")
        self.app = app
        self.limit = limit
        self.render = render or _default_render
        self.larger = dict(larger or {})
        self.server = server
        self.setting = setting

    def limit_for(self, path: str) -> int:
        """The limit for a request path (the longest matching prefix in `larger`, else `limit`)."""
        matches = [p for p in self.larger if path.startswith(p)]
        return self.larger[max(matches, key=len)] if matches else self.limit

    def error(self, limit: int, declared: int | None) -> RequestTooLargeError:
        size = f"{declared} bytes" if declared is not None else "more than that"
        return RequestTooLargeError(
            f"request body is {size}; {self.server} accepts at most {limit} bytes ({self.setting})",
            field="body",
            details={"limit": limit},
        )

    async def _reject(self, send: Send, exc: RequestTooLargeError) -> None:
        data = json.dumps(self.render(exc)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": exc.http_status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(data)).encode()),
                    (b"connection", b"close"),  # the rest of the body is never read
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0  # h11/httptools refuse a bad length before we get here
                if declared > limit:
                    await self._reject(send, self.error(limit, declared))
                    return
        seen = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal seen, exceeded
            if exceeded:
                raise _TooLarge
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:  # whatever the app says about the cut-off body is replaced by 413
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _TooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._reject(send, self.error(limit, None))


__all__ = ["BodySizeLimit"]
