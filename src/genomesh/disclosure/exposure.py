"""Per-participant exposure: what an answer reveals about one person's membership, in nats.

The attack this accounts for is the Shringarpure–Bustamante (2015) likelihood-ratio test, as
sharpened by Raisaro et al. (JAMIA 2017): the attacker knows the victim's genotypes, asks the
beacon about the victim's alleles (rarest first) and sums, per answer, the log-likelihood
ratio of "the victim is in the beacon" against "the victim is not".

For an allele of frequency f in a beacon of N people, with D_n = (1 - f)^(2n) the chance that
none of n people carries it, a "yes" adds

    LLR_yes = log( (1 - δ·D_{N-1}) / (1 - D_N) )

(δ: the attacker's allowance for genotyping error). As δ -> 0 this is -log(1 - D_N): the
surprise of "someone in the beacon carries it" for a non-member. The node knows the allele's
carriers: k of its N people (the answer's contributors). With f = k / 2N (the frequency the
beacon itself shows, which is what an unbiased reference panel estimates), the charge is

    charge(k, N) = -log(1 - (1 - k/2N)^(2N))   ≈ -log(1 - e^-k) for large N.

    k        1      2      3      4       5       10
    charge   0.459  0.145  0.051  0.0185  0.0068  4.5e-5   (N = 400)

Every one of the k carriers is charged: each is "one of the few carriers that make the answer
true". The charge falls off as e^-k, so carriers of common alleles pay almost nothing, and
answers with at least `free_carriers` contributors (default 10: charge < 5e-5, < 1/2000 of the
default budget) are neither charged nor narrowed. Count and record answers are charged the
same: each also tells whether the allele exists. (What an exact count adds about allele
*frequency* - Homer et al. 2008 - is not charged; `min_count` and the tiers guard it.)

When an answer would take a participant past the dataset's budget, that participant is
withheld: the answer is computed as if they were absent, which changes k for the rest (and so
their charge), so the rule is applied until nobody else is withheld. Asking again returns the
same answer (the gate remembers who was withheld from each distinct answer).

Default budget (0.1 nats per participant and dataset, over every caller): below charge(2),
so no answer from one or two carriers is ever given (with N >= 10); a participant may then be
revealed in one or two answers about an allele three people carry, or a handful at 4-9.
After that, answers about their rarest alleles are "no", as for a non-member.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Set
from dataclasses import dataclass

DEFAULT_BUDGET = 0.1
DEFAULT_FREE_CARRIERS = 10


def charge(k: int, n: int) -> float:
    """The membership log-likelihood ratio (nats) a "yes" from k carriers among n people gives."""
    if k <= 0:
        return 0.0
    n = max(n, k)
    f = min(k / (2 * n), 0.5)
    none = (1.0 - f) ** (2 * n)
    return -math.log1p(-none) if none < 1.0 else math.inf


@dataclass(frozen=True)
class Withholding:
    """The outcome of the budget rule for one answer."""

    withheld: frozenset[str]  # participants the answer is computed without
    charges: Mapping[str, float]  # participant -> charge for the answer as given
    per_carrier: float  # the charge each remaining carrier pays


def over_budget(
    carriers: Set[str], *, n: int, spent: Mapping[str, float], budget: float
) -> frozenset[str]:
    """The carriers this answer would take past the budget (they are to be withheld)."""
    cost = charge(len(carriers), n)
    return frozenset(p for p in carriers if spent.get(p, 0.0) + cost > budget + 1e-12)


__all__ = [
    "DEFAULT_BUDGET",
    "DEFAULT_FREE_CARRIERS",
    "Withholding",
    "charge",
    "over_budget",
]
