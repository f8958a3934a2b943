"""Two datasets with the same participants share one stored roster; the ledger of each must
still list its own recipients (found while building the community report, issue #14)."""

from __future__ import annotations

from genomesh.audit.records import Contribution
from genomesh.audit.state import NodeState


def test_ledger__datasets_sharing_a_roster_each_list_their_recipients() -> None:
    state = NodeState.from_url("sqlite://")
    roster = ("P1", "P2", "P3")
    for dataset_id, who in (("ds-a", "alice"), ("ds-b", "bob")):
        state.append_audit(
            {"who": {"identity_key": who}, "what": {"surface": "beacon", "operation": "q"},
             "outcome": "ok"},
            disclosures=[Contribution(dataset_id, frozenset({"P1", "P2"}), "record", roster=roster)],
            recipient_subject=who,
        )  # fmt: skip
    assert [e.recipient_subject for e in state.ledger(individual_id="P1", dataset_id="ds-a")] == [
        "alice"
    ]
    assert [e.recipient_subject for e in state.ledger(individual_id="P1", dataset_id="ds-b")] == [
        "bob"
    ]
    assert [
        r.recipient_subject for r in state.recipients(dataset_id="ds-b", individual_id="P2")
    ] == ["bob"]
    assert len(state.ledger(individual_id="P1")) == 2
    state.close()
