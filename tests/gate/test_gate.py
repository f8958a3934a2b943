"""The gate end to end on a real ingested store: tiers, consent, thresholds, budgets, audit."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from genomesh.core.errors import BudgetExhaustedError, NotFoundError, StoreError
from genomesh.core.settings import DatasetPolicy, TierCaps
from genomesh.gate import DatasetAccess, DatasetResult, Gate, GateRequest
from tests.gate.conftest import (
    CARRIERS,
    PLAIN,
    anonymous,
    carriers_at,
    controlled,
    everyone_but,
    plain,
    researcher,
)


def ask(gate: Gate, identity, pos: int = 200, granularity: str = "record", datasets=("cohort",)):  # type: ignore[no-untyped-def]
    request = GateRequest(
        identity=identity,
        surface="beacon",
        operation="g_variants",
        parameters={"referenceName": "1", "start": pos - 1},
        dataset_ids=datasets,
        requested_granularity=granularity,  # type: ignore[arg-type]
    )
    return gate.run(request, carriers_at(gate.node, pos))


def test_gate__anonymous_gets_boolean_only_and_is_audited(make_gate: Callable[..., Gate]) -> None:
    gate = make_gate(dataset_policies=PLAIN)
    response = ask(gate, anonymous(), pos=100)
    (result,) = response.results
    assert response.granularity == "boolean"
    assert (result.exists, result.count, result.records) == (True, None, ())
    entry = gate.state.audit_entry(response.audit_id or 0)
    assert entry is not None
    assert entry.body["who"]["identity_key"] == "anonymous|10.0.0.1"
    assert entry.body["datasets"][0]["n_individuals"] == 3
    assert entry.body["granularity"] == "boolean"
    assert entry.body["provenance"]["dataset_versions"]["cohort"]
    # every contributor is in the ledger for this recipient
    assert {e.individual_id for e in gate.state.ledger(individual_id="S3")} == {"S3"}


def test_gate__registered_counts_with_small_count_suppression_and_zero(
    make_gate: Callable[..., Gate],
) -> None:
    gate = make_gate(dataset_policies=PLAIN)
    big = ask(gate, researcher(), pos=200).results[0]
    assert (big.granularity, big.count, big.count_suppressed) == ("count", 8, False)
    small = ask(gate, researcher(), pos=100).results[0]
    assert (small.exists, small.count, small.count_suppressed, small.suppression) == (
        True,
        None,
        True,
        "small_count",
    )
    none = ask(gate, researcher(), pos=12345).results[0]
    assert (none.exists, none.count, none.count_suppressed) == (False, 0, False)


def test_gate__invariant1_records_only_with_grant_and_matching_consent(gate: Gate) -> None:
    response = ask(gate, controlled(), pos=200)
    (result,) = response.results
    assert result.granularity == "record"
    ids = {r["individual_id"] for r in result.records}
    # S1..S8 carry the variant; only S1..S6 consented to general research.
    assert ids == {"S1", "S2", "S3", "S4", "S5", "S6"}
    assert ids <= CARRIERS[200]
    assert response.accesses[0].tier == "controlled"
    assert any("consent does not approve" in n for n in response.accesses[0].notes)
    assert {e.kind for e in gate.state.ledger(individual_id="S1")} == {"record"}
    assert gate.state.ledger(individual_id="S7") == []  # excluded people were not disclosed


@pytest.mark.parametrize(
    ("identity", "datasets", "expected"),
    [
        (researcher(), ("cohort",), "count"),  # no grant
        (controlled(datasets=("other",)), ("cohort",), "count"),  # grant for another dataset
        (
            controlled(purpose=None),
            ("cohort",),
            "count",
        ),  # grant but no purpose to check consent with
        (
            controlled(datasets=("noterms",)),
            ("noterms",),
            "boolean",
        ),  # no consent terms: anonymous tier
    ],
)
def test_gate__invariant1_no_records_without_grant_purpose_or_terms(
    gate: Gate,
    identity,
    datasets,
    expected: str,  # type: ignore[no-untyped-def]
) -> None:
    (result,) = ask(gate, identity, pos=200, datasets=datasets).results
    assert result.granularity == expected
    assert result.records == ()


def test_gate__grant_by_node_dataset_url(make_gate: Callable[..., Gate]) -> None:
    gate = make_gate(base_url="https://node.example")
    who = controlled(datasets=("https://node.example/datasets/cohort",))
    assert ask(gate, who).results[0].granularity == "record"
    spoof = controlled(datasets=("https://elsewhere.example/datasets/cohort",))
    assert ask(gate, spoof).results[0].granularity == "count"


def test_gate__policy_caps_and_aggregates_only(make_gate: Callable[..., Gate]) -> None:
    policy = plain(tiers=TierCaps(anonymous="count"), aggregates_only=True, min_count=2)
    gate = make_gate(dataset_policies={"cohort": policy})
    anon = ask(gate, anonymous(), pos=100).results[0]
    assert (anon.granularity, anon.count) == ("count", 3)  # min_count 2 lets 3 through
    assert ask(gate, controlled(), pos=200).results[0].granularity == "count"


def test_gate__unknown_dataset_is_refused_and_audited(gate: Gate) -> None:
    response = ask(gate, anonymous(), datasets=("nope",))
    assert response.results == () and response.refused == {"nope": "no such dataset"}
    entry = gate.state.audit_entry(response.audit_id or 0)
    assert entry is not None and entry.body["outcome"] == "refused"


def test_gate__surface_that_leaves_the_guard_fails_closed(gate: Gate) -> None:
    def cheat(accesses: Sequence[DatasetAccess]) -> list[DatasetResult]:
        return [
            DatasetResult(
                "cohort", count=10, contributors={f"S{i}" for i in range(1, 11)}, records=[{"x": 1}]
            )
        ]

    request = GateRequest(controlled(), "beacon", "individuals", {}, ("cohort",), "record")
    with pytest.raises(StoreError, match="outside the guard's decision"):
        gate.run(request, cheat)
    (entry,) = gate.state.audit_entries()
    assert entry.body["outcome"] == "error" and "outside" in entry.body["error"]
    assert gate.state.ledger(individual_id="S7") == []


def test_gate__errors_in_execute_are_audited_and_raised(gate: Gate) -> None:
    def broken(accesses: Sequence[DatasetAccess]) -> list[DatasetResult]:
        raise NotFoundError("no such variant")

    with pytest.raises(NotFoundError):
        gate.run(GateRequest(anonymous(), "beacon", "g_variants", {}, ("cohort",)), broken)
    assert gate.state.audit_entries()[-1].body["outcome"] == "error"


def test_gate__budget_exhausted_is_429_and_audited(make_gate: Callable[..., Gate]) -> None:
    gate = make_gate(query_budget=3, budget_window_seconds=3600)
    for _ in range(3):
        ask(gate, anonymous("10.9.9.9"), pos=100)
    with pytest.raises(BudgetExhaustedError, match="3 queries per 3600 s") as info:
        ask(gate, anonymous("10.9.9.9"), pos=100)
    assert info.value.http_status == 429
    assert gate.state.audit_entries()[-1].body["outcome"] == "budget_exhausted"
    ask(gate, anonymous("10.9.9.10"), pos=100)  # another caller has their own budget
    for _ in range(5):  # controlled answers for a granted dataset are not budgeted
        ask(gate, controlled(), pos=100)
    # refused questions cost nothing
    for _ in range(5):
        ask(gate, anonymous("10.9.9.11"), datasets=("nope",))
    assert gate.state.budget_used("anonymous|10.9.9.11", since=0) == 0


def _count_everyone_but(gate: Gate, excluded: set[str]):  # type: ignore[no-untyped-def]
    """Dave's count of the cohort without `excluded` (the result of the one dataset)."""
    request = GateRequest(
        researcher("dave"), "beacon", "individuals", {"not": sorted(excluded)}, ("cohort",), "count"
    )
    return gate.run(request, everyone_but(gate.node, excluded)).results[0]


