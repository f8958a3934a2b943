"""Per-participant exposure accounting and indistinguishable narrowing, through the real gate.

The cohort has 10 people (tests/gate/conftest.py). With N = 10 the charges are
charge(1) = 0.44, charge(2) = 0.13, charge(3) = 0.040, charge(6) = 0.0008 nats, against the
default budget of 0.1: a singleton is never answered, and a participant can be one of three
carriers in two distinct answers before a third is computed without them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np
import pytest
from scipy import stats

from genomesh.core.settings import DatasetPolicy
from genomesh.disclosure.exposure import DEFAULT_BUDGET, charge, expected_charge
from genomesh.gate import DatasetAccess, DatasetResult, Gate, GateRequest
from tests.gate.conftest import anonymous, carriers_at, researcher

N = 10
OFF = {"cohort": DatasetPolicy(exposure_budget=None, scrutiny_budget=None)}
# The account on its own terms: the beacon-frequency charge and no drawn line (the defaults
# are the expected charge and a line drawn from 4..8: tests/gate/test_exposure_line.py). The
# tests below count answers of exactly three carriers, which the defaults never give.
LINE_OFF = {
    "cohort": DatasetPolicy(exposure_charge="beacon_frequency", exposure_line_max=0),
}


def people(chosen: set[str]) -> Callable[[Sequence[DatasetAccess]], list[DatasetResult]]:
    """A surface whose answer these people make true (an allele they alone carry)."""

    def execute(accesses: Sequence[DatasetAccess]) -> list[DatasetResult]:
        return [
            DatasetResult(a.dataset_id, count=len(c), contributors=c)
            for a in accesses
            for c in [chosen & a.allowed_individuals]
        ]

    return execute


def ask(gate: Gate, chosen: set[str], who=None, granularity: str = "boolean"):  # type: ignore[no-untyped-def]
    who = who or anonymous()
    request = GateRequest(
        who,
        "beacon",
        "g_variants",
        {"allele": sorted(chosen)},
        ("cohort",),
        granularity,  # type: ignore[arg-type]
    )
    return gate.run(request, people(chosen)).results[0]


def at(gate: Gate, pos: int, who, granularity: str = "boolean"):  # type: ignore[no-untyped-def]
    request = GateRequest(
        who,
        "beacon",
        "g_variants",
        {"start": pos - 1},
        ("cohort",),
        granularity,  # type: ignore[arg-type]
    )
    return gate.run(request, carriers_at(gate.node, pos)).results[0]


def test_charge__is_the_sb_likelihood_ratio_of_a_yes() -> None:
    # Independent reference: P(no carrier among N non-victims) from scipy's binomial, and the
    # Shringarpure-Bustamante yes-LLR log((1 - δ D_{N-1}) / (1 - D_N)) as δ -> 0.
    for k, n in [(1, 10), (2, 10), (3, 400), (10, 400), (1, 5000)]:
        f = k / (2 * n)
        d_n = stats.binom.pmf(0, 2 * n, f)
        d_n1 = stats.binom.pmf(0, 2 * (n - 1), f)
        delta = 1e-12
        assert charge(k, n) == pytest.approx(np.log((1 - delta * d_n1) / (1 - d_n)), rel=1e-9)
    assert charge(10, 400) < 5e-5 < DEFAULT_BUDGET / 2000 * 1.2
    assert charge(1, 400) > DEFAULT_BUDGET and charge(2, 400) > DEFAULT_BUDGET
    assert charge(0, 10) == 0.0


def test_expected_charge__is_the_expected_sb_likelihood_ratio_for_a_panel_attacker() -> None:
    """E[yes-LLR at f = (c + 0.5) / (2N + 1)] over the panel count c ~ Binomial(2N,
    (k - 1) / (2(N - 1))), with scipy's binomial for both the weights and D_N: what an attacker
    with a reference panel as large as the dataset gains on average from a "yes"."""
    delta = 1e-12
    for k, n in [(1, 10), (3, 10), (2, 400), (5, 400), (9, 400), (3, 5000)]:
        c = np.arange(2 * n + 1)
        f = (c + 0.5) / (2 * n + 1)
        d_n = stats.binom.pmf(0, 2 * n, f)
        d_n1 = stats.binom.pmf(0, 2 * (n - 1), f)
        weights = stats.binom.pmf(c, 2 * n, (k - 1) / (2 * (n - 1)))
        expected = float(np.sum(weights * np.log((1 - delta * d_n1) / (1 - d_n))))
        assert expected_charge(k, n) == pytest.approx(expected, rel=1e-9)
    # four to ten times the beacon-frequency charge on the rare alleles
    assert expected_charge(3, 400) > 4 * charge(3, 400)
    assert expected_charge(4, 400) > DEFAULT_BUDGET > expected_charge(5, 400)
    assert expected_charge(10, 400) < DEFAULT_BUDGET / 40
    assert expected_charge(0, 10) == 0.0


def test_exposure__the_expected_charge_binds_before_the_first_rare_yes(
    make_gate: Callable[..., Gate],
) -> None:
    """`exposure_charge = "expected"`, N = 10, budget 0.1: an allele of three carriers is
    never answered (0.18 nats; the default charge, 0.040, answers it twice); one of five
    carriers is, three times (0.031 each), and a fourth is computed without S1."""
    gate = make_gate(
        dataset_policies={"cohort": DatasetPolicy(exposure_charge="expected", exposure_line_max=0)}
    )
    assert ask(gate, {"S1", "S2", "S3"}).exists is False
    fives = [{"S1", "S2", "S3", "S4", "S5"}, {"S1", "S6", "S7", "S8", "S9"},
             {"S1", "S2", "S6", "S7", "S10"}, {"S1", "S3", "S4", "S8", "S10"}]  # fmt: skip
    assert [ask(gate, five).exists for five in fives[:3]] == [True, True, True]
    spent = gate.state.exposure.spent("cohort", ["S1"])["S1"]
    assert spent == pytest.approx(3 * expected_charge(5, N))
    # The fourth would take S1 past 0.1: S1 is withheld, and the other four with them
    # (expected_charge(4) = 0.077 on top of the 0.031 each has spent): a true absence.
    assert ask(gate, fives[3]).exists is False
    last = gate.state.audit_entries()[-1].body["datasets"][0]["exposure"]
    assert gate.state.pseudonym("cohort", "S1") in last["withheld"]
    assert last["charge"] == 0.0
    default = make_gate(dataset_policies=LINE_OFF)  # same state database
    assert ask(default, {"S5", "S9", "S10"}).exists is True  # 0.031 + 0.040 fits in 0.1
    assert ask(gate, {"S5", "S8", "S9"}).exists is False  # 0.031 + 0.18 does not


def test_exposure__a_singleton_is_answered_as_a_true_absence_at_every_granularity(
    make_gate: Callable[..., Gate],
) -> None:
    gate = make_gate()
    for who, granularity in ((anonymous(), "boolean"), (researcher(), "count")):
        single = at(gate, 300, who, granularity)  # S9 alone carries it
        absent = at(gate, 12345, who, granularity)
        assert single == absent and single.exists is False
    off = make_gate(dataset_policies=OFF)
    assert at(off, 300, researcher(), "count").exists is True  # the defence, switched off


def test_exposure__a_participants_budget_survives_new_identities(
    make_gate: Callable[..., Gate],
) -> None:
    gate = make_gate(dataset_policies=LINE_OFF)
    c3 = charge(3, N)
    assert ask(gate, {"S1", "S2", "S3"}, anonymous("10.0.0.1")).exists is True
    assert ask(gate, {"S1", "S4", "S5"}, researcher("bob")).exists is True
    assert gate.state.exposure.spent("cohort", ["S1"]) == {"S1": pytest.approx(2 * c3)}
    # A third identity, a third allele S1 carries: S1 is past the budget and is withheld;
    # S5 and S6 alone are then too few (charge(2) > budget): the answer is a true absence.
    third = ask(gate, {"S1", "S5", "S6"}, anonymous("192.0.2.77"))
    assert third == ask(gate, {"S7"} - {"S7"}, anonymous("192.0.2.78"))  # nobody carries it
    # Asked again, by anyone, the earlier answers do not change, and cost nothing more.
    assert ask(gate, {"S1", "S2", "S3"}, anonymous("198.51.100.9")).exists is True
    assert gate.state.exposure.spent("cohort", ["S1"]) == {"S1": pytest.approx(2 * c3)}
    # Common enough (6 carriers) to be worth almost nothing: still answered with S1 in it.
    assert ask(gate, {"S1", "S2", "S3", "S4", "S5", "S6"}).exists is True
    # The audit log records the budget, the charge and the switch (by pseudonym only).
    entries = gate.state.audit_entries()
    exposure = [e.body["datasets"][0].get("exposure") for e in entries]
    assert exposure[0]["charge"] == pytest.approx(c3) and exposure[0]["budget"] == 0.1
    assert exposure[2]["withheld"] == sorted(
        gate.state.pseudonym("cohort", p) for p in ("S1", "S5", "S6")
    )
    assert exposure[3] is None  # nobody carries it: nobody to charge
    assert exposure[4] == {
        "repeat": True,
        "budget": 0.1,
        "scrutiny": {"added": 0.0},
    }  # counted once
    assert "S1" not in str(exposure)
    # Switched off, the third allele is answered: the budget is what hid it.
    off = make_gate(dataset_policies=OFF)
    assert ask(off, {"S1", "S5", "S6"}, anonymous("192.0.2.79")).exists is True


def test_exposure__survives_a_restart_and_holds_across_two_workers(
    make_gate: Callable[..., Gate],
) -> None:
    one, two = (
        make_gate(dataset_policies=LINE_OFF),
        make_gate(dataset_policies=LINE_OFF),
    )  # two workers on one state database
    assert ask(one, {"S1", "S2", "S3"}).exists is True
    assert ask(two, {"S1", "S4", "S5"}).exists is True
    one.state.close()
    two.state.close()
    restarted = make_gate(dataset_policies=LINE_OFF)
    assert restarted.state.exposure.spent("cohort", ["S1"])["S1"] == pytest.approx(2 * charge(3, N))
    assert ask(restarted, {"S1", "S5", "S6"}).exists is False
    assert ask(restarted, {"S1", "S2", "S3"}).exists is True  # the earlier answer, unchanged


def test_exposure__concurrent_answers_never_overspend_a_participant(
    make_gate: Callable[..., Gate],
) -> None:
    gates = [make_gate(dataset_policies=LINE_OFF), make_gate(dataset_policies=LINE_OFF)]
    others = ["S2", "S3", "S4", "S5", "S6"]
    pairs = [{a, b} for i, a in enumerate(others) for b in others[i + 1 :]]
    answers: list[bool] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        for pair in pairs[i::4]:
            yes = ask(gates[i % 2], {"S1", *pair}, anonymous(f"10.1.0.{i}")).exists
            with lock:
                answers.append(yes)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == len(pairs)
    spent = gates[0].state.exposure.spent("cohort", ["S1"])["S1"]
    assert spent <= DEFAULT_BUDGET
    assert sum(answers) == 2  # charge(3) fits twice in 0.1 nats, then S1 is withheld
    assert gates[0].state.verify().ok


def test_exposure__answers_from_ten_or_more_carriers_stay_exact_after_a_budget_is_spent(
    make_gate: Callable[..., Gate],
) -> None:
    gate = make_gate(dataset_policies=LINE_OFF)
    assert ask(gate, {"S1", "S2", "S3"}).exists and ask(gate, {"S1", "S4", "S5"}).exists
    assert ask(gate, {"S1", "S5", "S6"}).exists is False  # S1 spent
    everyone = {f"S{i}" for i in range(1, 11)}
    for caller in range(20):
        exact = ask(gate, everyone, researcher(f"r{caller}"), granularity="count")
        assert (exact.exists, exact.count) == (True, 10)  # S1 still counted: nothing withheld
    nine = ask(gate, everyone - {"S10"}, researcher(), granularity="count")
    assert nine.count == 9  # below the free threshold, but S1 is one of many: charge(9) < 1e-4


def test_exposure__off_switch_in_toml_and_environment_text() -> None:
    assert DatasetPolicy(exposure_budget="off").exposure_budget is None  # type: ignore[arg-type]
    assert DatasetPolicy(dp_epsilon="none").dp_epsilon is None  # type: ignore[arg-type]
    assert DatasetPolicy().exposure_budget == DEFAULT_BUDGET
    with pytest.raises(ValueError, match="exposure_budget"):
        DatasetPolicy(exposure_budget="lots")  # type: ignore[arg-type]


def test_exposure__a_matchmaking_peer_still_finds_a_patient_whose_budget_is_spent(
    make_gate: Callable[..., Gate],
) -> None:
    """Matchmaking answers are charged but never narrowed: the peer sees only patients the
    custodian enrolled with their consent to be matched, and one patient is the usual match."""
    from genomesh.gate import matchmaker_identity

    gate = make_gate(dataset_policies=LINE_OFF)
    for i, who in enumerate((anonymous("10.0.0.1"), researcher("bob"), anonymous("10.0.0.2"))):
        ask(gate, {"S1", f"S{i + 2}", f"S{i + 5}"}, who)  # S1's budget is spent by now
    assert ask(gate, {"S1"}).exists is False  # to an anonymous caller: a true absence
    request = GateRequest(
        matchmaker_identity("peer-clinic"), "matchmaker", "match", {"patient": "p1"},
        ("cohort",), "record",
    )  # fmt: skip
    found = gate.run(request, people({"S1"})).results[0]
    assert found.exists is True and found.count == 1
    spent_before = gate.state.exposure.spent("cohort", ["S1"])["S1"]
    assert spent_before > DEFAULT_BUDGET  # the match was still charged to S1's account
