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

The budget (0.1 nats per participant and dataset, over every caller) binds differently
under the two charges. With the beacon-frequency charge no answer from one or two carriers is
ever given (charge(2) > 0.1 for N >= 10); a participant may then be revealed in one or two
answers about an allele three people carry, or a handful at 4-9.

The expected charge (`exposure_charge = "expected"`, the default). The attacker's f is not
the beacon's: it comes from a reference panel of other people, and asking rarest first picks
the alleles the panel shows least. `expected_charge` is the gain of a "yes" averaged over
what a panel as large as the dataset (2N haplotypes, same population) says, with half a count
added for alleles it lacks, as the published attacks do:

    expected_charge(k, N) = E[ LLR_yes((c + 0.5) / (2N + 1)) ],
                            c ~ Binomial(2N, (k - 1) / (2(N - 1)))

    k        1      2      3      4      5      6      7      10
    charge   0.93   0.45   0.22   0.11   0.057  0.029  0.015  0.0021   (N = 400)

four to ten times the beacon-frequency charge on rare alleles, so the budget binds before the
first answer about an allele of three or four carriers (N = 400).

The drawn line (`exposure_line_min`..`exposure_line_max`, default 4..8; `drawn_line`). Any
rule that hides by carrier count leaks at its boundary: a member's own copy lifts their allele
over it where a non-member's stays under. So each answer also needs at least L carriers, L
drawn per answer by an HMAC of the answer's fingerprint under the node's secret: the boundary
is blurred, and asking again (any words, any identity) cannot re-draw it. Measured with
benchmarks/privacy/model.py and the live harness in docs/disclosure-control.md ("The
early-stopping attacker"): the two together hold the worst power over attack lengths to
0.15-0.21 (0.27 with the beacon-frequency charge alone), not to the issue's 0.10.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_BUDGET = 0.1
DEFAULT_FREE_CARRIERS = 10
PSEUDO_COUNT = 0.5  # the attacker's for alleles its panel lacks (benchmarks/privacy/attacks.py)


def charge(k: int, n: int) -> float:
    """The membership LLR (nats) a "yes" from k carriers among n people gives, at the
    frequency the beacon itself shows, f = k / 2N (the default charge)."""
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
def expected_charge(k: int, n: int) -> float:
    """What a "yes" from k carriers among n people is expected to give a panel attacker about
    each carrier's membership, in nats (module docstring; `exposure_charge = "expected"`)."""
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


def drawn_line(key: bytes, fingerprint: str, *, low: int, high: int) -> int:
    """The fewest carriers this answer needs, drawn uniformly from low..high by a keyed hash
    of the answer's fingerprint (who and how much made it, in this dataset version).

    Same answer, same line: asking again - in any words, by anyone - cannot re-draw it, and
    without the node's key nobody can tell which alleles sit above their line. `high` below
    `low` draws nothing (line 1: only the budget decides)."""
    if high < low:
        return 1
    digest = hmac.new(key, b"exposure-line\x1f" + fingerprint.encode(), hashlib.sha256).digest()
    return low + int.from_bytes(digest[:8], "big") % (high - low + 1)


@dataclass(frozen=True)
class Withholding:
    """The outcome of the budget rule for one answer."""

    withheld: frozenset[str]  # participants the answer is computed without
    charges: Mapping[str, float]  # participant -> charge for the answer as given
    per_carrier: float  # the charge each remaining carrier pays


CHARGES: dict[str, Callable[[int, int], float]] = {
    "beacon_frequency": charge,
    "expected": expected_charge,
}


def answer_charge(
    k: int, n: int, *, kind: str = "beacon_frequency", epsilon: float | None = None
) -> float:
    """What each of k carriers is charged for a "yes" under the dataset's `exposure_charge`
    rule, or at most ε when the answer is ε-differentially private (no such answer reveals
    more than ε nats)."""
    each = CHARGES[kind](k, n)
    return each if epsilon is None else min(each, epsilon)


def over_budget(
    carriers: Set[str],
    *,
    n: int,
    spent: Mapping[str, float],
    budget: float,
    kind: str = "beacon_frequency",
) -> frozenset[str]:
    """The carriers this answer would take past the budget (they are to be withheld)."""
    cost = CHARGES[kind](len(carriers), n)
    return frozenset(p for p in carriers if spent.get(p, 0.0) + cost > budget + 1e-12)


__all__ = [
    "CHARGES",
    "DEFAULT_BUDGET",
    "DEFAULT_FREE_CARRIERS",
    "Withholding",
    "answer_charge",
    "charge",
    "drawn_line",
    "expected_charge",
    "over_budget",
    "yes_llr",
]
