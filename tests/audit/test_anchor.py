"""Anchored heads catch what the chain alone cannot: a cut tail, a wiped log, orphaned ledger rows.

Run on SQLite (file and memory) and a real PostgreSQL 15 server. The tampering is done the way
someone with write access to the database would do it: delete the newest entries and roll the
head row back to the new last entry, so the chain on its own still verifies.
"""

from __future__ import annotations

import json

from sqlalchemy import text

from genomesh.audit.anchor import ACKNOWLEDGED, AnchorRecords
from genomesh.audit.chain import GENESIS, canonical_json, entry_hash
from genomesh.audit.verification import check_log
from genomesh.node.state import Disclosure, NodeState

HUB = "http://hub.example"


def _log(state: NodeState, n: int, *, ledger: bool = False) -> None:
    for i in range(n):
        state.append_audit(
            {
                "who": {"identity_key": "iss|alice", "tier": "registered"},
                "what": {"surface": "beacon", "operation": "individuals", "parameters": {"i": i}},
                "outcome": "answered",
            },
            disclosures=[Disclosure("ds1", f"P{i % 3}", "aggregate")] if ledger else (),
            recipient_subject="alice",
        )


def _anchor_now(state: NodeState) -> None:
    """What the node records when the hub acknowledges its current head."""
    records = AnchorRecords(state.engine)
    entries, digest = state.head()
    row = records.claim(hub_url=HUB, entries=entries, hash=digest, envelope="{}", retry_after=30)
    assert row is not None
    records.settle(row, status=ACKNOWLEDGED)


def _cut_tail(state: NodeState, *, keep: int) -> None:
    """Delete every entry after `keep` and roll the head row back to entry `keep`."""
    with state.engine.begin() as conn:
        conn.execute(text("DELETE FROM gs_audit WHERE seq > :k"), {"k": keep})
        digest = conn.execute(
            text("SELECT hash FROM gs_audit WHERE seq = :k"), {"k": keep}
        ).scalar()
        conn.execute(
            text("UPDATE gs_audit_head SET seq = :k, hash = :h WHERE id = 1"),
            {"k": keep, "h": digest or GENESIS},
        )


def test_anchor__cut_tail_with_head_rolled_back_is_detected(state: NodeState) -> None:
    _log(state, 12)
    _anchor_now(state)
    _cut_tail(state, keep=9)
    assert state.verify().ok  # the chain alone cannot see it
    check = check_log(state, anchors=AnchorRecords(state.engine).acknowledged())
    assert not check.ok
    assert "tail cut: 3 entries missing after entry 9" in check.describe()
    assert "12 entries" in check.describe()


def test_anchor__entries_after_the_anchor_are_fine_and_said_so(state: NodeState) -> None:
    _log(state, 5)
    _anchor_now(state)
    _log(state, 2)
    check = check_log(state, anchors=AnchorRecords(state.engine).acknowledged())
    assert check.ok, check.describe()
    assert "matches the anchored head 5:" in check.describe()
    assert any("entries 6..7 were written after the latest anchor" in n for n in check.notes)


def test_anchor__wiped_log_is_detected(state: NodeState) -> None:
    _log(state, 4)
    _anchor_now(state)
    _cut_tail(state, keep=0)
    assert state.verify().ok and state.verify().n_entries == 0
    check = check_log(state, anchors=AnchorRecords(state.engine).acknowledged())
    assert not check.ok
    assert "log wiped: it is empty" in check.describe() and "4 entries" in check.describe()


def test_anchor__empty_log_without_anchor_says_empty_and_unanchored(state: NodeState) -> None:
    check = check_log(state, anchors=AnchorRecords(state.engine).acknowledged())
    assert check.ok
    assert check.describe() == "audit log is empty: 0 entries"
    assert any("no anchored head" in n for n in check.notes)


def test_anchor__ledger_row_pointing_at_deleted_entry_is_reported(state: NodeState) -> None:
    _log(state, 6, ledger=True)
    _cut_tail(state, keep=4)  # no anchor at all: the ledger alone shows the deletion
    assert state.verify().ok
    check = check_log(state)
    assert not check.ok
    assert "ledger rows point at missing audit entries" in check.describe()
    assert "2 ledger row(s) name 2 entries" in check.describe() and "(5, 6)" in check.describe()


def test_anchor__rewritten_chain_does_not_match_the_anchor(state: NodeState) -> None:
    _log(state, 6)
    _anchor_now(state)
    # A forger who can rewrite the database recomputes the whole chain after editing entry 2.
    with state.engine.begin() as conn:
        rows = conn.execute(text("SELECT seq, body FROM gs_audit ORDER BY seq")).all()
        prev = GENESIS
        for seq, body in rows:
            if seq == 2:
                body = canonical_json({**json.loads(body), "outcome": "refused"})
                conn.execute(
                    text("UPDATE gs_audit SET outcome = 'refused' WHERE seq = 2"),
                )
            digest = entry_hash(prev, body)
            conn.execute(
                text("UPDATE gs_audit SET body = :b, prev_hash = :p, hash = :h WHERE seq = :s"),
                {"b": body, "p": prev, "h": digest, "s": seq},
            )
            prev = digest
        conn.execute(text("UPDATE gs_audit_head SET hash = :h WHERE id = 1"), {"h": prev})
    assert state.verify().ok
    check = check_log(state, anchors=AnchorRecords(state.engine).acknowledged())
    assert not check.ok and "log rewritten: entry 6 does not hash" in check.describe()


def test_anchor__claim_is_once_per_head_and_failed_sends_are_retried(state: NodeState) -> None:
    _log(state, 3)
    records = AnchorRecords(state.engine)
    entries, digest = state.head()
    first = records.claim(hub_url=HUB, entries=entries, hash=digest, envelope="{}", retry_after=0)
    assert first is not None
    # another worker wants to send the same head: it is taken
    assert (
        records.claim(hub_url=HUB, entries=entries, hash=digest, envelope="{}", retry_after=0)
        is None
    )
    records.settle(first, status="failed", detail="connection refused")
    again = records.claim(hub_url=HUB, entries=entries, hash=digest, envelope="{}", retry_after=0)
    assert again == first
    records.settle(again, status=ACKNOWLEDGED)
    assert (
        records.claim(hub_url=HUB, entries=entries, hash=digest, envelope="{}", retry_after=0)
        is None
    )
    assert [a.entries for a in records.acknowledged()] == [3]
