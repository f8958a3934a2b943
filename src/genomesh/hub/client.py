"""Sending one request to one node, whichever way it is connected, within a time limit.

Push nodes are called over HTTP (httpx.AsyncClient; the transport is injectable for tests);
dial-out nodes through the `DialoutBroker`. Either way the caller gets a `NodeReply` with a
status of ok / refused / error / timeout and a reason, so a slow or dead node is a status,
never an exception, and never holds the caller longer than `timeout`.
"""

from __future__ import annotations

import asyncio
import functools
import time
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import httpx

from genomesh.access.caller import CALLER_HEADER
from genomesh.hub.breaker import PROBE_PATH
from genomesh.hub.http11 import ExchangeError, Http11Client, StaleConnection, dumps, loads
from genomesh.hub.registry import NodePublic

if TYPE_CHECKING:
    from genomesh.hub.breaker import CircuitBreaker
    from genomesh.hub.dialout import DialoutBroker

# "absent": the node answered an id lookup (`/datasets/{id}` ...) with 404, i.e. it does not
# hold that id - an answer, not a failure (set by the network merge, never by `classify`)
NodeStatus = Literal["ok", "refused", "error", "timeout", "absent"]


@dataclass(frozen=True)
class NodeRequest:
    """A Beacon request as the hub forwards it (same method, path, query and body)."""

    method: str
    path: str
    params: list[tuple[str, str]] = field(default_factory=list)
    body: Any = None
    authorization: str | None = None
    forwarded_for: str | None = None  # the researcher's address, as X-Forwarded-For
    caller: str | None = None  # the hub's signed caller assertion (genomesh.access.caller)

    def to_wire(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "params": [list(p) for p in self.params],
            "body": self.body,
            "authorization": self.authorization,
            "forwarded_for": self.forwarded_for,
            "caller": self.caller,
        }


@dataclass
class NodeReply:
    """What came back from one node, classified."""

    node: str
    status: NodeStatus
    http_status: int | None = None
    body: Any = None
    reason: str | None = None
    elapsed_ms: float = 0.0


class NodeUnavailableError(Exception):
    """The node cannot be reached at all (dial-out node not connected, no URL)."""


