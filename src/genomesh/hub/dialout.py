"""Hub side of dial-out nodes: queued requests, long-poll, signed answers.

A dial-out node opens no port. It long-polls `POST /dialout/poll` with a signed message;
the hub answers with the signed requests queued for that node (or an empty list when the
poll times out). The node runs each request against its own app and posts a signed answer
to `POST /dialout/answer`, which resolves the waiting fan-out call. Every message both ways
is signed (Ed25519; keys registered with the other side) and carries a nonce and timestamp
(see `genomesh.hub.signing`), so forged and replayed messages are refused. An answer too
large for one message (`max_answer_bytes`) arrives as signed `answer-part` messages with the
SHA-256 of the whole, joined by the worker whose call waits for it.

With several hub workers the node's poll, the query and the node's answer (or its parts) may
each reach a different worker: what crosses workers goes through the hub database
(`genomesh.hub.dialout_relay`), and the nonces seen are shared there too
(`genomesh.hub.shared.SqlNonceCache`), so a message replayed to another worker is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, Request
from pydantic import BaseModel

from genomesh.core.api_errors import error_responses
from genomesh.core.errors import AuthenticationError, InvalidInputError, NotFoundError
from genomesh.hub.client import NodeRequest, NodeUnavailableError
from genomesh.hub.dialout_relay import DialoutRelay
from genomesh.hub.registry import HubStore, NodePublic
from genomesh.hub.shared import SqlNonceCache
from genomesh.hub.signing import (
    load_public_key,
    public_key_text,
    sign_message,
    verify_message,
)

log = logging.getLogger(__name__)
HUB_PRINCIPAL = "hub"
MAX_ANSWER_PARTS = 256  # parts of one answer (each bounded by max_answer_bytes)
PART_SUFFIX = ":part:"  # relay id of a part that reached another worker: id + suffix + index
DISCONNECT_CHECK_SECONDS = 0.5
RELAY_TICK_SECONDS = 0.02  # how often a worker looks for other workers' requests and answers
REQUEST_TTL_SECONDS = 120.0  # a relayed request nobody claimed by then is not delivered


def worker_id() -> str:
    """This hub process, as the relay tables name it."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass
class _Channel:
    """One dial-out node's queue and liveness."""

    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    active_polls: int = 0
    last_seen: float = 0.0


