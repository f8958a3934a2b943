"""Dial-out client: a node that opens no port serves the hub by long-polling it.

The node long-polls `HUB/dialout/poll` with a signed message, receives signed requests,
runs each against its own node app in-process (httpx ASGITransport, so every answer goes
through the node's normal gate), and posts a signed answer to `HUB/dialout/answer`.

Analysis rounds travel the same way: the hub queues `POST /analysis/rounds` (its body the
hub-signed round, `genomesh.node.analysis_routes`), the client runs it against the node app
like any request, so the round passes the same verification, guard, gate and audit as at a
push node, and the reply goes back as the answer. (`build_client` tells the app the name it
dials out as, since rounds are addressed to that name.)

Messages are Ed25519-signed JSON envelopes with sender, recipient, timestamp and nonce (the
same wire format as `genomesh.hub.signing`; hub and node share the format, not the code).
A hub message that is not signed by the pinned hub key, is addressed to another node, is
outside the clock-skew window, or reuses a nonce is refused and never executed.

An answer larger than `ANSWER_PART_BYTES` (a GWAS statistics reply over hundreds of thousands
of variants) is posted as several signed `answer-part` messages with the SHA-256 of the
whole; the hub joins them, so no single message exceeds its `max_answer_bytes`.

Keys: the node's key is `NODE_DIR/dialout_ed25519.pem` (created on first use; register its
public key with the hub). The hub's public key is given explicitly, or pinned on first
contact into `NODE_DIR/dialout_hub.key` (trust on first use; compare it with
`genomesh hub key` output out of band).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from genomesh.core.errors import AuthenticationError, InvalidInputError
from genomesh.core.hub_envelope import NODE_KEY_FILE, sign_for_hub
from genomesh.core.hub_envelope import b64url as _b64url
from genomesh.core.hub_envelope import canonical as _canonical
from genomesh.core.hub_envelope import unb64url as _unb64url

log = logging.getLogger(__name__)
HUB_KEY_FILE = "dialout_hub.key"
HUB = "hub"
# an answer body longer than this (JSON characters) goes in several signed parts: well
# below the hub's default max_answer_bytes (16 MB), which bounds each message
ANSWER_PART_BYTES = 4_000_000


def node_key(node_dir: Path | str) -> Ed25519PrivateKey:
    """The node's dial-out signing key (created with mode 0600 on first use)."""
    path = Path(node_dir) / NODE_KEY_FILE
    if path.is_file():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise InvalidInputError("dial-out key is not Ed25519", file=str(path))
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def public_key_text(key: Ed25519PrivateKey) -> str:
    """Raw Ed25519 public key, base64url (what `genomesh hub register-node --public-key` takes)."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _b64url(raw)


def parse_public_key(text: str) -> Ed25519PublicKey:
    try:
        raw = _unb64url(text.strip())
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise InvalidInputError(f"not an Ed25519 public key: {exc}", field="hub_key") from exc


class HubVerifier:
    """Checks hub-signed messages for one node: signature, sender, recipient, time and nonce
    (no replay). Used by the dial-out client and the node's analysis-round endpoint alike."""

    def __init__(self, key: Ed25519PublicKey, *, name: str, max_skew: float = 60.0) -> None:
        self.key, self.name, self.max_skew = key, name, max_skew
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def verify(self, message: Any) -> dict[str, Any]:
        """The message's payload, or AuthenticationError (forged, replayed, stale...)."""
        if not isinstance(message, dict) or not isinstance(message.get("payload"), dict):
            raise AuthenticationError("hub message must be an object with `payload` and `sig`")
        payload, sig = message["payload"], message.get("sig")
        try:
            self.key.verify(_unb64url(str(sig)), _canonical(payload))
        except (InvalidSignature, ValueError) as exc:
            raise AuthenticationError("bad signature on hub message") from exc
        if payload.get("iss") != HUB:
            raise AuthenticationError(
                f"hub message is not from the hub to this node: sent by {payload.get('iss')!r}"
            )
        if payload.get("aud") != self.name:
            raise AuthenticationError(
                "hub message is not from the hub to this node: addressed to "
                f"{payload.get('aud')!r}, not this node ({self.name!r})"
            )
        now, iat = time.time(), payload.get("iat")
        if not isinstance(iat, int | float) or abs(now - iat) > self.max_skew:
            raise AuthenticationError("hub message timestamp is outside the allowed window")
        nonce = payload.get("nonce")
        with self._lock:
            if not isinstance(nonce, str) or not nonce or nonce in self._seen:
                raise AuthenticationError("replayed hub message (nonce already used)")
            self._seen[nonce] = now
            if len(self._seen) > 10_000:
                cutoff = now - 2 * self.max_skew
                self._seen = {n: t for n, t in self._seen.items() if t >= cutoff}
        return payload


