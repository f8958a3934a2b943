"""One contract suite for NodeState, run against SQLite and a real PostgreSQL 15 server."""

from __future__ import annotations

import threading

import pytest

from genomesh.core.errors import ConflictError
from genomesh.node.state import Disclosure, NodeState


def _body(n: int, who: str = "anonymous|127.0.0.1") -> dict[str, object]:
    return {
        "who": {"identity_key": who, "tier": "anonymous"},
        "what": {"surface": "beacon", "operation": "g_variants", "parameters": {"n": n}},
        "outcome": "answered",
    }


def test_state__audit_chain_appends_in_order_and_verifies(state: NodeState) -> None:
    entries = [state.append_audit(_body(i)) for i in range(5)]
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[1].prev_hash == entries[0].hash
    result = state.verify()
    assert result.ok, result.describe()
    assert (result.n_entries, result.head_seq, result.head_hash) == (5, 5, entries[-1].hash)
    assert state.head() == (5, entries[-1].hash)
    assert [e.body["what"]["parameters"]["n"] for e in state.audit_entries(last=2)] == [3, 4]


def test_state__verify_against_published_head(state: NodeState) -> None:
    first = state.append_audit(_body(0))
    state.append_audit(_body(1))
    assert state.verify(expected_head=(1, first.hash)).ok
    bad = state.verify(expected_head=(1, "f" * 64))
    assert not bad.ok and bad.first_bad_seq == 1 and "published head" in (bad.problem or "")


def test_state__concurrent_appends_never_fork_the_chain(state: NodeState) -> None:
    def work(k: int) -> None:
        for i in range(10):
            state.append_audit(_body(100 * k + i))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = state.verify()
    assert result.ok and result.n_entries == 40, result.describe()


def test_state__ledger_rows_written_with_the_entry(state: NodeState) -> None:
    entry = state.append_audit(
        _body(1, who="iss|alice"),
        disclosures=[Disclosure("ds1", "P1", "aggregate"), Disclosure("ds1", "P2", "aggregate")],
        recipient_key="iss|alice",
        recipient_subject="alice",
    )
    state.append_audit(
        _body(2, who="iss|bob"),
        disclosures=[Disclosure("ds1", "P1", "record")],
        recipient_key="iss|bob",
        recipient_subject="bob",
    )
    ledger = state.ledger(individual_id="P1")
    assert [(e.recipient_subject, e.kind) for e in ledger] == [
        ("alice", "aggregate"),
        ("bob", "record"),
    ]
    assert ledger[0].audit_seq == entry.seq
    recipients = state.recipients(dataset_id="ds1", individual_id="P1")
    assert [(r.recipient_subject, r.kinds, r.n_answers) for r in recipients] == [
        ("alice", ("aggregate",), 1),
        ("bob", ("record",), 1),
    ]
    assert state.recipients(dataset_id="ds2", individual_id="P1") == []


def test_state__audit_entries_of_one_identity_in_chain_order(state: NodeState) -> None:
    """What registers kept in the chain (compelled-disclosure requests) are read with."""
    for n, who in enumerate(["node|register", "iss|alice", "node|register", "iss|bob"]):
        state.append_audit(_body(n, who=who))
    mine = state.audit_entries_of("node|register")
    assert [e.body["what"]["parameters"]["n"] for e in mine] == [0, 2]
    assert [e.seq for e in mine] == sorted(e.seq for e in mine)
    assert state.audit_entries_of("nobody") == []


def test_state__budget_charges_within_window(state: NodeState) -> None:
    key = "anonymous|10.0.0.1"
    assert state.try_charge(key, limit=2, window_seconds=60, now=1000.0) == 1
    assert state.try_charge(key, limit=2, window_seconds=60, now=1001.0) == 2
    assert state.try_charge(key, limit=2, window_seconds=60, now=1002.0) is None
    assert state.try_charge("someone|else", limit=2, window_seconds=60, now=1002.0) == 1
    # The window slides: the first charges expire.
    assert state.try_charge(key, limit=2, window_seconds=60, now=1061.5) == 1
    assert state.budget_used(key, since=1061.5 - 60) == 1


