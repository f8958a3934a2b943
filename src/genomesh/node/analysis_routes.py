"""The node's analysis endpoint: `POST /analysis/rounds`, one signed round from the hub.

Body: a hub-signed message (the format of `genomesh.hub.signing`, implemented here without
importing the hub)::

    {"payload": {"type": "analysis-round", "round": {RoundRequest as JSON},
                 "iss": "hub", "aud": "<this node's name>", "iat": ..., "nonce": ...},
     "sig": base64url(Ed25519(canonical JSON of payload))}

plus `Authorization: Bearer <passport>`: the passport the hub derived for this node from the
researcher's. The signature says the hub sent this round (only the hub coordinates
analyses); the passport says for whom, and the guard applies that researcher's visas and
purpose to every participant's consent. The hub's key is `NodeSettings.hub_key`, else the
key pinned for dial-out (`NODE_DIR/dialout_hub.key`). A dial-out node gets the same request
through its dial-out client, which runs it against this app: one code path for both.

Answer: ``{"node", "datasets", "refused", "audit_id", "reply": {values, arrays, suppressed}}``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from genomesh.analysis.wire import decode_request, encode_reply
from genomesh.core.api_errors import error_responses
from genomesh.core.errors import AuthenticationError, InvalidInputError
from genomesh.core.hub_envelope import unb64url
from genomesh.node.dialout import HUB_KEY_FILE, HubVerifier

MAX_SKEW_SECONDS = 120.0
ROUND_MESSAGE = "analysis-round"

router = APIRouter(prefix="/analysis", tags=["analysis"])


def hub_public_key(settings: Any) -> Ed25519PublicKey:
    """The hub's key from settings, else the dial-out pin; AuthenticationError if neither."""
    text = settings.hub_key
    if not text:
        pinned = Path(settings.node_dir) / HUB_KEY_FILE
        text = pinned.read_text().strip() if pinned.is_file() else None
    if not text:
        raise AuthenticationError(
            "this node takes no analysis rounds: no hub key is configured (set `hub_key` in "
            "genomesh.toml to the output of `genomesh hub key`)"
        )
    try:
        return Ed25519PublicKey.from_public_bytes(unb64url(text.strip()))
    except ValueError as exc:
        raise InvalidInputError(
            f"hub_key is not an Ed25519 public key: {exc}", field="hub_key"
        ) from exc


_setup = threading.Lock()


def _verifier(request: Request) -> HubVerifier:
    state = request.app.state
    with _setup:
        verifier = getattr(state, "hub_verifier", None)
        if verifier is None:
            settings = state.settings
            name = getattr(state, "hub_name", None) or settings.name
            key = hub_public_key(settings)
            verifier = HubVerifier(key, name=name, max_skew=MAX_SKEW_SECONDS)
            state.hub_verifier = verifier
    return verifier


hub_verifier = _verifier  # the same verifier (one nonce cache) for every hub-signed route


def runner_of(app: Any) -> Any:
    """The app's AnalysisRunner (created on first use; closed by the node app's lifespan)."""
    from genomesh.analysis.runner import AnalysisRunner

    with _setup:
        runner = getattr(app.state, "analysis_runner", None)
        if runner is None:
            runner = app.state.analysis_runner = AnalysisRunner(
                settings=app.state.settings, node=app.state.node, gate=app.state.gate
            )
    return runner


class SignedRound(BaseModel):
    """A hub-signed analysis round."""

    payload: dict[str, Any]
    sig: str


@router.post(
    "/rounds",
    summary="Run one round of a registered analysis (signed by the hub)",
    responses=error_responses(400, 401, 403, 404, 409, 413, 429),
)
async def run_round(message: SignedRound, request: Request) -> dict[str, Any]:
    from genomesh.beacon.routes import identity_of

    payload = _verifier(request).verify(message.model_dump())
    if payload.get("type") != ROUND_MESSAGE:
        raise InvalidInputError(f"expected an {ROUND_MESSAGE!r} message", field="type")
    round_request = decode_request(payload.get("round"))
    identity = identity_of(request)
    outcome = await run_in_threadpool(runner_of(request.app).run, round_request, identity)
    return {
        "node": request.app.state.settings.name,
        "datasets": outcome.datasets,
        "refused": outcome.refused,
        "audit_id": outcome.audit_id,
        "reply": encode_reply(outcome.reply),
    }


__all__ = ["HubVerifier", "hub_public_key", "hub_verifier", "router", "runner_of"]