class DialoutClient:
    """Serves one node's app to a hub over outbound connections only."""

    def __init__(
        self,
        node_app: Any,
        *,
        hub_url: str,
        name: str,
        key: Ed25519PrivateKey,
        hub_key: Ed25519PublicKey,
        poll_seconds: float = 20.0,
        max_skew: float = 60.0,
        hub_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.node_app = node_app
        self.hub_url = hub_url.rstrip("/")
        self.name = name
        self.key = key
        self.hub_key = hub_key
        self.poll_seconds = poll_seconds
        self.max_skew = max_skew
        self.hub_transport = hub_transport
        self._verifier = HubVerifier(hub_key, name=name, max_skew=max_skew)
        self.executed = 0  # requests run against the node app (for tests and status)
        self.refused = 0  # hub messages refused (forged, replayed, stale, misaddressed)

    # -- messages ----------------------------------------------------------------------------
    def sign(self, payload: dict[str, Any]) -> dict[str, Any]:
        return sign_for_hub(payload, self.key, name=self.name)

    def verify(self, message: Any) -> dict[str, Any]:
        """A hub message's payload, or AuthenticationError (forged, replayed, stale...)."""
        return self._verifier.verify(message)

    async def execute(self, node: httpx.AsyncClient, request: dict[str, Any]) -> tuple[int, Any]:
        """Run one forwarded Beacon request against the node app."""
        headers = {"accept": "application/json"}
        if request.get("authorization"):
            headers["authorization"] = str(request["authorization"])
        if request.get("forwarded_for"):
            headers["x-forwarded-for"] = str(request["forwarded_for"])
        if request.get("caller"):
            # the hub's signed assertion of the original caller (genomesh.access.caller): the
            # node keys its budgets on it, not on this in-process hop (always 127.0.0.1)
            headers["x-genomesh-caller"] = str(request["caller"])
        method = str(request.get("method", "GET")).upper()
        response = await node.request(
            method,
            str(request.get("path", "/")),
            params=[tuple(p) for p in request.get("params") or []],
            json=request.get("body") if method == "POST" else None,
            headers=headers,
        )
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, {"_text": response.text[:500]}

    async def handle(self, node: httpx.AsyncClient, message: Any) -> dict[str, Any] | None:
        """Verify and run one hub message; the signed answer, or None if refused."""
        try:
            payload = self.verify(message)
        except AuthenticationError as exc:
            self.refused += 1
            log.warning("refused hub message: %s", exc.message)
            return None
        if payload.get("type") != "request" or not isinstance(payload.get("request"), dict):
            self.refused += 1
            return None
        self.executed += 1
        status, body = await self.execute(node, payload["request"])
        return self.sign(
            {"type": "answer", "id": payload.get("id"), "status": status, "body": body}
        )

    def parts(self, answer: dict[str, Any]) -> list[dict[str, Any]]:
        """The signed answer as one message, or, when its body is larger than
        `ANSWER_PART_BYTES`, as signed `answer-part` messages the hub joins again (it bounds
        each message by its `max_answer_bytes`; a large GWAS statistics reply exceeds that)."""
        payload = answer["payload"]
        text = json.dumps(payload.get("body"), separators=(",", ":"))
        size = ANSWER_PART_BYTES
        if len(text) <= size:
            return [answer]
        pieces = [text[i : i + size] for i in range(0, len(text), size)]
        digest = hashlib.sha256(text.encode()).hexdigest()
        return [
            self.sign(
                {
                    "type": "answer-part",
                    "id": payload.get("id"),
                    "status": payload.get("status"),
                    "index": i,
                    "count": len(pieces),
                    "sha256": digest,
                    "text": piece,
                }
            )
            for i, piece in enumerate(pieces)
        ]

    # -- loop --------------------------------------------------------------------------------
    async def _answer(self, hub: httpx.AsyncClient, node: httpx.AsyncClient, message: Any) -> None:
        answer = await self.handle(node, message)
        if answer is not None:
            with contextlib.suppress(httpx.HTTPError):
                for part in self.parts(answer):
                    await hub.post(f"{self.hub_url}/dialout/answer", json=part, timeout=30)

    async def run(
        self, *, stop: asyncio.Event | None = None, on_connect: Callable[[], None] | None = None
    ) -> None:
        """Poll until `stop` is set; reconnects with back-off when the hub is away."""
        stop = stop or asyncio.Event()
        tasks: set[asyncio.Task[None]] = set()
        async with (
            _lifespan(self.node_app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=self.node_app), base_url="http://node.local"
            ) as node,
            httpx.AsyncClient(transport=self.hub_transport) as hub,
        ):
            backoff, announced = 0.5, False
            while not stop.is_set():
                poll = self.sign({"type": "poll", "wait": self.poll_seconds})
                request = asyncio.ensure_future(
                    hub.post(
                        f"{self.hub_url}/dialout/poll", json=poll, timeout=self.poll_seconds + 10
                    )
                )
                stopping = asyncio.ensure_future(stop.wait())
                await asyncio.wait({request, stopping}, return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                if stop.is_set():  # leave at once, without waiting for the poll to time out
                    request.cancel()
                    with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                        await request
                    break
                try:
                    response = request.result()
                    response.raise_for_status()
                    messages = response.json().get("messages", [])
                except (httpx.HTTPError, ValueError) as exc:
                    log.warning("dial-out poll failed (%s); retrying in %.1f s", _why(exc), backoff)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                backoff = 0.5
                if not announced:
                    announced = True
                    if on_connect is not None:
                        on_connect()
                for message in messages:
                    task = asyncio.create_task(self._answer(hub, node, message))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
            for task in list(tasks):
                task.cancel()


def _why(exc: Exception) -> str:
    """The hub's own error message when it gave one (e.g. "unknown node 'x'")."""
    if isinstance(exc, httpx.HTTPStatusError):
        try:
            return (
                f"HTTP {exc.response.status_code}: {exc.response.json()['error']['errorMessage']}"
            )
        except (ValueError, KeyError, TypeError):
            return f"HTTP {exc.response.status_code}"
    return f"{type(exc).__name__}: {exc}"


@contextlib.asynccontextmanager
async def _lifespan(app: Any):  # type: ignore[no-untyped-def]
    """Run a FastAPI app's lifespan (ASGITransport does not)."""
    context = getattr(getattr(app, "router", None), "lifespan_context", None)
    if context is None:
        yield
        return
    async with context(app):
        yield


def pinned_hub_key(
    node_dir: Path | str, hub_url: str, *, hub_key: str | None = None
) -> Ed25519PublicKey:
    """The hub's key: given, else pinned in NODE_DIR, else fetched once and pinned (TOFU)."""
    path = Path(node_dir) / HUB_KEY_FILE
    if hub_key:
        path.write_text(hub_key.strip() + "\n")
        return parse_public_key(hub_key)
    if path.is_file():
        return parse_public_key(path.read_text())
    response = httpx.get(f"{hub_url.rstrip('/')}/dialout/key", timeout=10)
    response.raise_for_status()
    text = str(response.json()["public_key"])
    log.warning("pinned the hub's dial-out key on first contact: %s", text)
    path.write_text(text + "\n")
    return parse_public_key(text)


def build_client(
    node_dir: Path | str,
    *,
    hub_url: str,
    name: str | None = None,
    hub_key: str | None = None,
    poll_seconds: float = 20.0,
) -> DialoutClient:
    """A dial-out client for the node in `node_dir` (its app built from its settings).

    A node whose `base_url` is not set gets `{hub_url}/nodes/{name}`: the hub names a dial-out
    node's datasets under that URL and sends it passports for that audience (QA F23).
    Configuration errors (e.g. the old shared passport audience) are raised here, before
    anything connects."""
    from genomesh.core.settings import NodeSettings
    from genomesh.node.app import create_app, preflight

    settings = NodeSettings.load(node_dir)
    name = name or settings.name
    if settings.base_url == NodeSettings().base_url:
        settings = settings.model_copy(update={"base_url": f"{hub_url.rstrip('/')}/nodes/{name}"})
    if not settings.hub_url:  # the hub it dials out to also gets its audit heads (node.anchor)
        settings = settings.model_copy(update={"hub_url": hub_url})
    preflight(settings)
    app = create_app(settings)
    app.state.hub_name = name  # analysis rounds are addressed to the name the hub knows
    return DialoutClient(
        app,
        hub_url=hub_url,
        name=name,
        key=node_key(node_dir),
        hub_key=pinned_hub_key(node_dir, hub_url, hub_key=hub_key),
        poll_seconds=poll_seconds,
    )


__all__ = [
    "DialoutClient",
    "build_client",
    "node_key",
    "parse_public_key",
    "pinned_hub_key",
    "public_key_text",
    "sign_for_hub",
]