def test_state__withdrawal_recorded_once_and_flags_earlier_results(state: NodeState) -> None:
    before = state.append_audit(
        _body(1), disclosures=[Disclosure("ds1", "P1", "aggregate")], now=100.0
    )
    state.add_withdrawal(dataset_id="ds1", individual_id="P1", reason="changed mind", now=200.0)
    with pytest.raises(ConflictError, match="already withdrew"):
        state.add_withdrawal(dataset_id="ds1", individual_id="P1", reason=None)
    assert state.withdrawn("ds1") == frozenset({"P1"})
    assert state.withdrawn("ds2") == frozenset()
    flagged = state.results_including_withdrawn()
    assert [(f.audit_seq, f.individual_id, f.withdrawn_at) for f in flagged] == [
        (before.seq, "P1", 200.0)
    ]
    assert state.withdrawals(individual_id="P1")[0].reason == "changed mind"


def test_state__notifications_and_delivery_status(state: NodeState) -> None:
    nid = state.add_notification(
        dataset_id="ds1",
        individual_pseudonym=state.pseudonym("ds1", "P1"),
        recipient_key="iss|alice",
        recipient_subject="alice",
        message="withdrawn",
        delivery="pending",
    )
    state.set_delivery([nid], status="delivered", detail="202")
    (note,) = state.notifications(dataset_id="ds1")
    assert note.delivery == "delivered" and note.delivered_at is not None
    assert "P1" not in note.individual_pseudonym and len(note.individual_pseudonym) == 64


def test_state__pseudonym_is_keyed_and_stable(state_url: str) -> None:
    with NodeState.from_url(state_url) as a:
        p = a.pseudonym("ds1", "P1")
        assert a.pseudonym("ds1", "P1") == p
    if state_url == "sqlite://":
        return  # in-memory state lives as long as its instance; the rest is about reopening
    with NodeState.from_url(state_url) as b:
        assert b.pseudonym("ds1", "P1") == p
        assert b.pseudonym("ds1", "P2") != p


def test_state__participant_tokens_are_stored_hashed(state: NodeState) -> None:
    token = state.issue_participant_token("P1")
    assert token.startswith("gsp_")
    assert state.participant_for_token(token) == "P1"
    assert state.participant_for_token(token + "x") is None
    assert state.revoke_participant_tokens("P1") == 1
    assert state.participant_for_token(token) is None


def test_state__ledger_bitmaps_over_a_roster(state: NodeState) -> None:
    from genomesh.node.state import Contribution

    roster = tuple(f"P{i:05d}" for i in range(3000))
    members = frozenset(roster[::7])
    for version, who in (("v1", "iss|alice"), ("v1", "iss|bob")):
        state.append_audit(
            _body(1, who=who),
            disclosures=[
                Contribution(
                    "big", members, "aggregate", roster=roster, roster_key=f"big@{version}"
                )
            ],
            recipient_key=who,
            recipient_subject=who.split("|")[1],
        )
    assert [e.recipient_subject for e in state.ledger(individual_id="P00007")] == ["alice", "bob"]
    assert state.ledger(individual_id="P00008") == []  # on the roster, not in the answer
    assert state.ledger(individual_id="nobody") == []
    (latest,) = state.recent_contributor_sets(recipient_key="iss|bob", dataset_id="big", answers=1)
    assert latest == members
    with pytest.raises(ValueError, match="not on the dataset's roster"):
        state.append_audit(
            _body(2),
            disclosures=[Contribution("big", frozenset({"stranger"}), "aggregate", roster=roster)],
        )
    assert state.verify().ok  # the failed append left no trace


def test_state__recent_differences_by_bitmap_and_across_rosters(state: NodeState) -> None:
    from genomesh.node.state import Contribution

    old_roster = tuple(f"P{i}" for i in range(100))
    new_roster = (*old_roster, "P100")
    everyone = frozenset(old_roster)
    state.append_audit(
        _body(1, who="iss|a"),
        disclosures=[
            Contribution("ds", everyone, "aggregate", roster=old_roster, roster_key="ds@1")
        ],
        recipient_key="iss|a",
    )
    state.append_audit(
        _body(2, who="iss|a"),
        disclosures=[
            Contribution("ds", everyone - {"P5"}, "aggregate", exact=False, roster=old_roster)
        ],
        recipient_key="iss|a",
    )
    same = Contribution(
        "ds", everyone - {"P1", "P2"}, "aggregate", roster=old_roster, roster_key="ds@1"
    )
    assert state.recent_differences(same, recipient_key="iss|a") == [2]  # inexact answers skipped
    newer = Contribution(
        "ds", everyone | {"P100"}, "aggregate", roster=new_roster, roster_key="ds@2"
    )
    assert state.recent_differences(newer, recipient_key="iss|a") == [1]
    assert state.recent_differences(newer, recipient_key="iss|b") == []
