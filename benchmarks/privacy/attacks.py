"""The published membership attacks on a Beacon, written from the papers' methods.

Shringarpure & Bustamante (2015), "Privacy risks from genomic data-sharing beacons",
Am J Hum Genet 97:631-646. The attacker knows the victim's genotypes and asks the beacon
about the victim's ALT alleles, rarest first. With N individuals in the beacon, an allele of
frequency f is absent from all 2N haplotypes with probability D_N = (1 - f)^(2N). Under H0
(victim not in the beacon) the beacon says "yes" with probability 1 - D_N; under H1 (victim
in the beacon) it says "no" only when the victim's copy was missed (sequencing error delta)
and nobody else carries it: probability delta * D_{N-1}. The log-likelihood ratio summed over
the answers x_i is

    S = sum_i  x_i * log[(1 - delta D_{N-1}) / (1 - D_N)]  +  (1 - x_i) * log[delta D_{N-1} / D_N]

(large S: member). The paper's first version integrates f over a beta site-frequency
spectrum; like its follow-ups (Raisaro et al. 2017; von Thenen et al. 2019) we use per-allele
frequencies from a reference panel of non-members, with a pseudo-count so alleles missing
from the panel get f = 0.5 / (2R + 1). The threshold is the 95th percentile of S over
non-member victims (5% false positives); power is the share of member victims above it.

von Thenen, Ayday & Cicek (2019), "Re-identification of individuals in genomic data-sharing
beacons via allele inference", Bioinformatics 35(3):365-371. The attacker asks about fewer alleles and infers the beacon's answer
for the others from answered neighbours in linkage disequilibrium, with conditional
probabilities estimated from the reference panel's haplotypes; the inferred answers then
enter the same likelihood-ratio test. Here: of the victim's 2Q rarest alleles, every other
one (in position order) is asked, the rest are inferred from asked neighbours within
`window` bp: "yes" when an answered-yes neighbour k has P(j | k) >= 0.5 on panel
haplotypes, "no" when an answered-no neighbour k is (almost) always carried with j
(P(k | j) >= 0.9 on at least 2 panel copies of j); otherwise the allele is left out. The
paper infers with a high-order Markov chain over the panel's haplotypes; the pairwise
conditional probabilities here are the first-order version of the same idea.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DELTA = 1e-6  # the paper's per-allele probability that the beacon missed the victim's copy


def panel_frequencies(panel_haplotypes: np.ndarray) -> np.ndarray:
    """ALT frequency per site from the reference panel, with a 0.5 pseudo-count."""
    n_hap = panel_haplotypes.shape[0]
    ac = panel_haplotypes.sum(axis=0, dtype=np.int64)
    return (ac + 0.5) / (n_hap + 1.0)


def lrt_terms(
    f: np.ndarray, n_beacon: int, *, delta: float = DELTA
) -> tuple[np.ndarray, np.ndarray]:
    """Per-site contributions to S for a "yes" and for a "no" answer (see module docstring)."""
    log_miss = np.log1p(-f)
    log_d_n = 2 * n_beacon * log_miss  # log D_N
    log_d_n1 = 2 * (n_beacon - 1) * log_miss  # log D_{N-1}
    p_yes_h0 = -np.expm1(log_d_n)  # 1 - D_N
    p_yes_h1 = -np.expm1(np.log(delta) + log_d_n1)  # 1 - delta D_{N-1}
    yes = np.log(p_yes_h1) - np.log(p_yes_h0)
    no = np.log(delta) + log_d_n1 - log_d_n
    return yes, no


def query_order(dosage: np.ndarray, f: np.ndarray, *, limit: int) -> np.ndarray:
    """The victim's ALT alleles, rarest in the panel first (ties by position), at most `limit`."""
    carried = np.flatnonzero(dosage > 0)
    order = np.lexsort((carried, f[carried]))
    return carried[order][:limit]


