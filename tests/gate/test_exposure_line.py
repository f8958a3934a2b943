"""The drawn line: each rare answer needs a number of carriers drawn per answer by a keyed hash.

Any rule that hides by carrier count leaks at its boundary: a member's own copy lifts their
allele over the line where a non-member's stays under it. Drawing the line per answer
(uniformly from `exposure_line_min`..`exposure_line_max`, keyed on the node's secret and on
who makes the answer) blurs that boundary, and because the draw is a function of the answer,
asking again - in any words, by any identity - cannot re-draw it and average it away.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from genomesh.core.settings import DatasetPolicy
from genomesh.disclosure.exposure import drawn_line
from genomesh.gate import Gate
from tests.gate.conftest import anonymous, researcher
from tests.gate.test_exposure import ask

# Twelve alleles of four to six carriers each, every person in at most seven of them: with
# N = 10 the budget (0.1 nats) holds them all (charge(4) = 0.013), so only the line can hide.
ALLELES = [
    {f"S{1 + (i + j * 3) % 10}" for j in range(4 + i % 3)} | ({"S10"} if i == 11 else set())
    for i in range(12)
]
# The beacon-frequency charge, so that the budget hides none of them and only the line can.
LINE_ON = {"cohort": DatasetPolicy(exposure_charge="beacon_frequency")}
LINE_OFF = {"cohort": DatasetPolicy(exposure_charge="beacon_frequency", exposure_line_max=0)}


def test_drawn_line__is_a_keyed_uniform_draw_and_can_be_switched_off() -> None:
    key = b"k" * 32
    draws = Counter(drawn_line(key, f"answer-{i}", low=4, high=8) for i in range(5000))
    assert sorted(draws) == [4, 5, 6, 7, 8]
    assert all(900 < n < 1100 for n in draws.values())  # about 1000 each
    assert drawn_line(key, "answer-1", low=4, high=8) == drawn_line(key, "answer-1", low=4, high=8)
    other = [drawn_line(b"q" * 32, f"answer-{i}", low=4, high=8) for i in range(50)]
    assert other != [drawn_line(key, f"answer-{i}", low=4, high=8) for i in range(50)]
    assert drawn_line(key, "answer-1", low=4, high=0) == 1  # off


def test_drawn_line__hides_some_rare_answers_as_true_absences_and_never_redraws(
    make_gate: Callable[..., Gate],
) -> None:
    gate = make_gate(dataset_policies=LINE_ON)  # the default line, drawn from 4..8
    first = [ask(gate, a, anonymous("10.0.0.1")) for a in ALLELES]
    shown = [r.exists for r in first]
    assert 0 < sum(shown) < len(shown)  # some over their line, some under it
    absent = ask(gate, set(), anonymous("10.0.0.2"))
    for r, yes in zip(first, shown, strict=True):
        if not yes:
            assert r == absent  # under the line: a true absence, byte for byte
    # Asked again by other identities and at another tier: the same answers, charged nothing.
    spent = gate.state.exposure.spent("cohort", [f"S{i}" for i in range(1, 11)])
    for i in range(3):
        again = [ask(gate, a, anonymous(f"192.0.2.{i}")).exists for a in ALLELES]
        assert again == shown
    counted = [ask(gate, a, researcher("bob"), granularity="count").exists for a in ALLELES]
    assert counted == shown  # a count cannot undo the line
    assert gate.state.exposure.spent("cohort", list(spent)) == spent
    lines = [e.body["datasets"][0]["exposure"].get("line") for e in gate.state.audit_entries()[:12]]
    assert all(4 <= n <= 8 for n in lines)  # the audit log records each answer's line
    assert [len(a) >= n for a, n in zip(ALLELES, lines, strict=True)] == shown


def test_drawn_line__switched_off_the_same_alleles_are_all_answered(
    make_gate: Callable[..., Gate],
) -> None:
    off = make_gate(dataset_policies=LINE_OFF)
    assert all(ask(off, a).exists for a in ALLELES)  # only the line hid some above
