"""Searching the audit log, per-entry verification status, and who received what (SQLite,
in-memory SQLite and PostgreSQL through the `state` fixture)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from genomesh.audit.anchor import AnchorRecords
from genomesh.audit.records import Disclosure
from genomesh.audit.search import (
    AuditQuery,
    entry_status,
    recipients_summary,
    search_audit,
    surfaces,
)
from genomesh.audit.verification import check_log
from genomesh.core.errors import InvalidInputError
from genomesh.node.state import NodeState

T0 = 1_800_000_000.0


def _fill(state: NodeState) -> None:
    """8 entries: rita (beacon, ds1) x3, maria (analysis, ds2) x2, anonymous refused x2, and
    one participant request naming 100% literally in its parameters."""
    who = {
        "rita": {"identity_key": "https://hub|rita", "subject": "rita", "tier": "controlled"},
        "maria": {"identity_key": "https://hub|maria", "subject": "maria", "tier": "controlled"},
        "anon": {"identity_key": "anonymous|10.0.0.9", "tier": "anonymous"},
    }
    plan = [
        ("rita", "beacon", "answered", "ds1", ["i1", "i2"], "record"),
        ("rita", "beacon", "answered", "ds1", ["i1"], "aggregate"),
        ("maria", "analysis", "answered", "ds2", ["j1", "j2", "j3"], "aggregate"),
        ("anon", "beacon", "refused", "ds1", [], "aggregate"),
        ("rita", "beacon", "answered", "ds1", ["i2"], "record"),
        ("maria", "analysis", "answered", "ds2", ["j1"], "aggregate"),
        ("anon", "beacon", "refused", "ds2", [], "aggregate"),
        ("rita", "participants", "answered", "ds1", [], "aggregate"),
    ]
    for i, (name, surface, outcome, ds, people, kind) in enumerate(plan):
        params = {"note": "100%_done"} if surface == "participants" else {"i": i}
        state.append_audit(
            {
                "who": who[name],
                "what": {"surface": surface, "operation": "op", "parameters": params},
                "outcome": outcome,
                "datasets": [{"id": ds, "n_individuals": len(people)}],
            },
            disclosures=[Disclosure(ds, p, kind) for p in people],
            recipient_key=who[name]["identity_key"],
            recipient_subject=who[name].get("subject"),
            now=T0 + 60 * i,
        )


def test_search__filters_combine_and_pages_count(state: NodeState) -> None:
    _fill(state)
    everything = search_audit(state, AuditQuery())
    assert everything.total == 8 and [e.seq for e in everything.entries] == list(range(8, 0, -1))
    rita = search_audit(state, AuditQuery(who="rita", surface="beacon"))
    assert [e.seq for e in rita.entries] == [5, 2, 1]
    assert [e.seq for e in search_audit(state, AuditQuery(dataset="ds2")).entries] == [7, 6, 3]
    refused = search_audit(state, AuditQuery(outcome="refused", dataset="ds1"))
    assert [e.seq for e in refused.entries] == [4]
    window = search_audit(state, AuditQuery(since=T0 + 60, until=T0 + 180))
    assert [e.seq for e in window.entries] == [4, 3, 2]
    page = search_audit(state, AuditQuery(limit=3, offset=3))
    assert page.total == 8 and [e.seq for e in page.entries] == [5, 4, 3]
    assert surfaces(state) == ["analysis", "beacon", "participants"]


def test_search__like_wildcards_in_input_are_literal(state: NodeState) -> None:
    _fill(state)
    assert [e.seq for e in search_audit(state, AuditQuery(text="100%_done")).entries] == [8]
    assert search_audit(state, AuditQuery(text="100%_d0ne")).total == 0
    assert search_audit(state, AuditQuery(who="%")).total == 0  # not "anything"


def test_search__bad_query_names_the_field(state: NodeState) -> None:
    with pytest.raises(InvalidInputError, match="limit must be 1 to 200"):
        search_audit(state, AuditQuery(limit=0))
    with pytest.raises(InvalidInputError, match="start of the period is after its end"):
        search_audit(state, AuditQuery(since=T0 + 10, until=T0))


def test_entry_status__anchored_chained_and_unverified(state: NodeState) -> None:
    _fill(state)
    records = AnchorRecords(state.engine)
    head = state.audit_entry(5)
    assert head is not None
    row = records.claim(hub_url="http://hub", entries=5, hash=head.hash, envelope="{}",
                        retry_after=0)  # fmt: skip
    assert row is not None
    records.settle(row, status="acknowledged")
    check = check_log(state, anchors=records.acknowledged())
    assert check.ok
    assert [entry_status(check, s) for s in (1, 5, 6, 8)] == [
        "anchored", "anchored", "chained", "chained",
    ]  # fmt: skip
    with state.engine.begin() as conn:  # someone edits entry 6 in the database
        conn.execute(text("UPDATE gs_audit SET outcome = 'refused' WHERE seq = 6"))
    broken = check_log(state, anchors=records.acknowledged())
    assert not broken.ok and broken.chain.first_bad_seq == 6
    assert [entry_status(broken, s) for s in (5, 6, 8)] == ["anchored", "unverified", "unverified"]


def test_recipients_summary__who_received_what(state: NodeState) -> None:
    _fill(state)
    rows = recipients_summary(state)
    got = {(r["recipient_key"], r["dataset_id"], r["kind"]): r for r in rows}
    assert set(got) == {
        ("https://hub|rita", "ds1", "record"),
        ("https://hub|rita", "ds1", "aggregate"),
        ("https://hub|maria", "ds2", "aggregate"),
    }
    record = got[("https://hub|rita", "ds1", "record")]
    assert (record["answers"], record["max_people"]) == (2, 2)
    assert (record["first_at"], record["last_at"]) == (T0, T0 + 240)
    maria = got[("https://hub|maria", "ds2", "aggregate")]
    assert (maria["answers"], maria["max_people"], maria["recipient_subject"]) == (2, 3, "maria")
    assert rows[0]["recipient_key"] == "https://hub|maria"  # latest answer first
    assert {r["dataset_id"] for r in recipients_summary(state, dataset_id="ds2")} == {"ds2"}
