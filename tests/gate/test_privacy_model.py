"""The offline model of narrowing (benchmarks/privacy/model.py) answers as the real gate does.

The model is what the docs' attack-length table rests on, so it is checked against the gate
on one random sequence of answers - rare and common alleles, repeats, spent budgets - under
both charging rules.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from genomesh.core.settings import DatasetPolicy
from genomesh.disclosure.exposure import CHARGES, DEFAULT_BUDGET, DEFAULT_FREE_CARRIERS
from genomesh.gate import Gate
from tests.gate.test_exposure import ask

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "privacy"))

import model  # benchmarks/privacy/model.py (on the path above)

PEOPLE = [f"S{i}" for i in range(1, 11)]
SCRUTINY = 1.0


@pytest.mark.parametrize("kind", sorted(CHARGES))
def test_model__answers_like_the_gate(make_gate: Callable[..., Gate], kind: str) -> None:
    rng = np.random.default_rng(7)
    alleles = [
        np.sort(rng.choice(10, size=int(rng.integers(1, 11)), replace=False)) for _ in range(25)
    ]
    carriers = [a.astype(np.int32) for a in alleles]
    # a small scrutiny budget, so that some participants pass it within the 80 questions
    replay = model.Narrowing(
        carriers, 10, charge=CHARGES[kind], budget=DEFAULT_BUDGET, free=DEFAULT_FREE_CARRIERS,
        scrutiny=SCRUTINY, watch=50,
    )  # fmt: skip
    line_off = DatasetPolicy(exposure_charge=kind, exposure_line_max=0, scrutiny_budget=SCRUTINY)
    gate = make_gate(dataset_policies={"cohort": line_off})
    asked = rng.integers(0, len(alleles), size=80)  # repeats included
    by_gate = [bool(ask(gate, {PEOPLE[p] for p in alleles[j]}).exists) for j in asked]
    by_model = [replay.answer(int(j)) for j in asked]
    assert by_model == by_gate
    assert 0 < sum(by_gate) < len(by_gate)  # some hidden, some answered
    spent = gate.state.exposure.spent("cohort", PEOPLE)
    np.testing.assert_allclose([spent[p] for p in PEOPLE], replay.spent, rtol=1e-9, atol=1e-12)
    asked_about = gate.state.exposure.asked("cohort", PEOPLE)
    np.testing.assert_allclose([asked_about[p] for p in PEOPLE], replay.scrutinised, rtol=1e-9)
    assert (replay.scrutinised >= SCRUTINY).any()  # the scrutiny rule was exercised


def test_model__answers_like_the_gate_with_the_drawn_line(make_gate: Callable[..., Gate]) -> None:
    """The defaults (expected charge, line drawn from 4..8): the model, given the lines the
    gate drew (read from the audit log; the node's key stays in the node), answers alike."""
    rng = np.random.default_rng(11)
    alleles = [
        np.sort(rng.choice(10, size=int(rng.integers(3, 10)), replace=False)) for _ in range(25)
    ]
    gate = make_gate()
    asked = rng.integers(0, len(alleles), size=80)
    by_gate = [bool(ask(gate, {PEOPLE[p] for p in alleles[j]}).exists) for j in asked]
    lines: dict[bytes, int] = {}
    for j, entry in zip(asked, gate.state.audit_entries(), strict=True):
        drawn = (entry.body["datasets"][0].get("exposure") or {}).get("line")
        if drawn is not None:
            lines.setdefault(alleles[j].astype(np.int32).tobytes(), drawn)
    assert len(set(lines.values())) > 1  # lines were drawn, and differ
    policy = DatasetPolicy()
    replay = model.Narrowing(
        [a.astype(np.int32) for a in alleles], 10, charge=CHARGES[policy.exposure_charge],
        budget=DEFAULT_BUDGET, free=DEFAULT_FREE_CARRIERS, lines=lines,
        scrutiny=policy.scrutiny_budget, watch=policy.scrutiny_carriers,
    )  # fmt: skip
    assert [replay.answer(int(j)) for j in asked] == by_gate
    assert 0 < sum(by_gate) < len(by_gate)
    spent = gate.state.exposure.spent("cohort", PEOPLE)
    np.testing.assert_allclose([spent[p] for p in PEOPLE], replay.spent, rtol=1e-9, atol=1e-12)
