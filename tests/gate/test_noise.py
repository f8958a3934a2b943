"""Optional differential privacy per dataset policy, wired through the gate (Cho et al. 2020).

The mechanisms themselves are checked against scipy's LP optimum in tests/gate/test_dp.py;
here: that the gate uses them for open-tier answers, consistently, and charges ε per
participant in the exposure account.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from genomesh.core.settings import DatasetPolicy
from genomesh.disclosure.dp import membership_mechanism
from genomesh.disclosure.exposure import charge
from genomesh.gate import Gate, GateRequest
from tests.gate.conftest import anonymous, controlled, plain, researcher
from tests.gate.test_exposure import ask, people


def _dp(epsilon: float, **extra: object) -> dict[str, DatasetPolicy]:
    return {"cohort": plain(dp_epsilon=epsilon, **extra)}


def test_noise__absent_alleles_are_answered_yes_at_the_mechanisms_rate(
    make_gate: Callable[..., Gate],
) -> None:
    gate = make_gate(dataset_policies=_dp(0.5))
    answers = []
    for i in range(400):  # 400 different questions nobody's data answers
        request = GateRequest(anonymous(), "beacon", "g_variants", {"pos": i}, ("cohort",))
        answers.append(gate.run(request, people(set())).results[0].exists)
    p = membership_mechanism(10, epsilon=0.5).probability_yes()[0]
    assert 0 < p < 1
    se = np.sqrt(p * (1 - p) / len(answers))
    assert abs(np.mean(answers) - p) < 4.5 * se, (np.mean(answers), p)
    # Exact answers (the policy off) never say yes for nobody.
    exact = make_gate()
    request = GateRequest(anonymous(), "beacon", "g_variants", {"pos": 0}, ("cohort",))
    assert exact.run(request, people(set())).results[0].exists is False


def test_noise__the_same_answer_asked_again_gets_the_same_noise(
    make_gate: Callable[..., Gate],
) -> None:
    gate = make_gate(dataset_policies=_dp(0.3, exposure_budget=None), anti_differencing_answers=0)
    everyone = {f"S{i}" for i in range(1, 11)}
    firsts = []
    for drop in sorted(everyone):
        chosen = everyone - {drop}
        first = ask(gate, chosen, researcher(), granularity="count")
        again = ask(gate, chosen, researcher("someone-else"), granularity="count")
        assert first == again  # same people, same noise: repeating averages nothing away
        firsts.append(first.count)
    # ... but the counts are noised (exact would be 9 every time).
    assert firsts != [9] * 10
    # Controlled-tier answers are exact.
    request = GateRequest(controlled(), "beacon", "g_variants", {}, ("cohort",), "record")
    granted = gate.run(request, people(everyone)).results[0]
    assert granted.count == 6  # S1-S6 consented to general research: exact, no noise


def test_noise__epsilon_is_charged_per_participant(make_gate: Callable[..., Gate]) -> None:
    gate = make_gate(dataset_policies=_dp(0.01))
    ask(gate, {"S1", "S2", "S3"})
    spent = gate.state.exposure.spent("cohort", ["S1"])["S1"]
    assert spent == pytest.approx(0.01) and charge(3, 10) > 0.01
    entry = gate.state.audit_entries()[-1]
    assert entry.body["datasets"][0]["exposure"]["epsilon"] == 0.01
