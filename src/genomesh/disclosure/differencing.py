"""Anti-differencing: refuse an exact count that differs from an earlier one by a few people.

The differencing attack asks two overlapping questions (say "carriers with HP:A" and
"carriers with HP:A, excluding women") and subtracts: a difference of 1 isolates one person.
The node keeps, in the disclosure ledger, who contributed to each answer it gave to each
identity. Before disclosing a count of individuals exactly, it compares the contributors with
those of the identity's recent answers from the same dataset; if the symmetric difference is
non-empty but smaller than `min_count`, the count is suppressed (as for a small count).
This is stricter than "queries that differ by one filter" because it looks at the people,
not the query text, so rephrasing the question does not get around it.
"""

from __future__ import annotations

from collections.abc import Iterable, Set


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


__all__ = ["isolates", "isolating_difference"]
