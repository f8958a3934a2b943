"""Invariant 3: a withdrawn participant counts in no later answer; earlier recipients are
listed and notified (node + hub); earlier results are flagged."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from genomesh.core.errors import ConflictError, NotFoundError
from genomesh.gate import Gate, GateRequest
from genomesh.participants.withdrawal import redeliver_pending, withdraw
from tests.gate.conftest import PLAIN, anonymous, carriers_at, controlled, researcher


def ask(gate: Gate, identity, pos: int = 200, granularity: str = "record"):  # type: ignore[no-untyped-def]
    request = GateRequest(identity, "beacon", "g_variants", {"pos": pos}, ("cohort",), granularity)  # type: ignore[arg-type]
    return gate.run(request, carriers_at(gate.node, pos))


class Hub:
    """Stands in for the hub's POST /notifications endpoint (an httpx transport)."""

    def __init__(self, status: int = 202) -> None:
        self.status, self.bodies = status, []  # type: ignore[var-annotated]

    def client(self) -> httpx.Client:
        def handle(request: httpx.Request) -> httpx.Response:
            assert request.url.path == "/notifications"
            self.bodies.append(json.loads(request.content))
            return httpx.Response(self.status, json={"ok": self.status < 300})

        return httpx.Client(transport=httpx.MockTransport(handle))


def test_withdraw__later_answers_exclude_and_recipients_are_notified(
    make_gate: Callable[..., Gate],
) -> None:
    gate = make_gate(hub_url="http://hub.test", dataset_policies=PLAIN)  # counts of 7-8 shown
    before_alice = ask(gate, researcher("alice"))
    assert before_alice.results[0].count == 8
    before_bob = ask(gate, controlled("bob"))
    assert "S1" in {r["individual_id"] for r in before_bob.results[0].records}
    ask(gate, anonymous())
    ask(gate, researcher("zoe"), pos=300)  # S1 does not carry this one: zoe got nothing from S1

    hub = Hub()
    report = withdraw(
        gate.state,
        settings=gate.settings,
        node=gate.node,
        dataset_id="cohort",
        individual_id="S1",
        reason="moved",
        http_client=hub.client(),
    )
    subjects = {r.recipient_subject for r in report.recipients}
    assert subjects == {"alice", "bob", None}  # None: the anonymous caller
    assert report.hub_delivery == "delivered"
    (body,) = hub.bodies
    assert body["recipients"] == ["alice", "bob"]
    assert body["dataset_id"] == "cohort" and body["node"] == "gate-test-node"
    assert body["individual_pseudonym"] == report.individual_pseudonym and "S1" not in json.dumps(
        body
    )
    notes = {n.recipient_subject: n.delivery for n in gate.state.notifications(dataset_id="cohort")}
    assert notes == {"alice": "delivered", "bob": "delivered", None: "not_deliverable"}

    # From now on S1 counts in nothing.
    after_alice = ask(gate, researcher("alice"))
    # alice's earlier answer differs from this one by one person: anti-differencing hides it
    # (else before/after would reveal that the withdrawn participant carries the variant).
    assert after_alice.results[0].suppression == "differencing"
    assert "S1" not in {
        e.individual_id
        for e in gate.state.ledger(individual_id="S1")
        if e.audit_seq == after_alice.audit_id
    }
    assert ask(gate, researcher("yves")).results[0].count == 7
    after_bob = ask(gate, controlled("bob"))
    assert "S1" not in {r["individual_id"] for r in after_bob.results[0].records}
    assert max(e.audit_seq for e in gate.state.ledger(individual_id="S1")) < (
        after_alice.audit_id or 0
    )
    # Earlier results are flagged.
    flagged = gate.state.flagged_audit_seqs()
    assert {before_alice.audit_id, before_bob.audit_id} <= flagged
    assert after_alice.audit_id not in flagged and after_bob.audit_id not in flagged
    assert set(report.flagged_audit_entries) == flagged
    # The withdrawal itself is in the audit log, and the chain is intact.
    ops = [e.body["what"]["operation"] for e in gate.state.audit_entries()]
    assert ops == ["g_variants"] * 4 + ["withdraw"] + ["g_variants"] * 3
    assert gate.state.verify().ok


def test_withdraw__twice_or_unknown_changes_nothing(gate: Gate) -> None:
    withdraw(
        gate.state, settings=gate.settings, node=gate.node, dataset_id="cohort", individual_id="S2"
    )
    with pytest.raises(ConflictError, match="already withdrew"):
        withdraw(
            gate.state,
            settings=gate.settings,
            node=gate.node,
            dataset_id="cohort",
            individual_id="S2",
        )
    with pytest.raises(NotFoundError, match="no individual 'S99'"):
        withdraw(
            gate.state,
            settings=gate.settings,
            node=gate.node,
            dataset_id="cohort",
            individual_id="S99",
        )
    with pytest.raises(NotFoundError):
        withdraw(
            gate.state,
            settings=gate.settings,
            node=gate.node,
            dataset_id="nope",
            individual_id="S2",
        )
    assert [w.individual_id for w in gate.state.withdrawals()] == ["S2"]


def test_withdraw__hub_failure_is_recorded_and_redelivered(make_gate: Callable[..., Gate]) -> None:
    gate = make_gate(hub_url="http://hub.test")
    ask(gate, researcher("alice"))
    report = withdraw(
        gate.state,
        settings=gate.settings,
        node=gate.node,
        dataset_id="cohort",
        individual_id="S3",
        http_client=Hub(503).client(),
    )
    assert report.hub_delivery == "failed" and "503" in (report.hub_detail or "")
    assert [n.delivery for n in gate.state.notifications()] == ["failed"]
    hub = Hub()
    assert redeliver_pending(gate.state, settings=gate.settings, http_client=hub.client()) == 1
    assert [n.delivery for n in gate.state.notifications()] == ["delivered"]
    assert hub.bodies[0]["recipients"] == ["alice"]


def test_withdraw__without_hub_notices_stay_at_the_node(gate: Gate) -> None:
    ask(gate, researcher("alice"))
    report = withdraw(
        gate.state, settings=gate.settings, node=gate.node, dataset_id="cohort", individual_id="S4"
    )
    assert report.hub_delivery == "local_only"
    assert [n.delivery for n in gate.state.notifications()] == ["local_only"]
