"""The node's return-of-findings API (genomesh.participants.findings holds the logic).

    POST /findings                                  a hub-signed flag (`type` "finding"), only
                                                    from the hub: queued, or refused with why
    POST /findings/updates                          hub-signed: the flag's state for its
                                                    researcher, or their confirmation
    POST /communities/report                        hub-signed: answers that used a community's data
    GET  /participants/me/findings                  the participant's delivered findings
    GET  /participants/me/findings-preferences      their preferences (null: none recorded)
    PUT  /participants/me/findings-preferences      set them (categories, via, contact)
    GET  /admin/findings?state=                     the custodian's queue
    POST /admin/findings/{id}/review                {"decision": accept|decline|ask_confirmation}
    POST /admin/findings/{id}/deliver               to the participant's page
    PUT  /admin/participants/{id}/findings-preferences   recorded from the enrolment form

The admin routes take `Authorization: Bearer <the node admin token>` (genomesh.node.admin:
`admin_token` in genomesh.toml, or NODE_DIR/admin.token; the CLI, `genomesh node findings ...`,
works on the node folder). The participant routes take the participant's token, as the rest of
/participants.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from genomesh.core.api_errors import error_responses
from genomesh.core.consent import FindingsPreferences
from genomesh.core.errors import InvalidInputError, NotFoundError
from genomesh.core.findings import FINDING_MESSAGE, FindingFlag, FindingSender
from genomesh.gate import DatasetAccess, DatasetResult, Gate
from genomesh.node.admin import require_node_admin
from genomesh.participants.findings import Findings, Review
from genomesh.participants.findings_notice import tell_hub
from genomesh.participants.rights import run_for_participant
from genomesh.participants.routes import Participant, get_gate

router = APIRouter(tags=["findings"])
_lock = threading.Lock()
FindingId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def findings_of(request: Request) -> Findings:
    """The node's findings queue (on the gate's state database; made on first use)."""
    state = request.app.state
    with _lock:
        queue = getattr(state, "findings", None)
        if queue is None:
            gate = get_gate(request)
            settings = gate.settings
            queue = state.findings = Findings(
                gate.state,
                custodian_contact=settings.custodian_contact,
                genetic_counselling=settings.genetic_counselling,
            )
    return queue


Queue = Annotated[Findings, Depends(findings_of)]
GateDep = Annotated[Gate, Depends(get_gate)]


Custodian = Annotated[str, Depends(require_node_admin)]


def _datasets_of(gate: Gate, individual_id: str) -> list[str]:
    return [
        f.dataset_id
        for f in (gate.guard.facts(ds) for ds in gate.node.datasets())
        if individual_id in f.individuals
    ]


def _withdrawn(gate: Gate, dataset_id: str, individual_id: str) -> bool:
    return individual_id in gate.state.withdrawn(dataset_id)


class SignedFinding(BaseModel):
    payload: dict[str, Any]
    sig: str


@router.post("/findings", status_code=201, responses=error_responses(400, 401, 403, 404, 409))
def receive_flag(
    message: SignedFinding, request: Request, gate: GateDep, queue: Queue
) -> dict[str, Any]:
    """A researcher's flag, forwarded and signed by the hub (never from anyone else)."""
    from genomesh.node.analysis_routes import hub_verifier

    payload = hub_verifier(request).verify(message.model_dump())
    if payload.get("type") != FINDING_MESSAGE:
        raise InvalidInputError(f"expected a {FINDING_MESSAGE!r} message", field="type")
    try:
        flag = FindingFlag.model_validate(payload.get("flag"))
        sender = FindingSender.model_validate(payload.get("sender"))
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error.get("loc", ()))
        raise InvalidInputError(f"bad finding: {error.get('msg')}", field=where or None) from None
    facts = gate.guard.facts(gate.node.dataset(flag.dataset_id))
    return queue.flag(
        flag, sender, individuals=facts.individuals,
        withdrawn=_withdrawn(gate, flag.dataset_id, flag.individual_id),
    )  # fmt: skip


@router.post("/findings/updates", responses=error_responses(400, 401, 404, 409))
def finding_update(message: SignedFinding, request: Request, queue: Queue) -> dict[str, Any]:
    """For the hub (signed): a researcher asks the state of their flag
    (`finding-status`) or sends the confirmation the custodian asked for
    (`finding-confirmation`, with `evidence`)."""
    from genomesh.node.analysis_routes import hub_verifier

    payload = hub_verifier(request).verify(message.model_dump())
    finding, subject = payload.get("finding"), payload.get("subject")
    if not isinstance(finding, int) or isinstance(finding, bool) or not isinstance(subject, str):
        raise InvalidInputError("a finding update names the finding (an id) and the researcher")
    if payload.get("type") == "finding-status":
        return queue.status(finding, subject)
    if payload.get("type") == "finding-confirmation":
        return queue.confirm(finding, subject, evidence=str(payload.get("evidence") or ""))
    raise InvalidInputError(
        "expected a 'finding-status' or 'finding-confirmation' message", field="type"
    )


def _usage(request: Request, gate: Gate, community: str) -> dict[str, Any]:
    from genomesh.participants.community_report import community_usage

    return community_usage(
        gate.state, gate.settings, list(gate.node.dataset_ids()),
        lambda d: gate.guard.facts(gate.node.dataset(d)).individuals, community,
    )  # fmt: skip