def test_gate__anti_differencing_suppresses_a_count_that_isolates_one_person(gate: Gate) -> None:
    def count(excluded: set[str]):  # type: ignore[no-untyped-def]
        return _count_everyone_but(gate, excluded)

    assert count(set()).count == 10
    isolated = count({"S4"})
    assert (isolated.count, isolated.count_suppressed, isolated.suppression) == (
        None,
        True,
        "differencing",
    )
    assert count(set()).count == 10  # the same question again is fine
    # a different identity has no earlier answers to difference against
    request = GateRequest(researcher("erin"), "beacon", "individuals", {}, ("cohort",), "count")
    assert gate.run(request, everyone_but(gate.node, {"S4"})).results[0].count == 9


def test_gate__invariant2_every_answer_has_an_audit_entry_and_chain_verifies(gate: Gate) -> None:
    ids = []
    ids.append(ask(gate, anonymous(), pos=100).audit_id)
    ids.append(ask(gate, researcher(), pos=200).audit_id)
    ids.append(ask(gate, controlled(), pos=300).audit_id)
    ids.append(ask(gate, anonymous(), datasets=("nope",)).audit_id)
    ids.append(ask(gate, anonymous(), datasets=None).audit_id)
    assert ids == [1, 2, 3, 4, 5]
    assert len(gate.state.audit_entries()) == 5
    assert gate.state.verify().ok
    every = gate.state.audit_entry(5)
    assert every is not None and {d["id"] for d in every.body["datasets"]} == {"cohort", "noterms"}


