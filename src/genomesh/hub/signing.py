"""Signed, replay-protected messages between the hub and dial-out nodes (Ed25519).

Wire format of one message (JSON)::

    {"payload": {...,"iss": sender, "aud": recipient, "iat": unix seconds, "nonce": hex},
     "sig": base64url(Ed25519(canonical_json(payload)))}

`canonical_json` is `json.dumps(sort_keys=True, separators=(",", ":"))` in UTF-8. A receiver
refuses a message whose signature does not verify with the sender's registered key, whose
`aud` is not itself, whose `iat` is outside the allowed clock skew, or whose nonce it has
already seen inside that window (replay). The node side (`genomesh.node.dialout`) implements
the same format without importing the hub: hub and node share the wire format only.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from genomesh.core.errors import AuthenticationError, InvalidInputError

KEY_FILE = "hub_ed25519.pem"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical_json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw 32-byte Ed25519 public key, base64url: how keys are registered and shown."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return b64url(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def load_public_key(text: str, *, field: str = "public_key") -> Ed25519PublicKey:
    """Parse a registered public key (base64url raw 32 bytes, or a PEM block)."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError("not an Ed25519 key")
            return key
        raw = unb64url(text)
        if len(raw) != 32:
            raise ValueError(f"expected 32 bytes, got {len(raw)}")
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise InvalidInputError(f"not an Ed25519 public key: {exc}", field=field) from exc


def load_or_create_key(folder: Path, *, name: str = KEY_FILE) -> Ed25519PrivateKey:
    """The signing key kept in `folder/name` (PEM, mode 0600), created on first use."""
    path = folder / name
    if path.is_file():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise InvalidInputError("signing key is not Ed25519", file=str(path))
        return key
    folder.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def sign_message(
    payload: dict[str, Any], key: Ed25519PrivateKey, *, iss: str, aud: str
) -> dict[str, Any]:
    """Wrap `payload` with sender, recipient, time and a fresh nonce, and sign it."""
    body = {**payload, "iss": iss, "aud": aud, "iat": time.time(), "nonce": secrets.token_hex(16)}
    return {"payload": body, "sig": b64url(key.sign(canonical_json(body)))}


class Nonces(Protocol):
    """Where a receiver remembers the nonces it has seen (this process's `NonceCache`, or
    the hub database's `genomesh.hub.shared.SqlNonceCache`, shared by every worker)."""

    def check_and_add(self, nonce: str, *, now: float | None = None) -> bool: ...


class NonceCache:
    """Nonces seen within the skew window, in this process; a second sighting is a replay."""

    def __init__(self, window_seconds: float) -> None:
        self.window = window_seconds
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def check_and_add(self, nonce: str, *, now: float | None = None) -> bool:
        """True if `nonce` is new (and remember it); False if seen before (replay)."""
        now = time.time() if now is None else now
        with self._lock:
            if len(self._seen) > 10_000:
                cutoff = now - 2 * self.window
                self._seen = {n: t for n, t in self._seen.items() if t >= cutoff}
            if nonce in self._seen:
                return False
            self._seen[nonce] = now
            return True


def verify_message(
    message: Any,
    key: Ed25519PublicKey,
    *,
    iss: str,
    aud: str,
    nonces: Nonces,
    max_skew: float,
) -> dict[str, Any]:
    """Check signature, sender, recipient, time and nonce; return the payload or raise."""
    if not isinstance(message, dict) or not isinstance(message.get("payload"), dict):
        raise AuthenticationError("signed message must be an object with `payload` and `sig`")
    payload, sig = message["payload"], message.get("sig")
    if not isinstance(sig, str):
        raise AuthenticationError("signed message has no signature")
    try:
        key.verify(unb64url(sig), canonical_json(payload))
    except (InvalidSignature, ValueError) as exc:
        raise AuthenticationError(f"bad signature on message from {iss!r}") from exc
    if payload.get("iss") != iss:
        raise AuthenticationError(f"message issuer {payload.get('iss')!r} is not {iss!r}")
    if payload.get("aud") != aud:
        raise AuthenticationError(f"message is addressed to {payload.get('aud')!r}, not {aud!r}")
    iat = payload.get("iat")
    if not isinstance(iat, int | float) or abs(time.time() - iat) > max_skew:
        raise AuthenticationError("message timestamp is outside the allowed window")
    nonce = payload.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise AuthenticationError("message has no nonce")
    if not nonces.check_and_add(nonce):
        raise AuthenticationError("replayed message (nonce already used)")
    return payload


__all__ = [
    "NonceCache",
    "Nonces",
    "canonical_json",
    "load_or_create_key",
    "load_public_key",
    "public_key_text",
    "sign_message",
    "verify_message",
]
