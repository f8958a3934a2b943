"""Return of individual findings, the hub's part: check the researcher's grant, forward the
flag, signed, to the custodian's node only.

A researcher with an approved application flags a finding about a participant of one of its
datasets (`POST /dac/findings`). The hub checks the application is the researcher's, approved
now, and covers the dataset; it then signs the flag (its Ed25519 key, as for analysis rounds:
`{"type": "finding", "flag", "sender"}`, `aud` = the node) and sends it to that node's
`POST /findings` through its node client (push or dial-out). The node decides: it refuses a
flag about a withdrawn participant, or in a category the participant did not opt in to, with
the reason, which the hub passes back with the node's status. The hub records that a finding
was flagged (node, dataset, category, the node's finding id) on the application's history,
never the participant's id: the participant is reached only by their custodian.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from genomesh.core.consent import FindingCategory
from genomesh.core.errors import (
    AccessDeniedError,
    ConflictError,
    GenomeshError,
    InvalidInputError,
    NotFoundError,
    StoreError,
    UpstreamError,
)
from genomesh.core.findings import FINDING_MESSAGE, FindingFlag, FindingSender
from genomesh.hub.dac import accounts as acc
from genomesh.hub.dac import applications as apps
from genomesh.hub.dac.datasets import DatasetRef, resolve_dataset

FINDINGS_PATH = "/findings"
_BY_STATUS: dict[int, type[GenomeshError]] = {
    400: InvalidInputError,
    403: AccessDeniedError,
    404: NotFoundError,
    409: ConflictError,
}


class FindingIn(BaseModel):
    """A researcher's flag, as posted to the hub."""

    model_config = ConfigDict(extra="forbid")

    application: int = Field(ge=1, le=2**63 - 1, description="your approved application")
    dataset: DatasetRef
    individual_id: str = Field(min_length=1, max_length=128)
    category: FindingCategory
    summary: str = Field(min_length=1, max_length=2_000)
    variant: str | None = Field(default=None, max_length=200)
    gene: str | None = Field(default=None, max_length=64)
    evidence: str = Field(default="", max_length=5_000)


def prepare(service: Any, username: str, body: FindingIn) -> tuple[str, FindingFlag, FindingSender]:
    """(node name, flag, sender) after checking the grant; raises naming what is missing."""
    with service.database.transaction() as session:
        account = acc.get_account(session, username)
        app = apps.get_application(session, body.application)
        if app.applicant_id != account.id:
            raise NotFoundError(f"no application {body.application} of yours", field="application")
        now = service.clock()
        if app.state != "approved" or app.approved_until is None or app.approved_until <= now:
            raise ConflictError(
                f"application {app.id} is {app.state}; only a researcher with a current approval "
                "flags findings",
                field="application",
            )
        dataset = resolve_dataset(session, body.dataset, catalogue=service.catalogue)
        if dataset.url not in {link.dataset_url for link in app.datasets}:
            raise AccessDeniedError(
                f"application {app.id} does not cover dataset {dataset.node}/{dataset.dataset_id}"
            )
        flag = FindingFlag(
            dataset_id=dataset.dataset_id, individual_id=body.individual_id,
            category=body.category, summary=body.summary, variant=body.variant, gene=body.gene,
            evidence=body.evidence,
        )  # fmt: skip
        sender = FindingSender(
            subject=account.subject, username=account.username,
            institution=account.institution, application=app.id,
        )  # fmt: skip
        return dataset.node, flag, sender


def record(service: Any, username: str, application_id: int, node: str, answer: dict[str, Any], flag: FindingFlag) -> None:  # fmt: skip
    """The flag on the application's history (no participant id)."""
    with service.database.transaction() as session:
        app = apps.get_application(session, application_id)
        app.events.append(
            apps.ApplicationEvent(
                at=service.clock(), actor=username, action="finding", from_state=app.state,
                to_state=app.state, comment=f"finding ({flag.category}) sent to node {node}",
                data={"node": node, "dataset_id": flag.dataset_id, "category": flag.category,
                      "finding": answer.get("id"), "state": answer.get("state")},
            )
        )  # fmt: skip


async def forward(state: Any, service: Any, username: str, body: FindingIn) -> dict[str, Any]:
    """Check, sign, send to the node, and return the node's answer (or its refusal)."""
    from genomesh.hub.client import NodeRequest
    from genomesh.hub.signing import sign_message

    store, client, dialout = (getattr(state, k, None) for k in ("store", "client", "dialout"))
    if store is None or client is None or dialout is None:
        raise StoreError("flagging findings needs the full hub (registry and node client)")
    node_name, flag, sender = prepare(service, username, body)
    node = store.node(node_name)
    message = sign_message(
        {"type": FINDING_MESSAGE, "flag": flag.model_dump(mode="json"),
         "sender": sender.model_dump(mode="json")},
        dialout.key, iss="hub", aud=node.name,
    )  # fmt: skip
    reply = await client.send(
        node, NodeRequest("POST", FINDINGS_PATH, body=message),
        timeout=service.settings.node_timeout_seconds,
    )  # fmt: skip
    if reply.status != "ok":
        error = _BY_STATUS.get(reply.http_status or 0, UpstreamError)
        raise error(
            f"node {node.name} refused the finding: {reply.reason}"
            if error is not UpstreamError
            else f"node {node.name} did not take the finding: {reply.reason}",
            details={"node": node.name, "node_status": reply.http_status},
        )
    answer = dict(reply.body)
    record(service, username, body.application, node.name, answer, flag)
    return {"node": node.name, **answer}


async def update(
    state: Any, service: Any, username: str, node_name: str, finding: int, *,
    evidence: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The state of a flag the user sent (`evidence` None), or their confirmation of it; the
    node answers only the researcher who flagged it."""
    from genomesh.hub.client import NodeRequest
    from genomesh.hub.signing import sign_message

    store, client, dialout = (getattr(state, k, None) for k in ("store", "client", "dialout"))
    if store is None or client is None or dialout is None:
        raise StoreError("findings need the full hub (registry and node client)")
    with service.database.transaction() as session:
        subject = acc.get_account(session, username).subject
    node = store.node(node_name)
    body: dict[str, Any] = {"type": "finding-status", "finding": finding, "subject": subject}
    if evidence is not None:
        body = {**body, "type": "finding-confirmation", "evidence": evidence}
    message = sign_message(body, dialout.key, iss="hub", aud=node.name)
    reply = await client.send(
        node, NodeRequest("POST", FINDINGS_PATH + "/updates", body=message),
        timeout=service.settings.node_timeout_seconds,
    )  # fmt: skip
    if reply.status != "ok":
        error = _BY_STATUS.get(reply.http_status or 0, UpstreamError)
        raise error(f"node {node.name}: {reply.reason}", details={"node": node.name})
    return {"node": node.name, **dict(reply.body)}


__all__ = ["FINDINGS_PATH", "FindingIn", "forward", "prepare", "update"]
