"""Participant API (`/participants`): who used my data, export my data, withdraw.

Authentication: `Authorization: Bearer <token>`, a per-participant token issued by the
custodian (`genomesh node participant-token DIR --individual ID`) and stored hashed in the
node state. The node app mounts `router` and sets `app.state.gate` (a `genomesh.gate.Gate`);
an app that only sets `app.state.settings` gets a gate built on first use.

    GET  /participants/me/access-report   every recipient of data derived from me, per dataset
    GET  /participants/me/export          a copy of my data (JSON; genotypes as VCF-like records);
                                          ?format=zip|tar.gz: one archive of Phenopackets v2, a
                                          bgzipped VCF, a README and a manifest (portable.py)
    POST /participants/me/withdraw        {"dataset_id": "..." | null, "reason": "..."}
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from genomesh.core.api_errors import error_responses
from genomesh.core.errors import AuthenticationError, ConflictError, NotFoundError
from genomesh.gate import Gate
from genomesh.participants.portable import MEDIA_TYPES, export_file
from genomesh.participants.rights import access_report, export_data
from genomesh.participants.withdrawal import withdraw

router = APIRouter(prefix="/participants", tags=["participants"])
_build_lock = threading.Lock()


def get_gate(request: Request) -> Gate:
    """The node's gate from the app state (built from `app.state.settings` if absent)."""
    gate = getattr(request.app.state, "gate", None)
    if gate is not None:
        return gate  # type: ignore[no-any-return]
    with _build_lock:
        gate = getattr(request.app.state, "gate", None)
        if gate is None:
            from genomesh.audit.state import NodeState
            from genomesh.store import open_node

            settings = request.app.state.settings
            gate = Gate(
                settings=settings, node=open_node(settings.node_dir), state=NodeState.open(settings)
            )
            request.app.state.gate = gate
    return gate


def current_participant(
    request: Request,
    gate: Annotated[Gate, Depends(get_gate)],
    authorization: Annotated[str | None, Header()] = None,
) -> str:
    """The individual id behind the bearer token (401 when missing or unknown)."""
    if not authorization:
        raise AuthenticationError(
            "participant token required: send 'Authorization: Bearer <token>'"
        )
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("malformed Authorization header: expected 'Bearer <token>'")
    individual = gate.state.participant_for_token(token.strip())
    if individual is None:
        raise AuthenticationError("unknown or revoked participant token")
    return individual


Participant = Annotated[str, Depends(current_participant)]
GateDep = Annotated[Gate, Depends(get_gate)]


class WithdrawBody(BaseModel):
    """A participant's withdrawal request."""

    model_config = ConfigDict(extra="forbid")

    dataset_id: str | None = Field(default=None, description="one dataset; null = every dataset")
    reason: str | None = Field(default=None, max_length=2000)


def _client(request: Request) -> str | None:
    """The real caller's address (trusted proxies only; genomesh.core.clients)."""
    peer = request.client.host if request.client else None
    resolver = getattr(request.app.state, "resolver", None)
    return resolver.address_of(peer, request.headers) if resolver is not None else peer


@router.get("/me/access-report", responses=error_responses(401, 404))
def get_access_report(request: Request, gate: GateDep, me: Participant) -> dict[str, Any]:
    """Who received data derived from me, per dataset (from the disclosure ledger)."""
    return access_report(gate, me, client_address=_client(request))


@router.get("/me/export", responses=error_responses(400, 401, 404), response_model=None)
def get_export(
    request: Request,
    gate: GateDep,
    me: Participant,
    format: Annotated[str, Query(description="json, or an archive: zip | tar.gz")] = "json",
) -> dict[str, Any] | FileResponse:
    """A copy of my own data in every dataset of this node (JSON, or a zip / tar.gz archive
    of Phenopackets, a VCF, a README and a manifest of checksums)."""
    if format == "json":
        return export_data(gate, me, client_address=_client(request))
    folder = Path(tempfile.mkdtemp(prefix="genomesh-export-"))
    try:
        path = export_file(gate, me, format, folder, client_address=_client(request))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(  # streamed from disk, the folder removed once it is sent
        path,
        media_type=MEDIA_TYPES[format],
        filename=f"genomesh-export.{format}",
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


@router.post("/me/withdraw", responses=error_responses(401, 404, 409))
def post_withdraw(gate: GateDep, me: Participant, body: WithdrawBody) -> dict[str, Any]:
    """Withdraw from one dataset or all; earlier recipients are notified."""
    facts = [gate.guard.facts(ds) for ds in gate.node.datasets()]
    mine = [f.dataset_id for f in facts if me in f.individuals]
    if body.dataset_id is not None:
        if body.dataset_id not in mine:
            raise NotFoundError(
                f"you are not a participant of dataset {body.dataset_id!r}", field="dataset_id"
            )
        mine = [body.dataset_id]
    already = {w.dataset_id for w in gate.state.withdrawals(individual_id=me)}
    todo = [d for d in mine if d not in already]
    if not todo:
        raise ConflictError("already withdrawn from " + (body.dataset_id or "every dataset"))
    from genomesh.participants.compelled import gagged_keys

    hidden = gagged_keys(gate.state)
    reports = [
        withdraw(
            gate.state,
            settings=gate.settings,
            node=gate.node,
            dataset_id=d,
            individual_id=me,
            reason=body.reason,
            requested_by="participant",
        )
        for d in todo
    ]
    return {
        "withdrawn": [
            {
                "dataset_id": r.dataset_id,
                "withdrawn_at": r.withdrawn_at,
                "recipients_notified": len(r.notification_ids),
                "hub_delivery": r.hub_delivery,
                "recipients": [
                    asdict(x) | {"recipient_key": None}
                    if x.recipient_key.startswith("anonymous|")
                    else asdict(x)
                    for x in r.recipients
                    if x.recipient_key not in hidden  # a gag order still forbids telling
                ],
            }
            for r in reports
        ]
    }


__all__ = ["router"]
