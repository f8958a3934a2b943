"""Per-participant exposure: what an answer reveals about one person's membership, in nats.

The attack this accounts for is the Shringarpure–Bustamante (2015) likelihood-ratio test, as
sharpened by Raisaro et al. (JAMIA 2017): the attacker knows the victim's genotypes, asks the
beacon about the victim's alleles (rarest first) and sums, per answer, the log-likelihood
ratio of "the victim is in the beacon" against "the victim is not".

For an allele of frequency f in a beacon of N people, with D_n = (1 - f)^(2n) the chance that
none of n people carries it, a "yes" adds

    LLR_yes(f) = log( (1 - δ·D_{N-1}) / (1 - D_N) )   -> -log(1 - (1 - f)^(2N))  as δ -> 0

(δ: the attacker's allowance for genotyping error). The attacker's f is not the beacon's: it
comes from a reference panel of other people, and asking rarest first picks exactly the
alleles the panel shows least. So the charge for one of the k carriers of an answer is the
*expected* gain of a "yes" for an attacker whose panel is as large as the dataset (2N
haplotypes) and drawn from the same population, and who adds half a count for alleles it
lacks (as the published attacks do):

    charge(k, N) = E[ LLR_yes((c + 0.5) / (2N + 1)) ],   c ~ Binomial(2N, (k - 1) / (2(N - 1)))

(k - 1: the other carriers, the allele's frequency among everybody but this one).

    k        1      2      3      4      5      6      7      10
    charge   0.93   0.45   0.22   0.11   0.057  0.029  0.015  0.0021   (N = 400)

Before this, the charge used the frequency the beacon itself shows, f = k / 2N
(`charge_at_beacon_frequency`: 0.459, 0.145, 0.051, 0.018, 0.0068, ... at N = 400). That is
what an attacker who knows the beacon's frequencies gains, and a fifth to a tenth of what a
panel attacker gains on a rare allele: a participant could be one of three or four carriers
in a few answers and of five to nine in dozens, and an attacker who stopped after the
victim's 30 rarest alleles reached power 0.15-0.18 at 5 % false positives where the goal is
0.10 (docs/disclosure-control.md). With the expected charge the default budget binds before
the first such answer: alleles of three or four carriers are never answered "yes" at the
open tiers (N = 400), and a participant is one of five carriers in one answer, of six in
three, of seven in six. The account itself is Raisaro et al.'s per-individual budget of the
test's LLR contributions (JAMIA 2017); pricing each contribution by what the attacker's
test gains, rather than by the beacon's own counts, is also how Wan et al. (BMC Med
Genomics 2017, the strategic privacy-preserving beacon) measure an answer's risk.

Every one of the k carriers is charged: each is "one of the few carriers that make the answer
true". The charge falls off quickly with k, and answers with at least `free_carriers`
contributors (default 10: charge < 0.0021, 1/50 of the default budget) are neither charged
nor narrowed, so alleles of ten or more carriers are always answered truly. Count and record
answers are charged the same: each also tells whether the allele exists. (What an exact
count adds about allele *frequency* - Homer et al. 2008 - is not charged; `min_count` and
the tiers guard it.)

When an answer would take a participant past the dataset's budget, that participant is
withheld: the answer is computed as if they were absent, which changes k for the rest (and so
their charge), so the rule is applied until nobody else is withheld. Asking again returns the
same answer (the gate remembers who was withheld from each distinct answer). An ε-DP answer
(`dp_epsilon`) charges at most ε (`answer_charge`).

Default budget (0.1 nats per participant and dataset, over every caller): below charge(4),
so with N = 400 no answer from four or fewer carriers is ever given; a participant may then be
revealed in an answer or so about an allele five or six people carry, or a handful at 7-9.
After that, answers about their rarest alleles are "no", as for a non-member.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Set
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_BUDGET = 0.1
DEFAULT_FREE_CARRIERS = 10
PSEUDO_COUNT = 0.5  # the attacker's for alleles its panel lacks (benchmarks/privacy/attacks.py)


def charge_at_beacon_frequency(k: int, n: int) -> float:
    """The yes-LLR at the frequency the beacon itself shows, f = k / 2N (the rule before
    the expected charge; kept to compare them, benchmarks/privacy/model.py)."""
    if k <= 0:
        return 0.0
    n = max(n, k)
    f = min(k / (2 * n), 0.5)
    none = (1.0 - f) ** (2 * n)
    return -math.log1p(-none) if none < 1.0 else math.inf


def yes_llr(f: float, n: int) -> float:
    """The Shringarpure-Bustamante LLR of a "yes" about an allele of frequency f in a beacon
    of n people, as the error rate δ -> 0: -log(1 - (1 - f)^(2n))."""
    none = (1.0 - f) ** (2 * n)
    return -math.log1p(-none) if none < 1.0 else math.inf


@lru_cache(maxsize=4096)
def charge(k: int, n: int) -> float:
    """What a "yes" from k carriers among n people is expected to give the attacker about
    each carrier's membership, in nats (see the module docstring: the expected LLR)."""
    if k <= 0:
        return 0.0
    n = max(n, k, 2)
    haplotypes = 2 * n  # a reference panel as large as the dataset
    f_others = (k - 1) / (2 * (n - 1))  # the allele among everybody but this carrier
    total = 0.0
    seen = 0.0
    log_f = math.log(f_others) if f_others > 0 else -math.inf
    log_not = math.log1p(-f_others)
    for c in range(haplotypes + 1):
        if f_others == 0.0:
            p = 1.0 if c == 0 else 0.0
        else:
            p = math.exp(
                math.lgamma(haplotypes + 1) - math.lgamma(c + 1) - math.lgamma(haplotypes - c + 1)
                + c * log_f + (haplotypes - c) * log_not
            )  # fmt: skip
        total += p * yes_llr((c + PSEUDO_COUNT) / (haplotypes + 1), n)
        seen += p
        if seen > 1.0 - 1e-12 and c > haplotypes * f_others:
            break
    return total


@dataclass(frozen=True)
class Withholding:
    """The outcome of the budget rule for one answer."""

    withheld: frozenset[str]  # participants the answer is computed without
    charges: Mapping[str, float]  # participant -> charge for the answer as given
    per_carrier: float  # the charge each remaining carrier pays


def answer_charge(k: int, n: int, *, epsilon: float | None = None) -> float:
    """What each of k carriers is charged for a "yes": charge(k, n), or at most ε when the
    answer is ε-differentially private (no such answer reveals more than ε nats)."""
    each = charge(k, n)
    return each if epsilon is None else min(each, epsilon)


def over_budget(
    carriers: Set[str],
    *,
    n: int,
    spent: Mapping[str, float],
    budget: float,
    epsilon: float | None = None,
) -> frozenset[str]:
    """The carriers this answer would take past the budget (they are to be withheld)."""
    cost = answer_charge(len(carriers), n, epsilon=epsilon)
    return frozenset(p for p in carriers if spent.get(p, 0.0) + cost > budget + 1e-12)


__all__ = [
    "DEFAULT_BUDGET",
    "DEFAULT_FREE_CARRIERS",
    "Withholding",
    "answer_charge",
    "charge",
    "charge_at_beacon_frequency",
    "over_budget",
    "yes_llr",
]
