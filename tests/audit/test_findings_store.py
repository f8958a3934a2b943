"""The findings queue on each state backend (SQLite file, in memory, PostgreSQL): the same
contract — refusals with reasons, compare-and-set reviews, delivery re-checks, audit entries."""

from __future__ import annotations

import threading

import pytest

from genomesh.core.consent import FindingsPreferences
from genomesh.core.errors import AccessDeniedError, ConflictError, InvalidInputError
from genomesh.core.findings import FindingFlag, FindingSender
from genomesh.node.state import NodeState
from genomesh.participants.findings import Findings

PEOPLE = frozenset({"P1", "P2", "P3"})
SENDER = FindingSender(subject="urn:rita", username="rita", institution="uni", application=4)


def flag(individual: str, category: str = "carrier_status") -> FindingFlag:
    return FindingFlag(
        dataset_id="ds", individual_id=individual, category=category, summary="CFTR carrier"
    )  # type: ignore[arg-type]


def test_findings__contract_on_backend(state: NodeState) -> None:
    queue = Findings(state, custodian_contact="data office", genetic_counselling="counselling")
    prefs = FindingsPreferences(categories=("carrier_status",), via="clinician", contact="Dr. B")
    queue.set_preferences("P1", prefs, set_by="participant", datasets=["ds"])
    assert queue.preferences("P1") == prefs and queue.preferences("P2") is None

    with pytest.raises(AccessDeniedError, match="did not opt in to the return of vus findings"):
        queue.flag(flag("P1", "vus"), SENDER, individuals=PEOPLE, withdrawn=False)
    with pytest.raises(AccessDeniedError, match="not opted in to the return of any findings"):
        queue.flag(flag("P2"), SENDER, individuals=PEOPLE, withdrawn=False)
    with pytest.raises(ConflictError, match="has withdrawn from dataset ds"):
        queue.flag(flag("P1"), SENDER, individuals=PEOPLE, withdrawn=True)
    taken = queue.flag(flag("P1"), SENDER, individuals=PEOPLE, withdrawn=False)
    assert taken["state"] == "pending_review"

    with pytest.raises(InvalidInputError, match="say why"):
        queue.review(taken["id"], "decline", by="cu")
    # two reviewers at once: exactly one decision takes effect
    outcomes: list[str] = []

    def decide(decision: str) -> None:
        try:
            queue.review(taken["id"], decision, by=decision, comment="because")  # type: ignore[arg-type]
            outcomes.append(decision)
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=decide, args=(d,)) for d in ("accept", "decline")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes).count("conflict") == 1
    final = queue.get(taken["id"]).state
    if final == "declined":
        return  # the decline won: nothing to deliver
    delivered = queue.deliver(taken["id"], by="cu", withdrawn=False)
    assert delivered["state"] == "delivered"
    [shown] = queue.delivered_to("P1")
    assert shown["custodian_contact"] == "data office" and "Dr. B" in shown["via_text"]
    operations = [
        (e.body["what"]["operation"], e.body["outcome"])
        for e in state.audit_entries()
        if e.body["what"]["surface"] == "findings"
    ]
    assert operations.count(("flag", "refused")) == 3
    assert ("deliver", "recorded") in operations
    assert state.verify().ok