def test_gate__jurisdiction_rule_lowers_records_and_is_noted(
    make_gate: Callable[..., Gate],
) -> None:
    gate = make_gate(dataset_policies={"cohort": DatasetPolicy(record_countries=["FR"])})
    response = ask(gate, controlled(), pos=200)
    assert response.results[0].granularity == "count"
    assert any("dataset-record-countries" in n for n in response.accesses[0].notes)
    entry = gate.state.audit_entry(response.audit_id or 0)
    assert entry is not None
    assert any("dataset-record-countries" in n for n in entry.body["datasets"][0]["notes"])


def test_gate__rare_hits_hidden_at_every_granularity_as_a_true_absence(
    make_gate: Callable[..., Gate],
) -> None:
    policy = DatasetPolicy(boolean_min_count=2, exposure_budget=None)
    gate = make_gate(dataset_policies={"cohort": policy})
    for who in (anonymous(), researcher()):
        rare = ask(gate, who, pos=300).results[0]  # one carrier
        absent = ask(gate, who, pos=12345).results[0]  # nobody
        assert rare == absent and rare.exists is False and rare.suppression is None
        assert ask(gate, who, pos=100).results[0].exists is True  # three carriers
    entry = gate.state.audit_entries()[0]
    assert entry.body["datasets"][0]["exposure"]["rare_hidden"] is True  # the audit log knows
    assert ask(gate, controlled(), pos=300, datasets=("cohort",)).results[0].granularity == "record"


def test_gate__odd_parameters_are_recorded_as_text(gate: Gate) -> None:
    from datetime import date

    request = GateRequest(
        anonymous(), "beacon", "g_variants", {"x": float("nan"), "d": date(2026, 1, 2)}, ("cohort",)
    )
    response = gate.run(request, carriers_at(gate.node, 100))
    entry = gate.state.audit_entry(response.audit_id or 0)
    assert entry is not None and entry.body["what"]["parameters"] == {"x": "NaN", "d": "2026-01-02"}
    assert gate.state.verify().ok


def test_gate__anti_differencing_catches_a_split_into_two_disjoint_counts(
    make_gate: Callable[..., Gate],
) -> None:
    # QA: "female" = 10, "female & BMI > t" = 5, "female & BMI < t" = 4 → the one woman with
    # BMI == t is isolated by X − Y − Z although every pair differs by >= min_count (here 3).
    gate = make_gate(dataset_policies={"cohort": plain(min_count=3)})
    everyone = set(
        gate.node.dataset("cohort")
        .connect()
        .execute("SELECT individual_id FROM individuals")
        .fetchnumpy()["individual_id"]
        .tolist()
    )
    people = sorted(everyone)
    assert len(people) == 10

    def count(excluded: set[str]):  # type: ignore[no-untyped-def]
        return _count_everyone_but(gate, excluded)

    assert count(set()).count == 10
    above = set(people[:5])  # "BMI > t" keeps the other five
    assert count(above).count == 5
    below = set(people[5:]) | {people[0]}  # "BMI < t": people[1:5] → 4, disjoint from the first
    third = count(below)
    assert (third.count, third.suppression) == (None, "differencing")