class NodeClient:
    """Reaches registered nodes over HTTP or through dial-out, with a hard time limit."""

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        broker: DialoutBroker | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.transport = transport
        self.broker = broker
        self.breaker = breaker  # per-node circuits: a hung node is answered for at once
        # Push nodes over real HTTP go through the lean keep-alive client: httpx cost about
        # 1 ms of hub CPU per exchange (QA issue 12 part 5). httpx stays for an injected
        # transport (in-process tests) and when proxy variables are set (http11 has no proxy).
        use_http11 = transport is None and not urllib.request.getproxies()
        self._http11 = Http11Client() if use_http11 else None
        # One connection pool per node: httpcore's pool scans all its connections for every
        # request, so one shared pool over many nodes costs more CPU the more nodes there are.
        self._pools: dict[str, httpx.AsyncClient] = {}

    def _pool(self, base_url: str) -> httpx.AsyncClient:
        pool = self._pools.get(base_url)
        if pool is None:
            pool = self._pools[base_url] = httpx.AsyncClient(
                transport=self.transport,
                limits=httpx.Limits(max_connections=200, max_keepalive_connections=20),
                follow_redirects=False,
            )
        return pool

    async def aclose(self) -> None:
        if self.breaker is not None:
            await self.breaker.aclose()
        if self._http11 is not None:
            await self._http11.aclose()
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()

    async def send(self, node: NodePublic, request: NodeRequest, *, timeout: float) -> NodeReply:
        """Send `request` to `node`; always returns within about `timeout` seconds, at once
        if the node's circuit is open (genomesh.hub.breaker)."""
        refusal = self.breaker.refusal(node) if self.breaker is not None else None
        if refusal is not None:
            return NodeReply(node.name, "error", reason=refusal)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):  # no extra task per exchange, as wait_for made
                status, body = await self._exchange(node, request, timeout)
        except Exception as exc:  # each kind a reply (_failed); anything else is raised again
            reply = self._failed(node, exc, timeout)
        else:
            reply = classify(node.name, status, body)
        return self._done(node, reply, started, timeout)

    async def send_all(
        self, jobs: list[tuple[NodePublic, NodeRequest]], *, timeout: float
    ) -> list[NodeReply]:
        """`send` to every (node, request) at once; every reply within about `timeout`.

        A push node with an idle keep-alive connection gets its request written at once and
        answered through that connection's callbacks, without a task, a coroutine or a time
        limit of its own (QA issue 12 part 5: those cost about as much as the exchange); the
        others (new connections, dial-out nodes, httpx) each run `_exchange` in a task."""
        http11 = self._http11
        if http11 is None:
            return list(await asyncio.gather(*(self.send(n, r, timeout=timeout) for n, r in jobs)))
        started = time.perf_counter()
        replies: list[NodeReply | None] = [None] * len(jobs)
        waiting: dict[asyncio.Future[Any], int] = {}
        for i, (node, request) in enumerate(jobs):
            refusal = self.breaker.refusal(node) if self.breaker is not None else None
            if refusal is not None:
                replies[i] = NodeReply(node.name, "error", reason=refusal)
                continue
            future: asyncio.Future[Any] | None = None
            if not node.dial_out and node.base_url:
                try:
                    future = http11.begin(
                        node.base_url, request.method, request.path, params=request.params,
                        headers=_headers(request), body=_body(request),
                    )  # fmt: skip
                except ExchangeError as exc:
                    replies[i] = self._done(
                        node, self._failed(node, exc, timeout), started, timeout
                    )
                    continue
            if future is None:
                future = asyncio.ensure_future(self._exchange(node, request, timeout))
            waiting[future] = i
        if waiting:
            slots = await self._wait_all(waiting, jobs, timeout)
            for i, (future, finished) in slots.items():
                node = jobs[i][0]
                if not future.done():
                    future.cancel()  # closes its connection (Http11Client.begin, _exchange)
                    reply = self._failed(node, TimeoutError(), timeout)
                elif future.cancelled():
                    reply = self._failed(node, TimeoutError(), timeout)
                elif future.exception() is not None:
                    reply = self._failed(node, future.exception(), timeout)  # type: ignore[arg-type]
                else:
                    status, body = future.result()
                    if isinstance(body, bytes):  # from an idle connection: not parsed yet
                        body = _parse(body)
                    reply = classify(node.name, status, body)
                replies[i] = self._done(node, reply, started, timeout, finished)
        return [r for r in replies if r is not None]

    async def _wait_all(
        self,
        waiting: dict[asyncio.Future[Any], int],
        jobs: list[tuple[NodePublic, NodeRequest]],
        timeout: float,
    ) -> dict[int, tuple[asyncio.Future[Any], float | None]]:
        """Wait until every exchange is done or `timeout` has passed (one time limit for all:
        they started together). A request that met a connection the node had closed while
        idle is sent again at once, on a new one. Returns, per job, its last future and when
        it finished (None: still running)."""
        loop = asyncio.get_running_loop()
        slots: dict[int, tuple[asyncio.Future[Any], float | None]] = {}
        all_done = loop.create_future()
        over = False  # the fan-out has been answered: no more retries

        def on_done(i: int, future: asyncio.Future[Any]) -> None:
            if over:
                return
            if _stale(future):  # the node had closed that idle connection: a new one
                node, request = jobs[i]
                retry = asyncio.ensure_future(self._exchange(node, request, timeout))
                slots[i] = (retry, None)
                retry.add_done_callback(functools.partial(on_done, i))
                return
            slots[i] = (future, time.perf_counter())
            if all(when is not None for _, when in slots.values()) and not all_done.done():
                all_done.set_result(None)

        for future, i in waiting.items():
            slots[i] = (future, None)
        for future, i in waiting.items():
            future.add_done_callback(functools.partial(on_done, i))
        try:
            async with asyncio.timeout(timeout):
                await all_done
        except TimeoutError:
            pass
        over = True
        return dict(slots)

    def _failed(self, node: NodePublic, exc: BaseException, timeout: float) -> NodeReply:
        """The reply for an exchange that raised `exc` (a timeout, an unreachable node ...);
        anything not listed here is raised: a bug, not a node's state."""
        if isinstance(exc, (TimeoutError, httpx.TimeoutException)):
            return NodeReply(node.name, "timeout", reason=f"no answer within {timeout:g} s")
        if isinstance(exc, httpx.ConnectError):  # words, not `ConnectError: All connection...`
            return NodeReply(node.name, "error", reason=f"node not reachable at {node.base_url}")
        if isinstance(exc, ExchangeError):
            reason = (
                f"node not reachable at {node.base_url}"
                if str(exc).startswith("cannot connect")
                else f"{type(exc).__name__}: {exc}"
            )
            return NodeReply(node.name, "error", reason=reason)
        if isinstance(exc, (httpx.HTTPError, httpx.InvalidURL)):
            # InvalidURL is no HTTPError: uncaught, it was a 500 of the whole query (QA issue 12)
            return NodeReply(node.name, "error", reason=f"{type(exc).__name__}: {exc}".strip())
        if isinstance(exc, NodeUnavailableError):
            return NodeReply(node.name, "error", reason=str(exc))
        raise exc

    def _done(
        self,
        node: NodePublic,
        reply: NodeReply,
        started: float,
        timeout: float,
        finished: float | None = None,
    ) -> NodeReply:
        """Stamp the reply's elapsed time and count it in the node's circuit."""
        reply.elapsed_ms = round(((finished or time.perf_counter()) - started) * 1000, 1)
        if self.breaker is not None:
            self.breaker.record(
                node, status=reply.status, http_status=reply.http_status, reason=reply.reason,
                started=started, probe=lambda probed: self.probe(probed, timeout=timeout),
            )  # fmt: skip
        return reply

    async def probe(self, node: NodePublic, *, timeout: float) -> bool:
        """True if `node` answers `GET /info` with any HTTP status within `timeout` (the
        breaker's probe: an answer, even an error, means the node responds again)."""
        request = NodeRequest("GET", PROBE_PATH)
        try:
            await asyncio.wait_for(self._exchange(node, request, timeout), timeout)
        except (
            TimeoutError,
            httpx.HTTPError,
            httpx.InvalidURL,
            ExchangeError,
            NodeUnavailableError,
        ):
            return False
        return True

    async def _exchange(
        self, node: NodePublic, request: NodeRequest, timeout: float
    ) -> tuple[int, Any]:
        if node.dial_out:
            if self.broker is None:
                raise NodeUnavailableError("dial-out is not enabled on this hub")
            return await self.broker.send(node, request)
        if not node.base_url:
            raise NodeUnavailableError("node has no base URL")
        headers = _headers(request)
        if self._http11 is not None:  # the lean client (genomesh.hub.http11), see __init__
            status, raw = await self._http11.request(
                node.base_url,
                request.method,
                request.path,
                params=list(request.params),
                headers=headers,
                body=_body(request),
            )
            return status, _parse(raw)
        response = await self._pool(node.base_url).request(
            request.method,
            node.base_url + request.path,
            params=list(request.params),
            json=request.body if request.method == "POST" else None,
            headers=headers,
            timeout=timeout + 1.0,
        )
        try:
            body = response.json()
        except ValueError:
            body = {"_text": response.text[:500]}
        return response.status_code, body


