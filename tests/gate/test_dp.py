"""Differentially private counts and membership (genomesh.disclosure.dp).

The epsilon guarantee is checked twice: exactly, on the mechanism's output distribution, and
statistically, on sampled answers for neighbouring inputs (empirical likelihood ratios within
e^epsilon up to a declared sampling tolerance, and a chi-square test against the analytic
distribution). Optimality (Cho et al. 2020) is checked against scipy's linear-programming
optimum over every epsilon-DP yes/no mechanism.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.optimize import linprog

from genomesh.core.errors import InvalidInputError
from genomesh.disclosure.dp import (
    answer_rng,
    asymmetric_count_loss,
    count_remap,
    geometric_matrix,
    membership_mechanism,
    noisy_count,
    sfs_prior,
    two_sided_geometric,
)

DRAWS = 200_000
Z = 4.5  # sampling tolerance in standard errors (per-cell false alarm ~1e-5)


@pytest.mark.parametrize("epsilon", [0.1, 0.5, 1.0, 3.0])
def test_geometric_matrix__rows_sum_to_one_and_neighbours_within_e_epsilon(epsilon: float) -> None:
    p = geometric_matrix(30, epsilon)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    ratio = np.abs(np.log(p[1:]) - np.log(p[:-1]))
    assert ratio.max() <= epsilon + 1e-9
    assert ratio.max() >= epsilon - 1e-9  # tight: the mechanism spends all of epsilon


def test_two_sided_geometric__matches_its_distribution() -> None:
    rng = np.random.default_rng(1)
    eps = 0.7
    d = two_sided_geometric(eps, rng, size=DRAWS)
    a = np.exp(-eps)
    support = np.arange(-8, 9)
    expected = (1 - a) / (1 + a) * a ** np.abs(support)
    observed = np.array([(d == k).sum() for k in support])
    tail = DRAWS - observed.sum()
    chi = stats.chisquare(
        np.append(observed, tail), np.append(expected, 1 - expected.sum()) * DRAWS
    )
    assert chi.pvalue > 1e-3


def _empirical(count: int, *, n: int, epsilon: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    d = two_sided_geometric(epsilon, rng, size=DRAWS)
    z = np.clip(count + d, 0, n)
    return np.bincount(z, minlength=n + 1) / DRAWS


@pytest.mark.parametrize("count", [0, 1, 5, 9])
def test_noisy_count__empirical_likelihood_ratio_of_neighbours_within_e_epsilon(count: int) -> None:
    n, eps = 10, 1.0
    f0 = _empirical(count, n=n, epsilon=eps, seed=10 + count)
    f1 = _empirical(count + 1, n=n, epsilon=eps, seed=100 + count)
    exact = geometric_matrix(n, eps)
    for f, c in ((f0, count), (f1, count + 1)):  # the samples follow the analytic rows
        chi = stats.chisquare(f * DRAWS, exact[c] * DRAWS)
        assert chi.pvalue > 1e-3
    # where both cells are well sampled, |log f0 - log f1| <= eps + sampling tolerance
    enough = (f0 * DRAWS > 500) & (f1 * DRAWS > 500)
    se = np.sqrt((1 - f0) / (f0 * DRAWS) + (1 - f1) / (f1 * DRAWS))[enough]
    ratio = np.abs(np.log(f0[enough]) - np.log(f1[enough]))
    assert np.all(ratio <= eps + Z * se)
    assert enough.sum() >= 6


def test_noisy_count__stays_in_range_and_is_reproducible_from_the_seed() -> None:
    outs = [noisy_count(3, n=5, epsilon=0.2, rng=np.random.default_rng(s)) for s in range(500)]
    assert min(outs) == 0 and max(outs) == 5
    again = [noisy_count(3, n=5, epsilon=0.2, rng=np.random.default_rng(s)) for s in range(500)]
    assert outs == again


@pytest.mark.parametrize(
    ("n", "epsilon", "fn_cost", "fp_cost", "p_absent"),
    [(50, 1.0, 1, 1, 0.5), (50, 0.5, 5, 1, 0.5), (120, 2.0, 1, 3, 0.3), (100, 1.0, 10, 1, 0.5)],
)
def test_membership__matches_the_linear_programming_optimum(
    n: int, epsilon: float, fn_cost: float, fp_cost: float, p_absent: float
) -> None:
    """Cho et al.: geometric + Bayes remap is optimal among all epsilon-DP yes/no answers."""
    prior = sfs_prior(n, p_absent=p_absent)
    mech = membership_mechanism(n, epsilon=epsilon, fn_cost=fn_cost, fp_cost=fp_cost, prior=prior)
    ours = mech.expected_loss(prior, fn_cost=fn_cost, fp_cost=fp_cost)
    # variables y_c = P(yes | c); both P(yes) and P(no) within e^eps between neighbours
    e = np.exp(epsilon)
    rows, bounds = [], []
    for c in range(n):
        for u, v in ((c, c + 1), (c + 1, c)):
            r = np.zeros(n + 1)
            r[u], r[v] = 1, -e
            rows.append(r)
            bounds.append(0.0)
            rows.append(-r)
            bounds.append(e - 1)
    cost = np.concatenate([[fp_cost * prior[0]], -fn_cost * prior[1:]])
    lp = linprog(cost, A_ub=np.array(rows), b_ub=bounds, bounds=[(0, 1)] * (n + 1))
    assert lp.status == 0
    best = lp.fun + fn_cost * prior[1:].sum()
    assert ours == pytest.approx(best, abs=1e-7)


@pytest.mark.parametrize("epsilon", [0.5, 1.0, 2.0])
def test_membership__yes_and_no_probabilities_of_neighbours_within_e_epsilon(
    epsilon: float,
) -> None:
    mech = membership_mechanism(40, epsilon=epsilon, fn_cost=3)
    yes, no = mech.probability_yes(), mech.probability_no()
    np.testing.assert_allclose(yes + no, 1.0, atol=1e-12)
    for p in (yes, no):
        assert np.abs(np.diff(np.log(p))).max() <= epsilon + 1e-9
    # sampled answers agree with P(yes | c) for a present singleton and an absent allele
    for count in (0, 1):
        rng = np.random.default_rng(count)
        z = np.clip(count + two_sided_geometric(epsilon, rng, size=DRAWS), 0, 40)
        share = np.mean(z >= mech.cutoff)
        assert abs(share - yes[count]) <= Z * np.sqrt(yes[count] * (1 - yes[count]) / DRAWS)


def test_membership__utility_shape() -> None:
    """Common alleles are answered truly; absence and singletons are blurred; a higher cost of
    a missed carrier moves the cut-off down (more yes)."""
    mech = membership_mechanism(400, epsilon=1.0)
    yes = mech.probability_yes()
    assert yes[10] > 0.99 and yes[50] > 1 - 1e-9
    assert yes[0] < 0.5 < yes[3]
    assert np.all(np.diff(yes) >= -1e-15)
    eager = membership_mechanism(400, epsilon=1.0, fn_cost=20)
    assert eager.cutoff < mech.cutoff
    assert eager.probability_yes()[1] > yes[1]


def test_count_remap__asymmetric_loss_shifts_answers() -> None:
    n, eps = 60, 0.5
    plain = count_remap(n, epsilon=eps, loss=asymmetric_count_loss())
    shy = count_remap(n, epsilon=eps, loss=asymmetric_count_loss(over=5.0, under=1.0))
    assert np.all(shy <= plain) and np.any(shy < plain)
    assert np.all(np.diff(plain) >= 0)  # monotone in the noisy count


def test_answer_rng__same_query_same_noise_other_query_other_noise() -> None:
    key = b"k" * 32

    def ask(version: str, query: str) -> int:
        return noisy_count(
            7, n=400, epsilon=0.5, rng=answer_rng(key, dataset_version=version, query=query)
        )

    a = [ask("v1", "22:16050074:A:G") for _ in range(5)]
    assert len(set(a)) == 1  # asking again reveals nothing new
    others = {ask("v1", f"22:{p}:A:G") for p in range(200)}
    assert len(others) > 3  # independent noise per query
    versions = {ask(f"v{i}", "22:16050074:A:G") for i in range(200)}
    assert len(versions) > 3


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: geometric_matrix(0, 1.0), "n .* must be >= 1"),
        (lambda: geometric_matrix(5, 0.0), "epsilon must be a positive"),
        (lambda: noisy_count(9, n=5, epsilon=1.0, rng=np.random.default_rng()), "within 0..5"),
        (lambda: membership_mechanism(5, epsilon=1.0, prior=np.ones(6)), "summing to 1"),
        (lambda: membership_mechanism(5, epsilon=1.0, fp_cost=0), "must be positive"),
        (lambda: answer_rng(b"short", dataset_version="v", query="q"), "at least 16 bytes"),
        (lambda: sfs_prior(5, p_absent=1.0), "p_absent"),
    ],
)
def test_bad_parameters__clear_errors(call: object, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        call()  # type: ignore[operator]
