"""Compelled-disclosure requests: the custodian's register, kept in the hash-chained audit log.

A court, government or police body may demand participants' data. The custodian records
each demand (who asked, the legal basis, for whom, for what, when, the deadline, any gag
order and the protections invoked), then its decision (refused, contested, partly disclosed,
disclosed), and, if anything is handed over, exactly what: that goes through the gate like
every other disclosure (surface "compelled"; record level, only the participants the request
names), so it is in the audit log and the disclosure ledger. Every step is one audit entry
written by the identity `node|compelled-register`, so the register is part of the chain:
editing or deleting a request breaks `genomesh audit verify`.

Participants are named in the chain by their keyed pseudonym, never their id. A participant's
access report lists every disclosure about them; under a gag order, only from the gag's
recorded end date on (`visible_on`). The yearly transparency report counts requests by kind
of requester and by decision, with no names (`transparency_report`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal, get_args

from genomesh.audit.chain import canonical_json
from genomesh.audit.state import NodeState
from genomesh.core.errors import ConflictError, InvalidInputError, NotFoundError
from genomesh.gate import DatasetAccess, DatasetResult, Gate, GateRequest, compelled_identity
from genomesh.participants.rights import dataset_export

REGISTER_KEY = "node|compelled-register"
SURFACE = "compelled"
RequesterKind = Literal["court", "government", "police", "other"]
Decision = Literal["refused", "contested", "partly_disclosed", "disclosed"]
Item = Literal["phenotypes", "genotypes", "consent", "identity"]
KINDS: tuple[str, ...] = get_args(RequesterKind)
DECISIONS: tuple[str, ...] = get_args(Decision)
ITEMS: tuple[str, ...] = get_args(Item)
DISCLOSING = ("partly_disclosed", "disclosed")


@dataclass
class CompelledRequest:
    """One request as the register holds it (rebuilt from its audit entries)."""

    request_id: str
    requester: str
    requester_kind: str
    legal_basis: str
    dataset_id: str
    individual_pseudonyms: list[str]
    purpose: str
    received: str
    deadline: str | None
    protections: list[str]
    gag_until: str | None  # the gag order's recorded end; None: no gag
    gagged: bool
    notes: str | None
    recorded_seq: int
    decision: str = "pending"
    decision_reason: str | None = None
    decided_at: str | None = None
    disclosures: list[dict[str, Any]] = field(default_factory=list)
    history: list[int] = field(default_factory=list)  # audit seqs of every step

    def public(self) -> dict[str, Any]:
        """The register entry as the custodian sees it (pseudonyms, never ids)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("history",)} | {
            "audit_entries": list(self.history)
        }

    def visible_on(self, day: date) -> bool:
        """May participants be told on `day`? (No gag, or the gag's recorded end has come.)"""
        if not self.gagged:
            return True
        return self.gag_until is not None and day >= date.fromisoformat(self.gag_until)