def _headers(request: NodeRequest) -> dict[str, str]:
    headers = {"accept": "application/json"}
    if request.authorization:
        headers["authorization"] = request.authorization
    if request.forwarded_for:
        headers["x-forwarded-for"] = request.forwarded_for
    if request.caller:
        headers[CALLER_HEADER] = request.caller
    return headers


def _body(request: NodeRequest) -> bytes | None:
    return dumps(request.body) if request.method == "POST" and request.body is not None else None


def _parse(raw: bytes) -> Any:
    try:
        return loads(raw)
    except ValueError:
        return {"_text": raw[:500].decode("utf-8", "replace")}


def _stale(future: asyncio.Future[Any]) -> bool:
    return not future.cancelled() and isinstance(future.exception(), StaleConnection)


def error_message(body: Any) -> str | None:
    """The message of a Beacon error body (or of a plain `{"detail"|"message": ...}`)."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict) and error.get("errorMessage"):
        return str(error["errorMessage"])
    for key in ("message", "detail", "_text"):
        if body.get(key):
            return str(body[key])
    return None


def classify(node: str, status: int, body: Any) -> NodeReply:
    """Turn an HTTP status and body into ok / refused / error with a reason."""
    if 200 <= status < 300 and isinstance(body, dict) and "_text" not in body:
        return NodeReply(node, "ok", http_status=status, body=body)
    reason = error_message(body) or f"HTTP {status}"
    if status in (401, 403, 429):
        return NodeReply(node, "refused", http_status=status, body=body, reason=reason)
    if 200 <= status < 300:
        reason = "node answered with something that is not a JSON object"
    return NodeReply(node, "error", http_status=status, body=body, reason=reason)


__all__ = [
    "NodeClient",
    "NodeReply",
    "NodeRequest",
    "NodeStatus",
    "NodeUnavailableError",
    "classify",
]
