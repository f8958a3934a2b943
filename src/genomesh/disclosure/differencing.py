"""Anti-differencing: refuse an exact count that differs from an earlier one by a few people.

The differencing attack asks two overlapping questions (say "carriers with HP:A" and
"carriers with HP:A, excluding women") and subtracts: a difference of 1 isolates one person.
The node keeps, in the disclosure ledger, who contributed to each answer it gave to each
identity. Before disclosing a count of individuals exactly, it compares the contributors with
those of the identity's recent answers from the same dataset; if the symmetric difference is
non-empty but smaller than `min_count`, the count is suppressed (as for a small count).
This is stricter than "queries that differ by one filter" because it looks at the people,
not the query text, so rephrasing the question does not get around it.

Pairs are not enough: "women" (X), "women with BMI > t" (Y) and "women with BMI < t" (Z) can
each differ by many people, yet X − Y − Z isolates the one woman whose BMI is exactly t.
`isolating_split` catches such splits: Y and Z disjoint, both within X, and a small non-zero
remainder. Sets are Python ints used as bitsets over the dataset's roster.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Set

import numpy as np


def isolates(differences: Iterable[int], *, min_count: int) -> int | None:
    """The first difference (in people) that is non-zero but below `min_count`, or None."""
    for diff in differences:
        if 0 < diff < min_count:
            return diff
    return None


def isolating_difference(
    contributors: Set[str], earlier: Iterable[Set[str]], *, min_count: int
) -> int | None:
    """The size of the first small non-zero difference with an earlier answer, or None."""
    return isolates((len(contributors ^ before) for before in earlier), min_count=min_count)


def isolating_split(mine: int, earlier: Sequence[int], *, min_count: int) -> int | None:
    """The remainder |X| − |Y| − |Z| of a split (Y, Z disjoint, both within X) that this
    answer completes with two earlier ones, when it is non-zero but below `min_count`.

    Every pair of earlier answers is tried with this answer as X, Y or Z. All pairwise
    overlaps come from one matrix product over the bitsets (Y ⊆ X ⇔ |X ∩ Y| = |Y|), so 20
    earlier answers over thousands of people cost one small product, not 630 bitset loops.
    """
    if len(earlier) < 2:
        return None
    sets = [mine, *earlier]
    width = max(1, (max(s.bit_length() for s in sets) + 7) // 8)
    packed = np.frombuffer(b"".join(s.to_bytes(width, "big") for s in sets), dtype=np.uint8)
    members = np.unpackbits(packed.reshape(len(sets), width), axis=1).astype(np.float64)
    inter = members @ members.T  # exact: counts far below 2**53
    size = np.diag(inter)
    i, j = np.triu_indices(len(sets) - 1, k=1)
    i, j = i + 1, j + 1  # pairs of earlier answers, in the order (i, j) with i < j
    s0, si, sj = size[0], size[i], size[j]
    fits = np.stack(
        [
            # X = this answer, Y = i, Z = j
            (inter[i, j] == 0) & (inter[i, 0] == si) & (inter[j, 0] == sj),
            # X = i, Y = this answer, Z = j
            (inter[0, j] == 0) & (inter[0, i] == s0) & (inter[j, i] == sj),
            # X = j, Y = this answer, Z = i
            (inter[0, i] == 0) & (inter[0, j] == s0) & (inter[i, j] == si),
        ],
        axis=1,
    )
    remainder = np.stack([s0 - si - sj, si - s0 - sj, sj - s0 - si], axis=1)
    hits = np.flatnonzero((fits & (remainder > 0) & (remainder < min_count)).ravel())
    return int(remainder.ravel()[hits[0]]) if len(hits) else None


__all__ = ["isolates", "isolating_difference", "isolating_split"]