def _day(value: str | date | None, *, field_name: str, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise InvalidInputError(f"{field_name} is required (YYYY-MM-DD)", field=field_name)
        return None
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise InvalidInputError(
            f"{field_name} {value!r} is not a date (YYYY-MM-DD)", field=field_name
        ) from None


def _text(value: str | None, *, field_name: str, required: bool = True) -> str | None:
    if value is None or not str(value).strip():
        if required:
            raise InvalidInputError(f"{field_name} must not be empty", field=field_name)
        return None
    if len(value) > 4000:
        raise InvalidInputError(f"{field_name} is longer than 4000 characters", field=field_name)
    return str(value).strip()


def _choice(value: str, allowed: Sequence[str], *, field_name: str) -> str:
    if value not in allowed:
        raise InvalidInputError(
            f"{field_name} {value!r} is not one of {', '.join(allowed)}", field=field_name
        )
    return value


def _append(state: NodeState, operation: str, details: dict[str, Any], dataset_id: str) -> int:
    now = datetime.now(UTC)
    entry = state.append_audit(
        {
            "time": now.isoformat(),
            "who": {
                "identity_key": REGISTER_KEY,
                "tier": None,
                "subject": "custodian",
                "issuer": "node",
            },
            "what": {
                "surface": SURFACE,
                "operation": operation,
                "parameters": {"request_id": details["request_id"]},
            },
            "datasets": [{"id": dataset_id}],
            "granularity": None,
            "n_individuals": 0,
            "refused": {},
            "outcome": "recorded",
            "compelled": details,
        },
        now=now.timestamp(),
    )
    return entry.seq


def record_request(
    gate: Gate,
    *,
    requester: str,
    requester_kind: str,
    legal_basis: str,
    dataset_id: str,
    individual_ids: Sequence[str],
    purpose: str,
    received: str | date,
    deadline: str | date | None = None,
    protections: Sequence[str] = (),
    gag_until: str | date | None = None,
    gagged: bool | None = None,
    notes: str | None = None,
) -> CompelledRequest:
    """Record a demand for participants' data (one audit entry); returns the register entry.

    `gag_until`: the day the request allows participants to be told; `gagged=True` without
    a date is a gag with no end yet (record its end later with `set_gag`)."""
    kind = _choice(requester_kind, KINDS, field_name="requester_kind")
    got = _day(received, field_name="received", required=True)
    due = _day(deadline, field_name="deadline")
    if due is not None and got is not None and due < got:
        raise InvalidInputError(
            f"deadline {due} is before the request was received ({got})", field="deadline"
        )
    until = _day(gag_until, field_name="gag_until")
    facts = gate.guard.facts(gate.node.dataset(dataset_id))
    if not individual_ids:
        raise InvalidInputError("name the participant(s) the request is about", field="individuals")
    unknown = sorted(set(individual_ids) - set(facts.individuals))
    if unknown:
        raise NotFoundError(
            f"dataset {dataset_id!r} has no individual(s) {unknown[:5]}", field="individuals"
        )
    request_id = f"cr-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"
    details = {
        "request_id": request_id,
        "requester": _text(requester, field_name="requester"),
        "requester_kind": kind,
        "legal_basis": _text(legal_basis, field_name="legal_basis"),
        "dataset_id": dataset_id,
        "individual_pseudonyms": sorted(
            {gate.state.pseudonym(dataset_id, i) for i in individual_ids}
        ),
        "purpose": _text(purpose, field_name="purpose"),
        "received": got,
        "deadline": due,
        "protections": [p for p in (_text(x, field_name="protections") for x in protections) if p],
        "gagged": bool(gagged) or until is not None,
        "gag_until": until,
        "notes": _text(notes, field_name="notes", required=False),
    }
    _append(gate.state, "request", details, dataset_id)
    return get_request(gate.state, request_id)


def register(state: NodeState) -> dict[str, CompelledRequest]:
    """Every request in the register, by id, with its latest decision and gag, from the chain."""
    out: dict[str, CompelledRequest] = {}
    for entry in state.audit_entries_of(REGISTER_KEY):
        op = entry.body.get("what", {}).get("operation")
        d = entry.body.get("compelled") or {}
        if op == "request":
            out[d["request_id"]] = CompelledRequest(
                **{k: d[k] for k in CompelledRequest.__dataclass_fields__ if k in d},
                recorded_seq=entry.seq,
                history=[entry.seq],
            )
            continue
        req = out.get(str(d.get("request_id")))
        if req is None:
            continue
        req.history.append(entry.seq)
        if op == "decision":
            req.decision, req.decision_reason = d["decision"], d.get("reason")
            req.decided_at = entry.body.get("time")
        elif op == "gag":
            req.gagged, req.gag_until = bool(d["gagged"]), d.get("gag_until")
        elif op == "disclosure":
            req.disclosures.append({k: v for k, v in d.items() if k != "request_id"})
    return out


def get_request(state: NodeState, request_id: str) -> CompelledRequest:
    found = register(state).get(request_id)
    if found is None:
        raise NotFoundError(f"no compelled-disclosure request {request_id!r}", field="request_id")
    return found


def decide(
    gate: Gate, request_id: str, *, decision: str, reason: str | None = None
) -> CompelledRequest:
    """Record the custodian's decision (a later decision, e.g. after a contest, supersedes)."""
    req = get_request(gate.state, request_id)
    _choice(decision, DECISIONS, field_name="decision")
    if req.disclosures and decision in ("refused", "contested"):
        raise ConflictError(
            f"request {request_id} already led to a disclosure; it cannot be {decision} now"
        )
    details = {"request_id": request_id, "decision": decision,
               "reason": _text(reason, field_name="reason", required=False)}  # fmt: skip
    _append(gate.state, "decision", details, req.dataset_id)
    return get_request(gate.state, request_id)


def set_gag(
    gate: Gate, request_id: str, *, until: str | date | None, gagged: bool = True
) -> CompelledRequest:
    """Record a gag order's end date (or a gag with no end yet, or no gag at all)."""
    req = get_request(gate.state, request_id)
    day = _day(until, field_name="gag_until")
    details = {"request_id": request_id, "gagged": gagged or day is not None, "gag_until": day}
    _append(gate.state, "gag", details, req.dataset_id)
    return get_request(gate.state, request_id)


def disclose(
    gate: Gate, request_id: str, *, individual_ids: Sequence[str], items: Sequence[str]
) -> dict[str, Any]:
    """Hand over exactly `items` about `individual_ids` under a decided request, through the gate.

    Refused unless the latest decision is partly disclosed or disclosed, and only for
    participants the request names. Returns the data that left, its SHA-256 and audit ids."""
    req = get_request(gate.state, request_id)
    if req.decision not in DISCLOSING:
        raise ConflictError(
            f"request {request_id} is {req.decision}: nothing may be disclosed under it (record "
            "a decision of partly_disclosed or disclosed first)",
            field="decision",
        )
    chosen = sorted({_choice(i, ITEMS, field_name="items") for i in items})
    if not chosen:
        raise InvalidInputError(f"name what is disclosed: {', '.join(ITEMS)}", field="items")
    pseudonyms = {gate.state.pseudonym(req.dataset_id, i): i for i in individual_ids}
    outside = sorted(i for p, i in pseudonyms.items() if p not in req.individual_pseudonyms)
    if outside or not pseudonyms:
        raise ConflictError(
            f"request {request_id} does not name {outside[:5] or 'anyone'}: only the "
            "participants it names can be disclosed under it",
            field="individuals",
        )
    dataset = gate.node.dataset(req.dataset_id)

    def execute(accesses: Sequence[DatasetAccess]) -> list[DatasetResult]:
        out = []
        for a in accesses:
            people = sorted(a.allowed_individuals)
            records = [_only(dataset_export(dataset, i), chosen) for i in people]
            out.append(DatasetResult(a.dataset_id, len(people), records, set(people)))
        return out

    response = gate.run(
        GateRequest(
            identity=compelled_identity(request_id),
            surface=SURFACE,
            operation="disclose",
            parameters={
                "request_id": request_id,
                "items": chosen,
                "individual_pseudonyms": sorted(pseudonyms),
            },
            dataset_ids=[req.dataset_id],
            requested_granularity="record",
        ),
        execute,
    )
    records = [r for res in response.results for r in res.records]
    digest = hashlib.sha256(canonical_json(records).encode()).hexdigest()
    details = {
        "request_id": request_id,
        "gate_audit_seq": response.audit_id,
        "items": chosen,
        "individual_pseudonyms": sorted(pseudonyms),
        "n_individuals": len(records),
        "sha256": digest,
        "disclosed_at": datetime.now(UTC).isoformat(),
    }
    seq = _append(gate.state, "disclosure", details, req.dataset_id)
    return {"request_id": request_id, "audit_id": response.audit_id, "register_entry": seq,
            "sha256": digest, "items": chosen, "records": records}  # fmt: skip


def _only(export: dict[str, Any], items: Sequence[str]) -> dict[str, Any]:
    """The parts of a participant's data named by `items` (nothing else leaves)."""
    out: dict[str, Any] = {"dataset_id": export["dataset_id"]}
    if "identity" in items:
        out["individual_id"] = export["attributes"]["individual_id"]
    if "phenotypes" in items:
        out["individual"] = export["individual"]
        for k in ("features", "diseases", "measures", "interventions"):
            out[k] = export[k]
    if "genotypes" in items:
        out["genotypes"] = export["genotypes"]
    if "consent" in items:
        out["consent_terms"] = export["consent_terms"]
    return out


def about_participant(
    state: NodeState, dataset_id: str, individual_id: str, *, today: date | None = None
) -> tuple[list[dict[str, Any]], set[str]]:
    """Disclosures under compelled requests about one participant that they may see today,
    and the ledger recipient keys to hide from them (disclosures still under a gag)."""
    day = today or datetime.now(UTC).date()
    me = state.pseudonym(dataset_id, individual_id)
    shown, hidden = [], set()
    for req in register(state).values():
        if req.dataset_id != dataset_id:
            continue
        mine = [d for d in req.disclosures if me in d.get("individual_pseudonyms", [])]
        if not mine:
            continue
        if not req.visible_on(day):
            hidden.add(compelled_identity(req.request_id).key)
            continue
        for d in mine:
            shown.append(
                {
                    "request_id": req.request_id,
                    "requester": req.requester,
                    "requester_kind": req.requester_kind,
                    "legal_basis": req.legal_basis,
                    "purpose": req.purpose,
                    "received": req.received,
                    "decision": req.decision,
                    "protections": req.protections,
                    "disclosed_at": d["disclosed_at"],
                    "items": d["items"],
                    "gag_until": req.gag_until,
                }
            )
    return shown, hidden


def gagged_keys(state: NodeState, *, today: date | None = None) -> set[str]:
    """Ledger recipient keys of compelled disclosures still under a gag (hidden from reports)."""
    day = today or datetime.now(UTC).date()
    return {
        compelled_identity(r.request_id).key
        for r in register(state).values()
        if r.disclosures and not r.visible_on(day)
    }


def transparency_report(state: NodeState, year: int, *, node: str) -> dict[str, Any]:
    """Requests received in `year`: counts by kind of requester and by decision; no names."""
    if not 1900 <= year <= 9999:
        raise InvalidInputError(f"year {year} is out of range", field="year")
    by_kind = dict.fromkeys(KINDS, 0)
    by_decision = dict.fromkeys(("pending", *DECISIONS), 0)
    cross = {k: dict.fromkeys(("pending", *DECISIONS), 0) for k in KINDS}
    people: set[str] = set()
    total = gag = 0
    for req in register(state).values():
        if not req.received.startswith(f"{year:04d}-"):
            continue
        total += 1
        by_kind[req.requester_kind] += 1
        by_decision[req.decision] += 1
        cross[req.requester_kind][req.decision] += 1
        gag += int(req.gagged)
        for d in req.disclosures:
            people.update(f"{req.dataset_id}\x00{p}" for p in d["individual_pseudonyms"])
    return {
        "node": node,
        "year": year,
        "requests": total,
        "by_kind": by_kind,
        "by_decision": by_decision,
        "by_kind_and_decision": cross,
        "with_gag_order": gag,
        "participants_disclosed": len(people),
        "generated": datetime.now(UTC).isoformat(),
    }


__all__ = [
    "DECISIONS",
    "ITEMS",
    "KINDS",
    "REGISTER_KEY",
    "CompelledRequest",
    "about_participant",
    "decide",
    "disclose",
    "gagged_keys",
    "get_request",
    "record_request",
    "register",
    "set_gag",
    "transparency_report",
]