def lrt_statistic(sites: np.ndarray, answers: np.ndarray, yes: np.ndarray, no: np.ndarray) -> float:
    """S over answered sites; `answers` is 1 (yes), 0 (no) or -1 (refused, left out)."""
    a = answers.astype(np.int64)
    s = np.where(a == 1, yes[sites], np.where(a == 0, no[sites], 0.0))
    return float(s.sum())


def threshold_and_power(
    null: np.ndarray, members: np.ndarray, *, fpr: float = 0.05
) -> tuple[float, float, float]:
    """(threshold, power, false-positive rate) of the level-`fpr` test "S > t is a member".

    t = the (1 - fpr) quantile of the null statistics. The statistic is discrete (victims
    who got the same answers to alleles of the same panel frequency tie), so at t itself the
    test is randomised (Neyman-Pearson): a victim with S == t is called a member with
    probability gamma, chosen so the false-positive rate is exactly `fpr` on the null
    sample. Power and FPR are the expected shares under that rule.
    """
    null = np.asarray(null, dtype=float)
    members = np.asarray(members, dtype=float)
    t = float(np.quantile(null, 1 - fpr, method="higher"))
    above, tied = np.mean(null > t), np.mean(null == t)
    gamma = float(np.clip((fpr - above) / tied, 0.0, 1.0)) if tied else 0.0
    power = float(np.mean(members > t) + gamma * np.mean(members == t))
    return t, power, float(above + gamma * tied)


@dataclass(frozen=True)
class LDPlan:
    """Which of the victim's alleles the LD attacker asks, and which it infers."""

    asked: np.ndarray
    hidden: np.ndarray


def ld_plan(
    dosage: np.ndarray,
    f: np.ndarray,
    *,
    queries: int,
    panel_counts: np.ndarray | None = None,
    asked_min_count: int = 0,
) -> LDPlan:
    """Which alleles to ask and which to infer (both in position order).

    Default: the victim's 2*queries rarest alleles, every other one (by position) asked.
    With `asked_min_count` m > 0 (the paper's setting, where alleles rarer than a cut-off are
    hidden by the beacon): ask the `queries` rarest alleles seen at least m times in the
    panel, and infer the `queries` rarest of the others.
    """
    if asked_min_count <= 0 or panel_counts is None:
        candidates = np.sort(query_order(dosage, f, limit=2 * queries))
        return LDPlan(asked=candidates[0::2], hidden=candidates[1::2])
    common = panel_counts >= asked_min_count
    asked = query_order(np.where(common, dosage, 0), f, limit=queries)
    hidden = query_order(np.where(common, 0, dosage), f, limit=queries)
    return LDPlan(asked=np.sort(asked), hidden=np.sort(hidden))


def infer_hidden(
    plan: LDPlan,
    answers: np.ndarray,
    *,
    panel_haplotypes: np.ndarray,
    positions: np.ndarray,
    window: int = 100_000,
    yes_cut: float = 0.5,
    no_cut: float = 0.9,
) -> np.ndarray:
    """Inferred answers for `plan.hidden`: 1, 0, or -1 (cannot tell); see module docstring."""
    haps = panel_haplotypes
    asked_pos = positions[plan.asked]
    out = np.full(len(plan.hidden), -1, dtype=np.int8)
    for n, j in enumerate(plan.hidden):
        lo, hi = np.searchsorted(asked_pos, [positions[j] - window, positions[j] + window + 1])
        if lo == hi:
            continue
        near = plan.asked[lo:hi]
        got = answers[lo:hi]
        hj = haps[:, j].astype(bool)
        hk = haps[:, near].astype(bool)
        n_k = hk.sum(axis=0)
        n_j = int(hj.sum())
        both = (hk & hj[:, None]).sum(axis=0)
        # P(j | k): shrunk towards j's own frequency when k is rare in the panel
        f_j = (n_j + 0.5) / (haps.shape[0] + 1.0)
        p_j_given_k = (both + f_j) / (n_k + 1.0)
        if np.any((got == 1) & (p_j_given_k >= yes_cut)):
            out[n] = 1
            continue
        if n_j >= 2:
            p_k_given_j = both / n_j
            if np.any((got == 0) & (p_k_given_j >= no_cut)):
                out[n] = 0
    return out
