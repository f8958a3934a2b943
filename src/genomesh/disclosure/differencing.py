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
    answer completes with two earlier ones, when it is non-zero but below `min_count`."""
    sets = [mine, *earlier]
    sizes = [s.bit_count() for s in sets]
    for i in range(1, len(sets)):
        for j in range(i + 1, len(sets)):
            for x, y, z in ((0, i, j), (i, 0, j), (j, 0, i)):
                whole, part, other = sets[x], sets[y], sets[z]
                if part & other or (part | other) & ~whole:
                    continue
                remainder = sizes[x] - sizes[y] - sizes[z]
                if 0 < remainder < min_count:
                    return remainder
    return None


__all__ = ["isolates", "isolating_difference", "isolating_split"]
