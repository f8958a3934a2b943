"""The signed-message envelope a node sends to the hub, and reading the hub's refusals.

Shared by every node-side sender (dial-out, audit anchors, withdrawal and findings notices)
so the wire format is written once: Ed25519 over canonical JSON, with sender (`iss`),
recipient (`aud` = "hub"), time and nonce against replay. The hub verifies it in
`genomesh.hub.signing` (hub and node share the format, not the code).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

NODE_KEY_FILE = "dialout_ed25519.pem"  # NODE_DIR/<this>: the node's Ed25519 signing key
HUB_AUDIENCE = "hub"


def b64url(data: bytes) -> str:
    """Unpadded base64url, as in the envelope's `sig`."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    """Inverse of `b64url` (padding restored)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical(payload: dict[str, Any]) -> bytes:
    """The bytes that are signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_for_hub(payload: dict[str, Any], key: Ed25519PrivateKey, *, name: str) -> dict[str, Any]:
    """`payload` from node `name` to the hub, in the hub's signed-message envelope."""
    body = {
        **payload,
        "iss": name,
        "aud": HUB_AUDIENCE,
        "iat": time.time(),
        "nonce": secrets.token_hex(16),
    }
    return {"payload": body, "sig": b64url(key.sign(canonical(body)))}


def existing_node_key(node_dir: Path | str) -> Ed25519PrivateKey | None:
    """The node's signing key if it has one (never creates it; senders that must not
    invent an identity the hub does not know use this)."""
    path = Path(node_dir) / NODE_KEY_FILE
    if not path.is_file():
        return None
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    return key if isinstance(key, Ed25519PrivateKey) else None


def hub_reason(response: httpx.Response) -> str:
    """The hub's own words for a refusal: its errorMessage, else `detail`, else the body's start."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("errorMessage"):
        return str(error["errorMessage"])[:500]
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        return body["detail"][:500]
    return response.text[:200]
