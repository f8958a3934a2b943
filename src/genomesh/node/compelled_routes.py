"""The node's compelled-disclosure register over HTTP, and its public transparency report.

Admin API (node admin token, genomesh.node.admin):

    POST /admin/compelled                      record a request
    GET  /admin/compelled                      the register
    GET  /admin/compelled/{id}                 one request, with its decision and disclosures
    POST /admin/compelled/{id}/decision        {"decision": ..., "reason": ...}
    POST /admin/compelled/{id}/gag             {"gag_until": "YYYY-MM-DD" | null, "gagged": true}
    POST /admin/compelled/{id}/disclose        {"individuals": [...], "items": [...]}: through
                                               the gate; returns exactly what was disclosed

Public:

    GET  /transparency/{year}                  counts by kind and decision, no names
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from genomesh.core.api_errors import error_responses
from genomesh.node.admin import require_node_admin
from genomesh.participants import compelled
from genomesh.participants.routes import GateDep

admin = APIRouter(
    prefix="/admin/compelled",
    tags=["compelled disclosure"],
    dependencies=[Depends(require_node_admin)],
)
public = APIRouter(tags=["compelled disclosure"])


class RequestBody(BaseModel):
    """A compelled-disclosure request as the custodian received it."""

    model_config = ConfigDict(extra="forbid")

    requester: str = Field(description="who asked, e.g. the court or agency")
    requester_kind: str = Field(description="court | government | police | other")
    legal_basis: str = Field(description="the law, order or warrant invoked")
    dataset_id: str
    individuals: list[str] = Field(description="the participants it is about (individual ids)")
    purpose: str = Field(description="what the data is wanted for")
    received: date
    deadline: date | None = None
    protections: list[str] = Field(
        default_factory=list,
        description="protections invoked, e.g. a certificate of confidentiality",
    )
    gag_until: date | None = Field(
        default=None, description="the day participants may be told (gag order's end)"
    )
    gagged: bool = Field(default=False, description="a gag order without an end date yet")
    notes: str | None = None


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: str = Field(description="refused | contested | partly_disclosed | disclosed")
    reason: str | None = None


class GagBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gag_until: date | None = None
    gagged: bool = True


class DiscloseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    individuals: list[str]
    items: list[str] = Field(description="phenotypes | genotypes | consent | identity")


RequestId = Annotated[str, Path(description="the request's id (cr-...)")]


@admin.post("", status_code=201, responses=error_responses(400, 401, 403, 404))
def post_request(gate: GateDep, body: RequestBody) -> dict[str, Any]:
    """Record a compelled-disclosure request (an entry in the hash-chained audit log)."""
    req = compelled.record_request(
        gate,
        requester=body.requester,
        requester_kind=body.requester_kind,
        legal_basis=body.legal_basis,
        dataset_id=body.dataset_id,
        individual_ids=body.individuals,
        purpose=body.purpose,
        received=body.received,
        deadline=body.deadline,
        protections=body.protections,
        gag_until=body.gag_until,
        gagged=body.gagged,
        notes=body.notes,
    )
    return req.public()


@admin.get("", responses=error_responses(401, 403))
def list_requests(gate: GateDep) -> dict[str, Any]:
    """The register, oldest first."""
    return {"requests": [r.public() for r in compelled.register(gate.state).values()]}


@admin.get("/{request_id}", responses=error_responses(401, 403, 404))
def get_request(gate: GateDep, request_id: RequestId) -> dict[str, Any]:
    return compelled.get_request(gate.state, request_id).public()


@admin.post("/{request_id}/decision", responses=error_responses(400, 401, 403, 404, 409))
def post_decision(gate: GateDep, request_id: RequestId, body: DecisionBody) -> dict[str, Any]:
    """Record the decision (a later one, e.g. after contesting, supersedes)."""
    return compelled.decide(gate, request_id, decision=body.decision, reason=body.reason).public()


@admin.post("/{request_id}/gag", responses=error_responses(400, 401, 403, 404))
def post_gag(gate: GateDep, request_id: RequestId, body: GagBody) -> dict[str, Any]:
    """Record the gag order's end (or that there is none)."""
    return compelled.set_gag(gate, request_id, until=body.gag_until, gagged=body.gagged).public()


@admin.post("/{request_id}/disclose", responses=error_responses(400, 401, 403, 404, 409))
def post_disclose(gate: GateDep, request_id: RequestId, body: DiscloseBody) -> dict[str, Any]:
    """Disclose exactly `items` about `individuals` under a decided request (through the gate)."""
    return compelled.disclose(gate, request_id, individual_ids=body.individuals, items=body.items)


@public.get("/transparency/{year}", responses=error_responses(400))
def transparency(gate: GateDep, year: Annotated[int, Path(ge=1900, le=9999)]) -> dict[str, Any]:
    """This node's transparency report for one year: compelled-disclosure requests counted by
    kind of requester and by decision, with no names."""
    return compelled.transparency_report(gate.state, year, node=gate.settings.name)


__all__ = ["admin", "public"]