class DialoutBroker:
    """Queues requests for dial-out nodes and matches their signed answers."""

    def __init__(
        self,
        store: HubStore,
        key: Ed25519PrivateKey,
        *,
        poll_seconds: float,
        max_skew: float,
    ) -> None:
        self.store = store
        self.key = key
        self.poll_seconds = poll_seconds
        self.max_skew = max_skew
        self.nonces = SqlNonceCache(store.engine, max_skew * 2)  # shared by all workers
        self.relay = DialoutRelay(store.engine, worker_id())
        self.relay._grace = poll_seconds + 5
        self._channels: dict[str, _Channel] = {}
        self.on_connect: Callable[[str], None] | None = None  # e.g. sync the node's catalogue
        self._pending: dict[str, tuple[str, asyncio.Future[tuple[int, Any]]]] = {}
        # answers in parts, for pending requests only: id -> (count, sha256, texts)
        self._parts: dict[str, tuple[int, str, list[str | None]]] = {}
        self._pump: asyncio.Task[None] | None = None
        self._relayed: set[str] = set()  # ids claimed from other workers, not yet handed over

    @property
    def public_key(self) -> str:
        return public_key_text(self.key)

    def _channel(self, node: str) -> _Channel:
        return self._channels.setdefault(node, _Channel())

    def _polling_here(self, node: str) -> bool:
        channel = self._channels.get(node)
        return channel is not None and channel.active_polls > 0

    def connected(self, node: str) -> bool:
        """Polling now (at this worker or another), or polled recently enough to be back
        within a poll cycle."""
        return self._polling_here(node) or self.relay.connected(node)

    async def send(self, node: NodePublic, request: NodeRequest) -> tuple[int, Any]:
        """Queue a signed request for `node` and wait for its answer (caller sets the timeout).

        If this worker holds the node's poll, the request goes into that poll's queue;
        otherwise into the relay table, for the worker that holds it."""
        if not self.connected(node.name):
            raise NodeUnavailableError("dial-out node is not connected")
        request_id = secrets.token_hex(12)
        future: asyncio.Future[tuple[int, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (node.name, future)
        message = sign_message(
            {"type": "request", "id": request_id, "request": request.to_wire()},
            self.key,
            iss=HUB_PRINCIPAL,
            aud=node.name,
        )
        relayed = not self._polling_here(node.name)
        try:
            if relayed:
                self.relay.put_request(node.name, request_id, message, ttl=REQUEST_TTL_SECONDS)
            else:
                self._channel(node.name).queue.put_nowait(message)
            self._ensure_pump()  # the answer may reach another worker
            return await future
        finally:
            self._pending.pop(request_id, None)
            self._parts.pop(request_id, None)
            if relayed:
                self.relay.drop_request(request_id)

    def _ensure_pump(self) -> None:
        if self._pump is None or self._pump.done():
            self._pump = asyncio.get_running_loop().create_task(
                self._run_pump(), name="dialout-relay"
            )

    async def _run_pump(self) -> None:
        """While this worker holds polls or waits for answers: hand requests other workers
        queued to the polls held here, and resolve answers other workers received."""
        while self._pending or any(c.active_polls for c in self._channels.values()):
            await asyncio.sleep(RELAY_TICK_SECONDS)
            try:
                if not self.relay.changed():
                    continue
                self._deliver(self.relay.claim(self._polled_nodes()))
                for request_id, node, status, body in self.relay.collect(list(self._pending)):
                    self._resolve(request_id, node, status, body)
                for part_id, node, status, part in self.relay.collect_parts(list(self._pending)):
                    self._relayed_part(part_id.split(PART_SUFFIX)[0], node, status, part)
            except Exception:  # a database hiccup must not stop the relay for good
                log.exception("dial-out relay tick failed")

    def _relayed_part(self, request_id: str, node: str, status: int, part: Any) -> None:
        """A part another worker received for a call waiting here (checked when it came in)."""
        pending = self._pending.get(request_id)
        if pending is None or pending[0] != node or not isinstance(part, dict):
            return
        try:
            body = self._join(request_id, part)
        except InvalidInputError as exc:  # a bad part fails the call it belongs to
            if not pending[1].done():
                pending[1].set_result((502, {"error": {"errorMessage": str(exc)}}))
            return
        if body is not _INCOMPLETE:
            self._resolve(request_id, node, status, body)

    def _polled_nodes(self) -> list[str]:
        return [name for name, c in self._channels.items() if c.active_polls]

    def _deliver(self, claimed: list[tuple[str, dict[str, Any]]]) -> None:
        for node, message in claimed:
            self._relayed.add(message["payload"]["id"])
            self._channel(node).queue.put_nowait(message)

    def _resolve(self, request_id: str, node: str, status: int, body: Any) -> bool:
        """Resolve a waiting call of this worker; False if none waits here."""
        pending = self._pending.get(request_id)
        if pending is None:
            return False
        owner, future = pending
        if owner != node:
            raise AuthenticationError("answer for a request sent to another node")
        if not future.done():
            future.set_result((status, body))
        return True

    async def aclose(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump

    def _verify_from_node(self, message: Any) -> tuple[NodePublic, dict[str, Any]]:
        claimed = message.get("payload", {}).get("iss") if isinstance(message, dict) else None
        if not isinstance(claimed, str):
            raise AuthenticationError("signed message names no sender")
        try:
            node = self.store.node(claimed)
        except NotFoundError as exc:
            raise AuthenticationError(f"unknown node {claimed!r}") from exc
        if not node.public_key:
            raise AuthenticationError(f"node {claimed!r} has no registered public key")
        payload = verify_message(
            message,
            load_public_key(node.public_key),
            iss=node.name,
            aud=HUB_PRINCIPAL,
            nonces=self.nonces,
            max_skew=self.max_skew,
        )
        return node, payload

    async def poll(
        self, message: Any, *, gone: Callable[[], Awaitable[bool]] | None = None
    ) -> list[dict[str, Any]]:
        """Hold a node's long-poll until requests arrive or the poll time runs out.

        `gone` tells whether the node hung up; checked every `DISCONNECT_CHECK_SECONDS`, so
        a node that dies mid-poll is reported "not connected" at once instead of timing out.
        """
        node, payload = self._verify_from_node(message)
        if payload.get("type") != "poll":
            raise InvalidInputError("expected a poll message", field="type")
        wait = payload.get("wait", self.poll_seconds)
        wait = max(
            0.0, min(float(wait) if isinstance(wait, int | float) else 0.0, self.poll_seconds)
        )
        was_connected = self.relay.polling(node.name, until=time.time() + wait + 1.0)
        channel = self._channel(node.name)
        was_connected = was_connected or channel.active_polls > 0
        channel.active_polls += 1
        if not was_connected and self.on_connect is not None:
            self.on_connect(node.name)
        channel.last_seen = time.time()
        self._deliver(self.relay.claim([node.name]))  # queued by other workers meanwhile
        self._ensure_pump()
        hung_up = False
        try:
            messages: list[dict[str, Any]] = []
            deadline = time.monotonic() + wait
            while (remaining := deadline - time.monotonic()) > 0:
                try:
                    slice_ = min(remaining, DISCONNECT_CHECK_SECONDS)
                    messages.append(await asyncio.wait_for(channel.queue.get(), slice_))
                    break
                except TimeoutError:
                    if gone is not None and await gone():
                        hung_up = True
                        return []
            while not channel.queue.empty():
                messages.append(channel.queue.get_nowait())
            # drop requests whose caller (at this worker) has already given up
            return [m for m in messages if self._wanted(m)]
        finally:
            channel.active_polls -= 1
            # a node that hung up is not coming back within a poll cycle: say so at once
            channel.last_seen = 0.0 if hung_up else time.time()
            if not channel.active_polls:
                self.relay.poll_ended(node.name, hung_up=hung_up)

    def _wanted(self, message: dict[str, Any]) -> bool:
        """Still awaited: by a caller here, or relayed from another worker (its caller
        removes the request when it gives up, so a claimed one was wanted just now)."""
        request_id = message["payload"]["id"]
        if request_id in self._relayed:
            self._relayed.discard(request_id)
            return True
        return request_id in self._pending

    def answer(self, message: Any) -> None:
        """Resolve the fan-out call waiting for this signed answer."""
        node, payload = self._verify_from_node(message)
        kind = payload.get("type")
        if kind not in ("answer", "answer-part"):
            raise InvalidInputError("expected an answer message", field="type")
        status = payload.get("status")
        if not isinstance(status, int):
            raise InvalidInputError("answer has no HTTP status", field="status")
        request_id = str(payload.get("id"))
        if kind == "answer-part":
            if request_id not in self._pending:  # waited for at another worker: relay the part
                index = payload.get("index")
                if not isinstance(index, int) or not 0 <= index < MAX_ANSWER_PARTS:
                    raise InvalidInputError("answer part index out of range", field="index")
                self.relay.put_answer(
                    f"{request_id}{PART_SUFFIX}{index}", node.name, status, payload
                )
                return
            body = self._join(request_id, payload)
            if body is _INCOMPLETE:
                return
        else:
            body = payload.get("body")
        if not self._resolve(request_id, node.name, status, body):
            # waited for at another worker (or its caller timed out already: then the row
            # is dropped after a while, unread)
            self.relay.put_answer(request_id, node.name, status, body)

    def _join(self, request_id: str, payload: dict[str, Any]) -> Any:
        """Keep one part of a parted answer; the whole body once every part is in."""
        index, count = payload.get("index"), payload.get("count")
        digest, text = payload.get("sha256"), payload.get("text")
        if not (isinstance(count, int) and 1 <= count <= MAX_ANSWER_PARTS):
            raise InvalidInputError(
                f"an answer comes in 1 to {MAX_ANSWER_PARTS} parts", field="count"
            )
        if not (isinstance(index, int) and 0 <= index < count):
            raise InvalidInputError("answer part index out of range", field="index")
        if not isinstance(digest, str) or not isinstance(text, str):
            raise InvalidInputError("answer part needs sha256 and text", field="text")
        held = self._parts.setdefault(request_id, (count, digest, [None] * count))
        if held[0] != count or held[1] != digest:
            raise InvalidInputError("answer parts disagree on count or digest", field="count")
        held[2][index] = text
        if any(piece is None for piece in held[2]):
            return _INCOMPLETE
        self._parts.pop(request_id, None)
        whole = "".join(piece or "" for piece in held[2])
        if hashlib.sha256(whole.encode()).hexdigest() != digest:
            raise InvalidInputError("joined answer does not match its SHA-256", field="sha256")
        try:
            return json.loads(whole)
        except ValueError as exc:
            raise InvalidInputError(f"joined answer is not JSON: {exc}", field="text") from exc


_INCOMPLETE = object()


class SignedMessage(BaseModel):
    """A signed dial-out message (see `genomesh.hub.signing`)."""

    payload: dict[str, Any]
    sig: str


router = APIRouter(prefix="/dialout", tags=["dial-out"])


def _broker(request: Request) -> DialoutBroker:
    return request.app.state.dialout


@router.get("/key", summary="The hub's Ed25519 public key for dial-out messages")
async def hub_key(request: Request) -> dict[str, str]:
    return {"alg": "Ed25519", "public_key": _broker(request).public_key}


@router.post(
    "/poll",
    summary="Long-poll for queued requests (signed by the node)",
    responses=error_responses(400, 401),
)
async def poll(message: SignedMessage, request: Request) -> dict[str, Any]:
    return {
        "messages": await _broker(request).poll(message.model_dump(), gone=request.is_disconnected)
    }


@router.post(
    "/answer",
    summary="Post the answer to one request (signed by the node)",
    responses=error_responses(400, 401),
)
async def answer(message: SignedMessage, request: Request) -> dict[str, bool]:
    _broker(request).answer(message.model_dump())
    return {"accepted": True}


__all__ = ["HUB_PRINCIPAL", "DialoutBroker", "router"]
