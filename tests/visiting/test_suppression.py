"""Small-count suppression: small cells withheld, and never one withheld cell alone in a
partition whose total is shown (it could be recovered by subtraction)."""

from __future__ import annotations

import numpy as np
import pytest

from genomesh.analysis.allele_frequency import disclose, hidden_groups
from genomesh.analysis.cohort_summary import count_dataset
from genomesh.analysis.suppression import SECONDARY, suppress_partition

NAMES = ["all", "pop:A", "pop:B", "pop:C", "sex:female", "sex:male"]


def test_partition__a_lone_small_cell_takes_the_next_smallest_with_it() -> None:
    shown, why = suppress_partition({"male": 3, "female": 40, "unknown": 17}, min_count=5)
    assert shown == {"male": None, "female": 40, "unknown": None}
    assert why["unknown"] == SECONDARY and "threshold (5)" in why["male"]
    shown, _ = suppress_partition({"a": 3, "b": 2, "c": 40}, min_count=5)
    assert shown == {"a": None, "b": None, "c": 40}  # two withheld already: only their sum is known
    assert suppress_partition({"a": 0, "b": 9}, min_count=5)[0] == {"a": 0, "b": 9}


@pytest.mark.parametrize(
    ("sizes", "hidden"),
    [
        ([40, 20, 17, 3, 20, 20], [False, False, True, True, False, False]),
        ([40, 20, 16, 4, 36, 4], [False, False, True, True, True, True]),
        ([40, 30, 7, 3, 21, 19], [False, False, True, True, False, False]),
        ([4, 2, 1, 1, 2, 2], [True] * 6),
    ],
)
def test_groups__small_groups_and_their_partners_are_withheld(
    sizes: list[int], hidden: list[bool]
) -> None:
    assert hidden_groups(np.array(sizes), NAMES, min_count=5).tolist() == hidden


def test_cells__no_partition_ever_has_exactly_one_withheld_cell() -> None:
    rng = np.random.default_rng(11)
    for _ in range(50):
        n_variants = 40
        pops = rng.integers(0, 8, size=(n_variants, 3))
        sexes = np.stack([pops.sum(1) // 2, pops.sum(1) - pops.sum(1) // 2], axis=1)
        ac = np.concatenate([pops.sum(1, keepdims=True), pops, sexes], axis=1)
        an = np.full_like(ac, 40)
        an[:, 0] = 120
        counts = {"AC": ac, "AN": an, "nhomalt": rng.integers(0, 3, size=ac.shape)}
        sizes = np.array([60, 20, 20, 20, 30, 30])
        group, primary, secondary = disclose(counts, NAMES, sizes, min_count=5)
        hidden = group | primary | secondary
        assert not group.any()
        assert (
            primary
            == (
                ((ac > 0) & (ac < 5))
                | ((counts["nhomalt"] > 0) & (counts["nhomalt"] < 5))
                | ((an - ac > 0) & (an - ac < 5))
            )
        ).all()
        for cols in ([1, 2, 3], [4, 5]):
            per_row = hidden[:, cols].sum(axis=1)
            assert not (per_row == 1).any()


def test_cohort_counts__shown_counts_are_zero_or_at_least_the_threshold() -> None:
    import pandas as pd

    people = pd.DataFrame(
        {
            "individual_id": [f"p{i}" for i in range(23)],
            "sex": ["female"] * 12 + ["male"] * 9 + ["unknown"] * 2,
            "age": [25.0] * 20 + [70.0] * 3,
            "population": ["European"] * 23,
            "phenotypes": [["HP:1"]] * 4 + [["HP:2"]] * 19,
        }
    )
    counts, withheld = count_dataset(people, edges=[40], terms=None, min_count=5)
    assert counts["n"] == 23
    assert counts["sex"] == {"female": 12, "male": None, "unknown": None}
    assert counts["age_band"] == {"40+": None, "<40": None}  # a two-cell partition: both
    assert counts["phenotype"] == {"HP:1": None, "HP:2": 19}
    assert set(withheld) == {
        "sex.unknown",
        "sex.male",
        "age_band.40+",
        "age_band.<40",
        "phenotype.HP:1",
    }
    tiny, why = count_dataset(people.head(3), edges=[40], terms=None, min_count=5)
    assert tiny == {"n": None} and "threshold" in why["n"]
