"""Anchor the audit log at the hub: sign the head and send it every N entries or M seconds.

Wire (the hub's signed-message envelope, `genomesh.hub.signing`; hub side `genomesh.hub.anchors`)::

    POST {hub_url}/nodes/{name}/audit-heads
    {"payload": {"type": "audit_head", "entries": 400, "hash": "<head hash>",
                 "previous": {"entries": 300, "hash": "<hash of entry 300 in the log now>"},
                 "iss": name, "aud": "hub", "iat": <unix time>, "nonce": "<hex>"},
     "sig": "<base64url Ed25519 over the canonical payload>"}

(`previous` names the node's last acknowledged anchor, when it has one.)

signed with the node's key `NODE_DIR/dialout_ed25519.pem` (the one dial-out and withdrawal
notices use; its public key must be registered at the hub). The hub answers 201 (stored),
200 (already had this head), 401 (bad signature, unknown node, no registered key) or 409
(the count went backwards, or another hash at the same count - the hub flags these).

`AnchorSender.send_if_due` sends the head when the log has grown by `audit_anchor_entries`
since the last acknowledged anchor, or `audit_anchor_seconds` have passed and it has grown;
each send is claimed first in the node's record (`genomesh.audit.anchor.AnchorRecords`), so
several server workers send each head once. `anchor_loop` runs it every
`audit_anchor_check_seconds` inside the node app (push nodes, and dial-out nodes, whose app
runs inside the dial-out client); the app also tries once more at shut-down.

`fetch_hub_anchors` reads a node's heads back from the hub for `genomesh audit verify --hub`,
keeping only those whose signature verifies with the node's own key.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from genomesh.audit.anchor import ACKNOWLEDGED, FAILED, REFUSED, Anchor, AnchorRecords
from genomesh.audit.state import NodeState
from genomesh.core.errors import UpstreamError
from genomesh.core.hub_envelope import hub_reason, unb64url
from genomesh.core.settings import NodeSettings
from genomesh.node.dialout import node_key, sign_for_hub

log = logging.getLogger(__name__)
HEAD_TYPE = "audit_head"
SEND_TIMEOUT = 10.0
SHUTDOWN_SEND_SECONDS = 3.0  # the last send must not hold up a shut-down for long


def heads_url(hub_url: str, name: str) -> str:
    return f"{hub_url.rstrip('/')}/nodes/{name}/audit-heads"


@dataclass(frozen=True)
class Due:
    """A head to send: `entries`, `hash`, and (entries, hash) of the log now at the last
    acknowledged anchor, so the hub can tell a rewritten log from a grown one."""

    entries: int
    hash: str
    previous: tuple[int, str] | None = None


class AnchorSender:
    """Signs this node's audit head and sends it to the hub when it is due."""

    def __init__(
        self,
        state: NodeState,
        *,
        hub_url: str,
        name: str,
        key: Callable[[], Ed25519PrivateKey],
        every_entries: int,
        every_seconds: float,
        retry_seconds: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.state = state
        self.records = AnchorRecords(state.engine)
        self.hub_url = hub_url.rstrip("/")
        self.name = name
        self._key_source = key
        self._key: Ed25519PrivateKey | None = None
        self.every_entries = every_entries
        self.every_seconds = every_seconds
        self.retry_seconds = retry_seconds
        self.transport = transport
        self._alarms: set[str] = set()

    @classmethod
    def from_settings(
        cls,
        state: NodeState,
        settings: NodeSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> AnchorSender | None:
        """The sender for a node with `hub_url` set and anchoring on; else None."""
        if not settings.hub_url or settings.audit_anchor_entries <= 0:
            return None
        node_dir = Path(settings.node_dir)
        return cls(
            state,
            hub_url=settings.hub_url,
            name=settings.name,
            key=lambda: node_key(node_dir),  # created on first send, not at start-up
            every_entries=settings.audit_anchor_entries,
            every_seconds=settings.audit_anchor_seconds,
            retry_seconds=max(settings.audit_anchor_check_seconds, 30.0),
            transport=transport,
        )

    def due(self, *, force: bool = False, now: float | None = None) -> Due | None:
        """The head to send now, or None (not grown enough, or nothing new)."""
        now = time.time() if now is None else now
        seq, digest = self.state.head()
        last = self.records.latest_acknowledged(hub_url=self.hub_url)
        base_entries, base_time = (last.entries, last.signed_at) if last else (0, 0.0)
        if seq < base_entries:
            self._alarm(
                f"audit head {seq} is BELOW the head {base_entries} the hub acknowledged: "
                "entries were removed from this node's log (run `genomesh audit verify`)"
            )
            return None
        if seq == base_entries:
            return None
        tried = self.records.latest_attempt(hub_url=self.hub_url)
        recently_failed = (
            tried is not None
            and tried.status == FAILED
            and now - (tried.settled_at or 0.0) < self.retry_seconds
        )
        if recently_failed and not force:
            return None  # the hub was unreachable a moment ago: do not hammer it
        grown = seq - base_entries >= self.every_entries
        waited = self.every_seconds > 0 and now - base_time >= self.every_seconds
        if not (force or grown or waited):
            return None
        previous = None
        if last is not None:  # what the log holds now at the last anchor (the hub compares)
            entry = self.state.audit_entry(last.entries)
            previous = (last.entries, entry.hash if entry else "")
            if previous[1] != last.hash:
                self._alarm(
                    f"entry {last.entries} no longer hashes to the head the hub acknowledged: "
                    "this node's log was rewritten (run `genomesh audit verify`)"
                )
        return Due(seq, digest, previous)

    def _alarm(self, message: str) -> None:
        """Log a sign of tampering at ERROR, once per message (due() runs every few seconds)."""
        if message not in self._alarms:
            self._alarms.add(message)
            log.error(message)

    def _signing_key(self) -> Ed25519PrivateKey:
        if self._key is None:
            self._key = self._key_source()
        return self._key

    async def send(self, head: Due) -> str | None:
        """Send one head; the recorded status, or None when another sender has it."""
        entries, digest = head.entries, head.hash
        payload: dict[str, Any] = {"type": HEAD_TYPE, "entries": entries, "hash": digest}
        if head.previous is not None:
            payload["previous"] = {"entries": head.previous[0], "hash": head.previous[1]}
        message = sign_for_hub(payload, self._signing_key(), name=self.name)
        row = await asyncio.to_thread(
            self.records.claim,
            hub_url=self.hub_url,
            entries=entries,
            hash=digest,
            envelope=json.dumps(message, sort_keys=True),
            retry_after=self.retry_seconds,
        )
        if row is None:
            return None
        status, detail = await self._post(message)
        await asyncio.to_thread(self.records.settle, row, status=status, detail=detail)
        if status == REFUSED:
            log.error("the hub REFUSED audit head %d:%s: %s", entries, digest[:12], detail)
        elif status == FAILED:
            log.warning("audit head %d not delivered to the hub (%s); will retry", entries, detail)
        return status

    async def _post(self, message: dict[str, Any]) -> tuple[str, str | None]:
        url = heads_url(self.hub_url, self.name)
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=SEND_TIMEOUT) as http:
                response = await http.post(url, json=message)
        except httpx.HTTPError as exc:
            return FAILED, f"{type(exc).__name__}: {exc}"
        if response.status_code in (200, 201):
            return ACKNOWLEDGED, None
        reason = f"HTTP {response.status_code}: {hub_reason(response)}"
        return (REFUSED if 400 <= response.status_code < 500 else FAILED), reason

    async def send_if_due(self, *, force: bool = False) -> str | None:
        """Send the head if it is due (see the module docstring); the status, or None."""
        head = await asyncio.to_thread(self.due, force=force)
        return None if head is None else await self.send(head)


async def anchor_loop(sender: AnchorSender, *, check_seconds: float) -> None:
    """Look at the head every `check_seconds` and send it when due, until cancelled."""
    while True:
        try:
            await sender.send_if_due()
        except Exception:  # keep anchoring; one bad round must not stop it
            log.exception("audit anchoring round failed")
        await asyncio.sleep(check_seconds)


@contextlib.asynccontextmanager
async def anchoring(state: NodeState, settings: NodeSettings) -> Any:
    """Run `anchor_loop` for the node app's lifetime (when `hub_url` is set), and send the
    head once more at shut-down so the last entries are anchored too."""
    sender = AnchorSender.from_settings(state, settings)
    if sender is None:
        yield None
        return
    task = asyncio.create_task(
        anchor_loop(sender, check_seconds=settings.audit_anchor_check_seconds)
    )
    try:
        yield sender
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(Exception):
            await asyncio.wait_for(sender.send_if_due(force=True), SHUTDOWN_SEND_SECONDS)


def _signed_by(envelope: Any, key: Ed25519PublicKey, *, name: str, head: dict[str, Any]) -> bool:
    """Whether the hub's stored envelope is this node's signature over this head."""
    if not isinstance(envelope, dict) or not isinstance(envelope.get("payload"), dict):
        return False
    payload = envelope["payload"]
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        key.verify(unb64url(str(envelope.get("sig"))), canonical.encode())
    except (InvalidSignature, ValueError):
        return False
    return (
        payload.get("iss") == name
        and payload.get("type") == HEAD_TYPE
        and payload.get("entries") == head.get("entries")
        and payload.get("hash") == head.get("hash")
    )


def fetch_hub_anchors(
    hub_url: str,
    name: str,
    *,
    public_key: Ed25519PublicKey | None,
    transport: httpx.BaseTransport | None = None,
) -> tuple[list[Anchor], list[str]]:
    """The heads the hub holds for node `name`, and warnings (heads not signed by the node's
    key are left out and named; refused heads the hub flagged are reported)."""
    url = heads_url(hub_url, name)
    try:
        with httpx.Client(transport=transport, timeout=SEND_TIMEOUT) as http:
            response = http.get(url)
    except httpx.HTTPError as exc:
        raise UpstreamError(f"cannot read audit heads from {url}: {exc}") from exc
    if response.status_code != 200:
        raise UpstreamError(
            f"cannot read audit heads from {url}: HTTP {response.status_code}: "
            f"{hub_reason(response)}"
        )
    body = response.json()
    anchors, warnings = [], []
    for head in body.get("heads", []):
        if public_key is not None and not _signed_by(
            head.get("envelope"), public_key, name=name, head=head
        ):
            warnings.append(
                f"the hub's head {head.get('entries')}:{str(head.get('hash'))[:12]}... is not "
                "signed by this node's key; ignored"
            )
            continue
        anchors.append(
            Anchor(
                int(head["entries"]),
                str(head["hash"]),
                float(head["signed_at"]),
                f"held by the hub at {hub_url}",
            )
        )
    for refused in body.get("refused", []):
        warnings.append(
            f"the hub refused a head {refused.get('entries')}:{str(refused.get('hash'))[:12]}... "
            f"from this node: {refused.get('problem')}"
        )
    return anchors, warnings


__all__ = ["AnchorSender", "anchor_loop", "anchoring", "fetch_hub_anchors", "heads_url"]
