"""A lean HTTP/1.1 client for the hub's exchanges with push nodes.

Why not httpx here: profiled under 16 concurrent clients, httpx/httpcore took about two thirds
of the hub's CPU (request building, URL parsing, and the pool's per-request scan of every
pooled connection with a readability check), about 1 ms per node exchange: more than a node
needs to answer (QA issue 12 part 5). The hub's exchanges are narrow — GET or POST of JSON to
a known node, JSON back — so this client does only that:

* per node (scheme, host, port), a stack of idle keep-alive connections (an asyncio
  Protocol each, not streams: no future per read; TLS with certificate verification for https);
* the request written as bytes in one call; the response parsed by `httptools` (the C parser
  uvicorn uses) as it arrives, in the protocol's callback: Content-Length, chunked, or
  read-until-close bodies;
* a reused connection the node had closed (keep-alive expiry) is retried once on a new one,
  when nothing of the answer had arrived;
* a connection is kept only after a complete answer the node allows to keep alive, so a
  cancelled (timed-out) exchange never leaves a half-read connection in the stack.

Time limits are the caller's (`NodeClient.send` wraps each exchange in `asyncio.wait_for`).
Proxies are not supported: `NodeClient` uses httpx when proxy variables are set.
"""

from __future__ import annotations

import asyncio
import functools
import os
import ssl
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httptools
import orjson

MAX_IDLE = 64  # idle connections kept per node
_SAFE_TARGET = frozenset("".join(chr(c) for c in range(0x21, 0x7F)))


class ExchangeError(Exception):
    """The node could not be reached, or its answer was not valid HTTP."""


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int
    prefix: str  # the base URL's path, without a trailing '/'

    @classmethod
    def parse(cls, base_url: str) -> Origin:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ExchangeError(f"not an http(s) base URL: {base_url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return cls(parts.scheme, parts.hostname, port, parts.path.rstrip("/"))

    @property
    def key(self) -> tuple[str, str, int]:
        """What connections are pooled by (base URLs under one host share them)."""
        return (self.scheme, self.host, self.port)

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


@dataclass
class _Answer:
    """httptools callbacks: collects one response."""

    parser: Any = None
    body: bytearray = field(default_factory=bytearray)
    headers_done: bool = False
    complete: bool = False
    length_known: bool = False
    keep_alive: bool = False  # read at completion: httptools forgets it after the message

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() in (b"content-length", b"transfer-encoding"):
            self.length_known = True

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, data: bytes) -> None:
        self.body += data

    def on_message_complete(self) -> None:
        self.complete = True
        self.keep_alive = bool(self.parser.should_keep_alive())


