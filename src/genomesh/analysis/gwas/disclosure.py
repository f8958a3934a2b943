"""Node-side disclosure rules for GWAS statistics, applied before anything leaves the node.

* A dataset takes part only with at least `min_individuals` analysed people (and, for a
  binary trait, at least that many cases and that many controls).
* A variant's statistics leave a dataset only when, among the people with an observed
  genotype, the minor-allele count is 0 or at least `min_mac` and there are at least
  `min_individuals` people (cases and controls each, for a binary trait).
* Missing-genotype corrections are sums over the people whose genotype is missing, so they
  obey the same minimum: a variant whose missing set is non-empty but smaller than the
  minimum is withheld. And since two corrections whose missing sets differ by one person
  would give that person's trait and covariates away by subtraction, a variant whose missing
  set differs from an earlier variant's (different) missing set by fewer than the minimum
  number of people is withheld too.

A withheld variant contributes nothing (its sums are zero and its correction is the whole
dataset's sums, so the hub's complete-case sums simply leave the dataset out), and the
reply's `suppressed` names it and says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from genomesh.analysis.gwas.kernel import ChunkStats

REASONS = {
    "mac": "minor-allele count below the minimum",
    "nobs": "too few individuals with an observed genotype",
    "missing": "too few individuals with a missing genotype to disclose the correction",
    "overlap": "missing-genotype set too close to another variant's (differencing)",
    "groups": "too few cases or controls with an observed genotype",
}


@dataclass
class VariantScreen:
    """Which of a dataset's variants may leave (`ok`), and why the others may not."""

    ok: np.ndarray  # bool per variant
    reason: dict[int, str] = field(default_factory=dict)  # variant row -> REASONS key


def screen_variants(
    stats: ChunkStats,
    *,
    min_count: int,
    min_mac: int,
    y: np.ndarray | None = None,
    k: int = 0,
) -> VariantScreen:
    """Apply the per-variant rules to one dataset's kernel output.

    `y` (0/1) is given for a binary trait to check case and control counts; `k` is the
    number of covariate columns (the trait's column in the correction rows is `k`).
    """
    m = len(stats.gwg)
    reason: dict[int, str] = {}
    nmiss = np.zeros(m, dtype=np.int64)
    if len(stats.miss_rows):
        nmiss[stats.miss_rows] = _popcount(stats.miss_packed)
    mac = np.minimum(stats.ac, 2 * stats.nobs - stats.ac)
    bad_mac = (mac > 0) & (mac < min_mac)  # zero carriers: nothing to protect, sums are 0
    bad_nobs = stats.nobs < min_count
    bad_miss = (nmiss > 0) & (nmiss < min_count)
    bad_groups = np.zeros(m, dtype=bool)
    if y is not None and len(y):
        cases_total, n_total = float(y.sum()), len(y)
        cases_missing = np.zeros(m)
        if len(stats.miss_rows):
            cases_missing[stats.miss_rows] = stats.miss_Q[:, k]
        cases = cases_total - cases_missing
        controls = (n_total - nmiss) - cases
        bad_groups = (cases < min_count) | (controls < min_count)
    for key, bad in (
        ("nobs", bad_nobs),
        ("groups", bad_groups),
        ("missing", bad_miss),
        ("mac", bad_mac),
    ):
        for row in np.flatnonzero(bad):
            reason.setdefault(int(row), key)
    ok = ~(bad_mac | bad_nobs | bad_miss | bad_groups)
    for overlap in _overlapping_missing_sets(stats, ok, min_count):
        reason.setdefault(overlap, "overlap")
        ok[overlap] = False
    return VariantScreen(ok=ok, reason=reason)


def _popcount(packed: np.ndarray) -> np.ndarray:
    return np.bitwise_count(packed).sum(axis=1, dtype=np.int64)


def _overlapping_missing_sets(stats: ChunkStats, ok: np.ndarray, min_count: int) -> list[int]:
    """Rows whose missing set differs from an accepted, different set by < min_count people.

    Greedy in variant order: a set is accepted when it equals an accepted set or differs
    from every accepted set by at least `min_count` people (symmetric difference).
    """
    if min_count <= 1 or not len(stats.miss_rows):
        return []
    refused: list[int] = []
    matrix = np.zeros_like(stats.miss_packed)
    n_accepted = 0
    for row, packed in zip(stats.miss_rows, stats.miss_packed, strict=True):
        if not ok[row]:
            continue
        if n_accepted:
            distance = _popcount(matrix[:n_accepted] ^ packed)
            if (distance == 0).any():
                continue
            if (distance < min_count).any():
                refused.append(int(row))
                continue
        matrix[n_accepted] = packed
        n_accepted += 1
    return refused
