"""The scrutiny account: questions about a participant's alleles, over every caller.

An attacker who knows a person's genotypes asks about that person's alleles, rarest first
(Shringarpure & Bustamante 2015): the questions centre on one person, whatever the answers
and however many identities ask them. Each distinct question about an answer from fewer than
`scrutiny_carriers` people adds what a "yes" would reveal to each of them; past the budget,
the open tiers answer as if the participant were absent - at every number of carriers below
`scrutiny_carriers`, so the boundary at which rare answers become free cannot be read from
the victim's own copy.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from genomesh.access.identity import Identity
from genomesh.core.settings import NodeSettings
from genomesh.disclosure.exposure import expected_charge
from genomesh.gate import Gate, GateRequest
from genomesh.node.state import NodeState
from genomesh.store import open_node
from tests.gate.conftest import SAMPLES, anonymous, controlled, plain, researcher
from tests.gate.test_exposure import people

N = len(SAMPLES)
BUDGET = 3.0
WATCHED = {"cohort": plain(scrutiny_budget=BUDGET)}
OFF = {"cohort": plain(scrutiny_budget=None)}
EVERYONE = set(SAMPLES)


def question(gate: Gate, chosen: set[str], pos: int, who: Identity | None = None,
             granularity: str = "boolean") -> Any:  # fmt: skip
    """Ask about the allele at `pos`, which exactly `chosen` carry."""
    request = GateRequest(
        who or anonymous(),
        "beacon",
        "g_variants",
        {"requestParameters": {"start": pos, "alternateBases": "T"}},
        ("cohort",),
        granularity,  # type: ignore[arg-type]
    )
    return gate.run(request, people(chosen)).results[0]


def over_the_budget(gate: Gate, person: str = "S1", first: int = 1000) -> int:
    """Ask, each time as a new identity, about as many of `person`'s private alleles as it
    takes to pass the scrutiny budget; returns how many questions that took."""
    steps = math.ceil(BUDGET / expected_charge(1, N))
    for i in range(steps):
        answer = question(gate, {person}, first + i, anonymous(f"10.9.{i // 250}.{i % 250}"))
        assert answer.exists is False  # a singleton: never confirmed at the open tiers anyway
    return steps


def test_scrutiny__takes_an_over_asked_participant_out_of_common_answers_too(
    make_gate: Callable[..., Gate],
) -> None:
    gate = make_gate(dataset_policies=WATCHED)
    before = question(gate, EVERYONE, 50, researcher("early"), "count")
    assert before.count == 10
    over_the_budget(gate)
    assert gate.state.exposure.asked("cohort", ["S1"])["S1"] >= BUDGET
    # Another allele S1 carries, with eight others: answered without S1 - exactly as if S1
    # were absent, through every tier that is narrowed and at every granularity. (Fresh
    # identities: anti-differencing would otherwise compare the two counts.)
    nine = EVERYONE - {"S10"}
    for n, granularity in enumerate(("count", "boolean")):
        with_s1 = question(gate, nine, 60 + n, researcher(f"with-{n}"), granularity)
        absent = question(gate, nine - {"S1"}, 70 + n, researcher(f"absent-{n}"), granularity)
        assert with_s1 == absent
    assert question(gate, nine, 62, researcher("bob"), "count").count == 8
    # The answer given before the switch does not change when asked again.
    assert question(gate, EVERYONE, 50, researcher("late"), "count").count == 10
    # The audit log records the switch, by pseudonym only.
    bodies = [e.body["datasets"][0].get("exposure") or {} for e in gate.state.audit_entries()]
    switched = [b for b in bodies if b.get("scrutiny", {}).get("over")]
    assert switched, "no audit entry records the switch"
    entry = switched[0]
    assert entry["scrutiny"] == {"budget": BUDGET, "added": pytest.approx(expected_charge(9, N)),
                                 "over": 1}  # fmt: skip
    assert gate.state.pseudonym("cohort", "S1") in entry["withheld"]
    assert "S1" not in str(entry)
    # Switched off, S1 counts again (the defence is what took them out).
    # (same state database: a new set of carriers, since answers once given do not change)
    off = make_gate(dataset_policies=OFF)
    assert question(off, EVERYONE - {"S9"}, 63, researcher("carl"), "count").count == 9


def test_scrutiny__counts_each_question_once_whoever_asks(make_gate: Callable[..., Gate]) -> None:
    gate = make_gate(dataset_policies=WATCHED)
    each = expected_charge(3, N)
    trio = {"S1", "S2", "S3"}
    for i in range(5):  # five identities, one question: counted once
        question(gate, trio, 70, anonymous(f"10.0.0.{i + 1}"))
    question(gate, trio, 70, researcher("bob"), "count")  # another granularity, same question
    asked = gate.state.exposure.asked("cohort", ["S1", "S2", "S3", "S4"])
    assert asked == {"S1": pytest.approx(each), "S2": pytest.approx(each),
                     "S3": pytest.approx(each), "S4": 0.0}  # fmt: skip
    question(gate, trio, 71)  # another allele the same three carry: another question
    assert gate.state.exposure.asked("cohort", ["S1"])["S1"] == pytest.approx(2 * each)
    # A controlled-tier grant is the custodian's decision: neither counted nor narrowed.
    question(gate, trio, 72, controlled(), "count")
    assert gate.state.exposure.asked("cohort", ["S1"])["S1"] == pytest.approx(2 * each)


def test_scrutiny__controlled_access_still_sees_an_over_asked_participant(
    make_gate: Callable[..., Gate],
) -> None:
    gate = make_gate(dataset_policies=WATCHED)
    over_the_budget(gate)
    granted = question(gate, {"S1", "S2"} | {f"S{i}" for i in range(3, 7)}, 80, controlled(),
                       "count")  # fmt: skip
    assert granted.count == 6  # S1-S6 consent to general research use


def test_scrutiny__survives_a_restart_and_holds_across_two_workers(
    node_dir: Path, tmp_path: Path
) -> None:
    settings = NodeSettings.load(
        node_dir, state_url=f"sqlite:///{tmp_path / 'state.sqlite'}", dataset_policies=WATCHED
    )
    states = [NodeState.open(settings), NodeState.open(settings)]
    one, two = (Gate(settings=settings, node=open_node(node_dir), state=s) for s in states)
    try:
        steps = math.ceil(BUDGET / expected_charge(1, N))
        errors: list[BaseException] = []

        def worker(gate: Gate, start: int) -> None:
            try:
                for i in range(start, steps, 2):  # distinct questions, split over two workers
                    question(gate, {"S1"}, 2000 + i, anonymous(f"10.8.0.{i + 1}"))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(g, s)) for g, s in ((one, 0), (two, 1))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        # no question lost between the workers: every one was counted, exactly once
        expected = steps * expected_charge(1, N)
        assert one.state.exposure.asked("cohort", ["S1"])["S1"] == pytest.approx(expected)
    finally:
        for s in states:
            s.close()
    restarted = NodeState.open(settings)
    try:
        gate = Gate(settings=settings, node=open_node(node_dir), state=restarted)
        assert question(gate, EVERYONE - {"S10"}, 90, researcher("bob"), "count").count == 8
    finally:
        restarted.close()
