"""Withdrawal: record it, list every earlier recipient, notify them (node + hub), flag old results.

From the moment `withdraw` returns, the gate leaves the participant out of every answer
(`NodeState.withdrawn`). The disclosure ledger names everyone who earlier received data derived
from the participant; each gets a notification recorded at the node, and researchers (who have
a passport subject) are told through the hub when `NodeSettings.hub_url` is set:
`POST {hub_url}/notifications` with `{node, dataset_id, individual_pseudonym, recipients,
withdrawn_at, message}`. The pseudonym is a keyed hash; the raw id never leaves the node.
Anonymous recipients cannot be reached; their notices are recorded as `not_deliverable`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from genomesh.audit.state import NodeState, Recipient
from genomesh.core.errors import NotFoundError
from genomesh.core.hub_envelope import existing_node_key, hub_reason, sign_for_hub
from genomesh.core.settings import NodeSettings
from genomesh.gate.guard import COMPELLED_ISSUER, Guard

if TYPE_CHECKING:
    from genomesh.store import NodeStore

MESSAGE = (
    "A participant whose data contributed to results you received from dataset {dataset} at node "
    "{node} has withdrawn consent (at {at}). Do not use those results further where you can avoid "
    "it, and do not include this participant in new analyses."
)
STALE_NOTE = (
    " Analyses that used their data are marked stale at the hub (`genomesh analysis status`); "
    "`genomesh analysis rerun TASK_ID` runs one again without them and reports how much the "
    "result changed."
)


@dataclass(frozen=True)
class WithdrawalReport:
    """What a withdrawal did: who was notified and whether the hub got it."""

    dataset_id: str
    individual_id: str
    individual_pseudonym: str
    withdrawn_at: str
    recipients: tuple[Recipient, ...]
    notification_ids: tuple[int, ...]
    hub_delivery: str  # delivered | failed | local_only | none
    hub_detail: str | None = None
    flagged_audit_entries: tuple[int, ...] = field(default_factory=tuple)


def withdraw(
    state: NodeState,
    *,
    settings: NodeSettings,
    node: NodeStore,
    dataset_id: str,
    individual_id: str,
    reason: str | None = None,
    requested_by: str = "custodian",
    http_client: httpx.Client | None = None,
) -> WithdrawalReport:
    """Withdraw a participant from a dataset (ConflictError if already withdrawn)."""
    facts = Guard(settings=settings, node=node, state=state).facts(node.dataset(dataset_id))
    if individual_id not in facts.individuals:
        raise NotFoundError(
            f"dataset {dataset_id!r} has no individual {individual_id!r}", field="individual"
        )
    record = state.add_withdrawal(dataset_id=dataset_id, individual_id=individual_id, reason=reason)
    at = datetime.fromtimestamp(record.withdrawn_at, UTC).isoformat()
    pseudonym = state.pseudonym(dataset_id, individual_id)
    recipients = tuple(
        state.recipients(
            dataset_id=dataset_id, individual_id=individual_id, before=record.withdrawn_at
        )
    )
    stale = stale_results(state, dataset_id, individual_id, before=record.withdrawn_at)
    stale_tasks = sorted({r["task_id"] for r in stale if r.get("task_id")})
    message = MESSAGE.format(dataset=dataset_id, node=settings.name, at=at)
    if stale_tasks:
        message += STALE_NOTE
    reachable: list[int] = []
    ids: list[int] = []
    for r in recipients:
        can_reach = _reachable(r)
        nid = state.add_notification(
            dataset_id=dataset_id,
            individual_pseudonym=pseudonym,
            recipient_key=r.recipient_key,
            recipient_subject=r.recipient_subject,
            message=message,
            delivery="pending" if can_reach else "not_deliverable",
        )
        ids.append(nid)
        if can_reach:
            reachable.append(nid)
    subjects = sorted({str(r.recipient_subject) for r in recipients if _reachable(r)})
    delivery, detail = _deliver(
        settings,
        http_client,
        reachable,
        state,
        body={
            "node": settings.name,
            "dataset_id": dataset_id,
            "individual_pseudonym": pseudonym,
            "recipients": subjects,
            "withdrawn_at": at,
            "message": message,
            # the hub marks these analysis tasks stale (genomesh.hub.analysis.stale)
            "stale_tasks": stale_tasks,
        },
    )
    flagged = tuple(
        sorted(
            {
                f.audit_seq
                for f in state.results_including_withdrawn()
                if f.dataset_id == dataset_id and f.individual_id == individual_id
            }
        )
    )
    state.append_audit(
        {
            "time": at,
            "who": {
                "identity_key": f"node|{requested_by}",
                "tier": None,
                "subject": requested_by,
                "issuer": "node",
            },
            "what": {
                "surface": "participants",
                "operation": "withdraw",
                "parameters": {
                    "dataset_id": dataset_id,
                    "individual_pseudonym": pseudonym,
                    "reason_given": reason is not None,
                },
            },
            "datasets": [{"id": dataset_id}],
            "granularity": None,
            "n_individuals": 0,
            "refused": {},
            "outcome": "recorded",
            "withdrawal": {
                "recipients_notified": len(ids),
                "hub_delivery": delivery,
                "flagged_audit_entries": list(flagged),
                "stale_tasks": stale_tasks,
            },
        },
        now=record.withdrawn_at,
    )
    return WithdrawalReport(
        dataset_id, individual_id, pseudonym, at, recipients, tuple(ids), delivery, detail, flagged
    )


def stale_results(
    state: NodeState, dataset_id: str, individual_id: str, *, before: float | None = None
) -> list[dict[str, Any]]:
    """Every earlier result that included the participant (from the disclosure ledger): what
    it was (surface, operation, record-level or aggregate), who got it, when, and the hub's
    analysis task id for analysis rounds. These are stale once the participant withdraws."""
    out: dict[int, dict[str, Any]] = {}
    for e in state.ledger(individual_id=individual_id, dataset_id=dataset_id):
        if before is not None and e.created_at > before:
            continue
        entry = state.audit_entry(e.audit_seq)
        what = (entry.body.get("what") or {}) if entry is not None else {}
        task = (
            (what.get("parameters") or {}).get("task_id")
            if what.get("surface") == "analysis"
            else None
        )
        out[e.audit_seq] = {
            "audit_seq": e.audit_seq,
            "surface": what.get("surface"),
            "operation": what.get("operation"),
            "kind": e.kind,
            "recipient_key": e.recipient_key,
            "recipient": e.recipient_subject,
            "answered_at": datetime.fromtimestamp(e.created_at, UTC).isoformat(),
            "task_id": task if isinstance(task, str) else None,
        }
    return [out[k] for k in sorted(out)]


def _stale_tasks_of(state: NodeState, dataset_id: str, pseudonym: str) -> list[str]:
    """The stale analysis tasks of the withdrawal a notice (known by pseudonym) is about."""
    for w in state.withdrawals():
        if w.dataset_id == dataset_id and state.pseudonym(dataset_id, w.individual_id) == pseudonym:
            found = stale_results(state, dataset_id, w.individual_id, before=w.withdrawn_at)
            return sorted({r["task_id"] for r in found if r.get("task_id")})
    return []


def _reachable(r: Recipient) -> bool:
    """A researcher the hub can tell: not anonymous callers, and never the recipient of a
    compelled disclosure (that one is the custodian's to handle; the hub must not learn of it)."""
    return (
        r.recipient_subject is not None
        and not r.recipient_key.startswith("anonymous|")
        and not r.recipient_key.startswith(COMPELLED_ISSUER + "|")
    )


def _deliver(
    settings: NodeSettings,
    client: httpx.Client | None,
    ids: list[int],
    state: NodeState,
    *,
    body: dict[str, Any],
) -> tuple[str, str | None]:
    """POST the notice to the hub; record the outcome on each notification row."""
    if not ids:
        return "none", None
    if not settings.hub_url:
        state.set_delivery(ids, status="local_only", detail="no hub_url configured")
        return "local_only", None
    url = settings.hub_url.rstrip("/") + "/notifications"
    payload, headers = authenticated_for_hub(settings, body)
    own = client is None
    http = client or httpx.Client(timeout=10.0)
    try:
        response = http.post(url, json=payload, headers=headers)
        if response.status_code >= 300:
            detail = f"hub answered {response.status_code}: {hub_reason(response)}"
            state.set_delivery(ids, status="failed", detail=detail)
            return "failed", detail
        state.set_delivery(ids, status="delivered", detail=f"hub answered {response.status_code}")
        return "delivered", None
    except httpx.HTTPError as exc:
        detail = f"{type(exc).__name__}: {exc}"
        state.set_delivery(ids, status="failed", detail=detail)
        return "failed", detail
    finally:
        if own:
            http.close()


def authenticated_for_hub(
    settings: NodeSettings, body: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """How the hub knows a notice (withdrawal, finding) is from this node.

    With `hub_secret` set: the plain body and `Authorization: Bearer <hub_secret>`. Otherwise,
    when the node has its dial-out key (`NODE_DIR/dialout_ed25519.pem`, registered at the hub):
    the body in the hub's signed-message envelope (`genomesh.core.hub_envelope`). Otherwise the
    plain body (the hub refuses it and the notice stays `failed` until credentials are
    configured and it is re-sent).
    """
    if settings.hub_secret:
        return body, {"Authorization": f"Bearer {settings.hub_secret}"}
    key = existing_node_key(settings.node_dir)
    if key is not None:
        return sign_for_hub(body, key, name=settings.name), {}
    return body, {}


def redeliver_pending(
    state: NodeState, *, settings: NodeSettings, http_client: httpx.Client | None = None
) -> int:
    """Retry hub delivery of failed notices (one POST per dataset/participant); returns how many went."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for n in state.notifications():
        if n.delivery in ("failed", "pending", "local_only") and n.recipient_subject:
            groups.setdefault((n.dataset_id, n.individual_pseudonym), []).append(n)
    sent = 0
    for (dataset_id, pseudonym), notes in groups.items():
        at = datetime.fromtimestamp(notes[0].created_at, UTC).isoformat()
        body = {
            "node": settings.name,
            "dataset_id": dataset_id,
            "individual_pseudonym": pseudonym,
            "recipients": sorted({n.recipient_subject for n in notes}),
            "withdrawn_at": at,
            "message": notes[0].message,
            "stale_tasks": _stale_tasks_of(state, dataset_id, pseudonym),
        }
        status, _ = _deliver(settings, http_client, [n.id for n in notes], state, body=body)
        sent += len(notes) if status == "delivered" else 0
    return sent


__all__ = ["WithdrawalReport", "redeliver_pending", "stale_results", "withdraw"]