def test_gate__one_transaction_per_answer_carries_charge_entry_and_ledger(
    make_gate: Callable[..., Gate],
) -> None:
    from sqlalchemy import event

    gate = make_gate(query_budget=100, budget_window_seconds=3600)
    ask(gate, researcher(), pos=200)  # warm: rosters are stored once per dataset version
    statements: list[str] = []  # what SQLite itself executes (the gate bypasses the ORM)

    def trace(dbapi_connection, *_):  # type: ignore[no-untyped-def]
        dbapi_connection.set_trace_callback(statements.append)

    event.listen(gate.state.engine, "checkout", trace)
    response = ask(gate, researcher(), pos=200, granularity="count")
    verbs = [s.split()[0].upper() for s in statements]
    assert verbs.count("COMMIT") == 1  # was two: the budget charge, then the audit entry + ledger
    begin, commit = verbs.index("BEGIN"), verbs.index("COMMIT")
    writes = [v for v in verbs if v in ("INSERT", "UPDATE", "DELETE")]
    # head, charge, entry, ledger rows, head hash - all between the one BEGIN and COMMIT
    assert writes == ["UPDATE", "INSERT", "INSERT", "INSERT", "UPDATE"]
    assert [v for v in verbs[begin:commit] if v in ("INSERT", "UPDATE")] == writes
    entry = gate.state.audit_entry(response.audit_id or 0)
    assert entry is not None
    assert entry.body["budget"] == {
        "charged": True, "used": 2, "limit": 100, "window_seconds": 3600,
    }  # fmt: skip
    assert gate.state.budget_used(researcher().key, since=0) == 2
    assert gate.state.verify().ok


def test_gate__concurrent_requests_of_one_identity_never_exceed_the_budget(
    make_gate: Callable[..., Gate],
) -> None:
    import threading

    gate = make_gate(query_budget=5, budget_window_seconds=3600)
    outcomes: list[str] = []

    def work() -> None:
        for _ in range(4):
            try:
                ask(gate, anonymous("10.7.7.7"), pos=100)
                outcomes.append("answered")
            except BudgetExhaustedError:
                outcomes.append("spent")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("answered") == 5 and outcomes.count("spent") == 11
    answered = [e for e in gate.state.audit_entries() if e.body["outcome"] == "answered"]
    assert sorted(e.body["budget"]["used"] for e in answered) == [1, 2, 3, 4, 5]
    assert gate.state.verify().ok


def test_gate__two_workers_share_one_budget(make_gate: Callable[..., Gate]) -> None:
    """Two gates on one state database (two server workers): each keeps only a hint of an
    identity's spending, so the charge in the audit transaction must hold the limit."""
    one = make_gate(query_budget=4, budget_window_seconds=3600)
    two = make_gate(query_budget=4, budget_window_seconds=3600)
    who = anonymous("10.6.6.6")
    ask(one, who, pos=100)  # worker one: used 1 (its hint says 1)
    ask(two, who, pos=100)
    ask(two, who, pos=100)
    ask(two, who, pos=100)  # used 4: spent, though worker one's hint still says 1
    with pytest.raises(BudgetExhaustedError):
        ask(one, who, pos=100)
    assert one.state.budget_used(who.key, since=0) == 4
    outcomes = [e.body["outcome"] for e in one.state.audit_entries()]
    assert outcomes == ["answered"] * 4 + ["budget_exhausted"]
    assert one.state.verify().ok


def test_gate__a_withdrawal_recorded_elsewhere_counts_from_the_next_answer(
    make_gate: Callable[..., Gate],
) -> None:
    """The guard caches the allowed individuals, but a withdrawal recorded by another process
    (another worker, or the CLI) is seen by the very next answer (invariant 3)."""
    gate = make_gate(dataset_policies=PLAIN)
    other = make_gate(
        dataset_policies=PLAIN
    )  # its own NodeState: another connection pool, as in another process
    general_consent = {f"S{i}" for i in range(1, 7)}  # S7-S10 consented to diabetes only
    before = ask(gate, controlled(), pos=200)
    assert before.results[0].count == len(CARRIERS[200] & general_consent) == 6
    assert ask(gate, researcher(), pos=200, granularity="count").results[0].count == 8
    other.state.add_withdrawal(dataset_id="cohort", individual_id="S1", reason="test")
    after = ask(gate, controlled(), pos=200)
    assert after.results[0].count == 5
    assert {r["individual_id"] for r in after.results[0].records} == general_consent - {"S1"}
    assert "S1" not in after.accesses[0].allowed_individuals
    # (asked by someone else: for alice, 8 then 7 would isolate S1 and is suppressed)
    assert ask(gate, researcher("bob"), pos=200, granularity="count").results[0].count == 7
