"""Disclosure control: thresholds, zero, anti-differencing and which queries are charged."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genomesh.disclosure import disclose_count, is_charged, isolating_difference


@pytest.mark.parametrize(
    ("count", "granularity", "expected"),
    [
        (0, "count", (False, 0, False)),
        (1, "count", (True, None, True)),
        (4, "count", (True, None, True)),
        (5, "count", (True, 5, False)),
        (1234, "count", (True, 1234, False)),
        (3, "boolean", (True, None, False)),
        (0, "boolean", (False, None, False)),
        (2, "record", (True, 2, False)),
    ],
)
def test_disclose_count__threshold_rule(count: int, granularity: str, expected: tuple) -> None:
    shown = disclose_count(count, granularity=granularity, min_count=5)  # type: ignore[arg-type]
    assert (shown.exists, shown.count, shown.suppressed) == expected


def test_disclose_count__custom_threshold_and_negative() -> None:
    assert disclose_count(19, granularity="count", min_count=20).count is None
    assert disclose_count(20, granularity="count", min_count=20).count == 20
    with pytest.raises(ValueError, match="negative"):
        disclose_count(-1, granularity="count", min_count=5)


def test_isolating_difference__small_symmetric_difference_is_caught() -> None:
    everyone = {f"P{i}" for i in range(50)}
    assert isolating_difference(everyone - {"P7"}, [everyone], min_count=5) == 1
    assert isolating_difference(everyone, [everyone], min_count=5) is None  # same answer again
    assert (
        isolating_difference(everyone - {f"P{i}" for i in range(10)}, [everyone], min_count=5)
        is None
    )


def test_is_charged__only_budgeted_tiers_and_not_self_service() -> None:
    assert is_charged({"anonymous"})
    assert is_charged({"controlled", "registered"})
    assert not is_charged({"controlled"})
    assert not is_charged({"anonymous"}, self_service=True)


def test_isolating_split__two_disjoint_parts_of_an_earlier_answer() -> None:
    from genomesh.disclosure import isolating_split

    whole, above, below = 0b1111111111, 0b0000011111, 0b1111000000  # 10, 5, 4 people
    assert isolating_split(below, [whole, above], min_count=3) == 1  # the third answer
    assert isolating_split(whole, [above, below], min_count=3) == 1  # or the whole, last
    assert isolating_split(below, [whole, above], min_count=1) is None  # rule: 0 < r < min
    overlapping = 0b1111100000  # shares one person with `above`: no exact remainder known
    assert isolating_split(overlapping, [whole, above], min_count=3) is None
    outside = 0b10000000000 | below  # reaches outside `whole`
    assert isolating_split(outside, [whole, above], min_count=3) is None


def _split_by_loops(mine: int, earlier: list[int], *, min_count: int) -> int | None:
    """The split rule written out as the plain triple loop (the reference for the fast one)."""
    sets = [mine, *earlier]
    sizes = [s.bit_count() for s in sets]
    for i in range(1, len(sets)):
        for j in range(i + 1, len(sets)):
            for x, y, z in ((0, i, j), (i, 0, j), (j, 0, i)):
                whole, part, other = sets[x], sets[y], sets[z]
                if part & other or (part | other) & ~whole:
                    continue
                if 0 < sizes[x] - sizes[y] - sizes[z] < min_count:
                    return sizes[x] - sizes[y] - sizes[z]
    return None


@st.composite
def _answers(draw: st.DrawFn) -> tuple[int, list[int]]:
    """Bitsets that often form splits: parts of earlier answers, and their complements."""
    bits = draw(st.sampled_from([6, 12, 70, 300]))
    pool = draw(st.lists(st.integers(0, 2**bits - 1), min_size=1, max_size=5))
    for cut in draw(st.lists(st.integers(0, 2**bits - 1), max_size=6)):
        whole = pool[cut % len(pool)]
        pool += [whole & cut, whole & ~cut & draw(st.integers(0, 2**bits - 1))]
    order = draw(st.permutations(pool))
    return order[0], list(order[1:])


@settings(max_examples=400, deadline=None)
@given(_answers(), st.sampled_from([1, 2, 3, 5, 10]))
def test_isolating_split__matrix_form_agrees_with_the_triple_loop(
    answers: tuple[int, list[int]], min_count: int
) -> None:
    from genomesh.disclosure import isolating_split

    mine, earlier = answers
    assert isolating_split(mine, earlier, min_count=min_count) == _split_by_loops(
        mine, earlier, min_count=min_count
    )