@router.post("/communities/report", responses=error_responses(400, 401))
def community_report(message: SignedFinding, request: Request, gate: GateDep) -> dict[str, Any]:
    """For the hub (signed): every answer that used a community's members' data."""
    from genomesh.node.analysis_routes import hub_verifier
    from genomesh.participants.community_report import REPORT_MESSAGE

    payload = hub_verifier(request).verify(message.model_dump())
    community = payload.get("community")
    if payload.get("type") != REPORT_MESSAGE or not isinstance(community, str) or not community:
        raise InvalidInputError(f"expected a {REPORT_MESSAGE!r} message naming a community")
    return _usage(request, gate, community)


@router.get("/admin/communities/{community}/report", responses=error_responses(401))
def admin_community_report(
    community: Annotated[str, Path(min_length=2, max_length=63)],
    request: Request, gate: GateDep, _who: Custodian,
) -> dict[str, Any]:  # fmt: skip
    """The custodian's view of the same report."""
    return _usage(request, gate, community)


# -- the participant's page ------------------------------------------------------------
@router.get("/participants/me/findings", responses=error_responses(401, 404))
def my_findings(request: Request, gate: GateDep, queue: Queue, me: Participant) -> dict[str, Any]:
    """Findings returned to me, with the offer of genetic counselling and the custodian's
    contact (through the gate, like every other answer about me)."""
    mine = queue.delivered_to(me)

    def execute(accesses: Sequence[DatasetAccess]) -> list[DatasetResult]:
        return [
            DatasetResult(
                a.dataset_id, count=1,
                records=[{"dataset_id": a.dataset_id,
                          "findings": [f for f in mine if f["dataset_id"] == a.dataset_id]}],
                contributors=set(a.allowed_individuals),
            )
            for a in accesses
        ]  # fmt: skip

    client = request.client.host if request.client else None
    out = run_for_participant(gate, me, "findings", execute, client)
    out["findings"] = [f for d in out.pop("datasets") for f in d["findings"]]
    return out


@router.get("/participants/me/findings-preferences", responses=error_responses(401))
def my_preferences(queue: Queue, me: Participant) -> dict[str, Any]:
    prefs = queue.preferences(me)
    return {"individual_id": me, "preferences": prefs.model_dump() if prefs else None}


@router.put("/participants/me/findings-preferences", responses=error_responses(400, 401, 404))
def set_my_preferences(
    body: FindingsPreferences, gate: GateDep, queue: Queue, me: Participant
) -> dict[str, Any]:
    """Which findings I want returned, and through whom (none = return nothing)."""
    datasets = _datasets_of(gate, me)
    if not datasets:
        raise NotFoundError("no dataset at this node holds your data", field="individual")
    queue.set_preferences(me, body, set_by="participant", datasets=datasets)
    return {"individual_id": me, "preferences": body.model_dump()}


# -- the custodian's queue (admin API) ---------------------------------------------------
class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Review
    comment: str = Field(default="", max_length=5_000)


class DeliverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(default="", max_length=5_000, description="a note to the participant")


@router.get("/admin/findings", responses=error_responses(401))
def queue_list(
    queue: Queue, _who: Custodian, state: Annotated[str | None, Query(max_length=32)] = None
) -> list[dict[str, Any]]:
    return queue.queue(state=state)


@router.post("/admin/findings/{finding_id}/review", responses=error_responses(400, 401, 404, 409))
def review(
    finding_id: FindingId, body: ReviewIn, gate: GateDep, queue: Queue, who: Custodian
) -> dict[str, Any]:
    """The decision, recorded; the flagging researcher is told in their hub inbox."""
    out = queue.review(finding_id, body.decision, by=who, comment=body.comment)
    out["hub_notice"] = tell_hub(gate.settings, out)
    return out


@router.post("/admin/findings/{finding_id}/deliver", responses=error_responses(401, 404, 409))
def deliver(
    finding_id: FindingId,
    gate: GateDep,
    queue: Queue,
    who: Custodian,
    body: DeliverIn | None = None,
) -> dict[str, Any]:
    row = queue.get(finding_id)
    out = queue.deliver(
        finding_id, by=who, withdrawn=_withdrawn(gate, row.dataset_id, row.individual_id),
        message=body.message if body else "",
    )  # fmt: skip
    out["hub_notice"] = tell_hub(gate.settings, out)
    return out


@router.put(
    "/admin/participants/{individual_id}/findings-preferences",
    responses=error_responses(400, 401, 404),
)
def record_preferences(
    individual_id: Annotated[str, Path(min_length=1, max_length=128)],
    body: FindingsPreferences, gate: GateDep, queue: Queue, _who: Custodian,
) -> dict[str, Any]:  # fmt: skip
    """Record a participant's preferences from their (signed) enrolment form."""
    datasets = _datasets_of(gate, individual_id)
    if not datasets:
        raise NotFoundError(f"no dataset at this node holds individual {individual_id!r}")
    queue.set_preferences(individual_id, body, set_by="custodian", datasets=datasets)
    return {"individual_id": individual_id, "preferences": body.model_dump()}


__all__ = ["findings_of", "router"]