class _Connection(asyncio.Protocol):
    """One keep-alive connection to a node: at most one exchange at a time, its answer
    parsed as the bytes arrive; `waiter` gives (status, body) when the answer is complete."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.answer: _Answer | None = None
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.reused = False
        self.received = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def usable(self) -> bool:
        return not self.closed and self.transport is not None and not self.transport.is_closing()

    def start(self, data: bytes, *, reused: bool) -> asyncio.Future[tuple[int, bytes]]:
        """Send one request; the future gives (status, body) of its answer."""
        assert self.transport is not None
        answer = self.answer = _Answer()
        answer.parser = httptools.HttpResponseParser(answer)
        self.reused, self.received = reused, False
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self.waiter

    def keep(self) -> bool:
        """After an exchange: whether this connection may carry the next one."""
        answer = self.answer
        return answer is not None and answer.complete and answer.keep_alive and self.usable()

    def _resolve(self, waiter: asyncio.Future[tuple[int, bytes]], answer: _Answer) -> None:
        waiter.set_result((answer.parser.get_status_code(), bytes(answer.body)))

    def data_received(self, data: bytes) -> None:
        answer, waiter = self.answer, self.waiter
        if answer is None or waiter is None or waiter.done():
            self.close()  # bytes nobody asked for: this connection cannot be trusted
            return
        self.received = True
        try:
            answer.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            waiter.set_exception(ExchangeError(f"invalid HTTP answer: {exc}"))
            return
        if answer.complete:
            self._resolve(waiter, answer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        answer, waiter = self.answer, self.waiter
        if answer is None or waiter is None or waiter.done():
            return
        if answer.headers_done and not answer.length_known:
            self._resolve(waiter, answer)  # body delimited by the end of the connection
        elif exc is None:
            waiter.set_exception(
                StaleConnection()
                if self.reused and not self.received
                else ExchangeError("the node closed the connection mid-answer")
            )
        elif self.reused and not answer.headers_done:
            waiter.set_exception(StaleConnection())
        else:
            waiter.set_exception(ExchangeError(f"{type(exc).__name__}: {exc}"))

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class StaleConnection(ExchangeError):
    """A reused connection ended before any byte of the answer (the node had closed it while
    idle): the request can be sent again on a new connection."""


@functools.lru_cache(maxsize=4096)
def _target(path: str, params: tuple[tuple[str, str], ...]) -> str:
    """The request target, checked: the same for every node of one fan-out (and for repeated
    queries), so encoded and checked once, not once per node exchange."""
    target = path + ("?" + urlencode(params, quote_via=quote) if params else "")
    if not target.startswith("/") or not set(target) <= _SAFE_TARGET:
        raise ExchangeError(f"refusing to send a request target with unsafe characters: {target!r}")
    return target


class Http11Client:
    """Keep-alive HTTP/1.1 exchanges of JSON with push nodes."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._idle: dict[tuple[str, str, int], deque[_Connection]] = {}
        self._origins: dict[str, Origin] = {}
        self._ssl = ssl_context

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            cafile = os.environ.get("SSL_CERT_FILE")
            if cafile is None:
                import certifi  # httpx's CA bundle, so https nodes verify as they did

                cafile = certifi.where()
            self._ssl = ssl.create_default_context(cafile=cafile)
        return self._ssl

    def origin(self, base_url: str) -> Origin:
        origin = self._origins.get(base_url)
        if origin is None:
            origin = self._origins[base_url] = Origin.parse(base_url)
        return origin

    async def _connect(self, origin: Origin) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            if origin.scheme == "https":
                _, connection = await loop.create_connection(
                    _Connection,
                    origin.host,
                    origin.port,
                    ssl=self._ssl_context(),
                    server_hostname=origin.host,
                )
            else:
                _, connection = await loop.create_connection(_Connection, origin.host, origin.port)
        except (OSError, ssl.SSLError) as exc:
            raise ExchangeError(f"cannot connect to {origin.host}:{origin.port}: {exc}") from exc
        return connection

    def request_bytes(
        self,
        origin: Origin,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str]],
        headers: dict[str, str],
        body: bytes | None,
    ) -> bytes:
        """The request as sent; refuses a target or header that could split the request."""
        target = _target(origin.prefix + path, tuple((k, v) for k, v in params))
        lines = [f"{method} {target} HTTP/1.1", f"host: {origin.host_header}"]
        for name, value in headers.items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                raise ExchangeError(f"refusing to send header {name!r}: it holds a line break")
            lines.append(f"{name}: {value}")
        if body is not None:
            lines.append("content-type: application/json")
            lines.append(f"content-length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head + body if body else head

    async def request(
        self,
        base_url: str,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str]],
        headers: dict[str, str],
        body: bytes | None = None,
    ) -> tuple[int, bytes]:
        """Send one request to the node at `base_url`; (status, body bytes)."""
        origin = self.origin(base_url)
        data = self.request_bytes(origin, method, path, params=params, headers=headers, body=body)
        idle = self._idle.setdefault(origin.key, deque())
        while idle:
            connection = idle.pop()
            if not connection.usable():
                connection.close()
                continue
            try:
                return await self._exchange(origin, connection, data, reused=True)
            except StaleConnection:
                continue  # the node closed it while idle: try the next one, or a new one
        connection = await self._connect(origin)
        try:
            return await self._exchange(origin, connection, data, reused=False)
        except StaleConnection as exc:  # only raised for reused connections
            raise ExchangeError("connection closed before the answer") from exc

    async def _exchange(
        self, origin: Origin, connection: _Connection, data: bytes, *, reused: bool
    ) -> tuple[int, bytes]:
        keep = False
        try:
            answer = await connection.start(data, reused=reused)
            keep = connection.keep()
            return answer
        finally:
            self._put_back(origin, connection, keep)

    def begin(
        self,
        base_url: str,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str]],
        headers: dict[str, str],
        body: bytes | None = None,
    ) -> asyncio.Future[tuple[int, bytes]] | None:
        """Send one request on an idle keep-alive connection to the node, without a task (a
        fan-out's exchanges then cost no task and no coroutine each): the future gives
        (status, body), or fails with StaleConnection if the node had closed that connection
        (send it again with `request`). None when no idle connection is open: use `request`.
        Cancelling the future closes the connection."""
        origin = self.origin(base_url)
        data = self.request_bytes(origin, method, path, params=params, headers=headers, body=body)
        idle = self._idle.get(origin.key)
        while idle:
            connection = idle.pop()
            if not connection.usable():
                connection.close()
                continue
            future = connection.start(data, reused=True)
            future.add_done_callback(functools.partial(self._finished, origin, connection))
            return future
        return None

    def _finished(
        self, origin: Origin, connection: _Connection, future: asyncio.Future[tuple[int, bytes]]
    ) -> None:
        keep = not future.cancelled() and future.exception() is None and connection.keep()
        self._put_back(origin, connection, keep)

    def _put_back(self, origin: Origin, connection: _Connection, keep: bool) -> None:
        """Keep the connection for the next exchange, or close it."""
        connection.answer = connection.waiter = None
        idle = self._idle.setdefault(origin.key, deque())
        if keep and len(idle) < MAX_IDLE:
            idle.append(connection)
        else:
            connection.close()

    async def aclose(self) -> None:
        pools, self._idle = list(self._idle.values()), {}
        for idle in pools:
            while idle:
                idle.pop().close()
        await asyncio.sleep(0)  # let the transports finish closing


def loads(body: bytes) -> Any:
    """A node's JSON answer."""
    return orjson.loads(body)


def dumps(value: Any) -> bytes:
    """A JSON request body (keys that are not strings are written as strings, like json)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


__all__ = ["ExchangeError", "Http11Client", "Origin", "StaleConnection", "dumps", "loads"]
