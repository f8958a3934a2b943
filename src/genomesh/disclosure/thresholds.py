"""Small-count suppression: counts below a dataset's `min_count` never leave exactly.

The rule (as in DataSHIELD's nfilter.tab and the CanDIG/Bento discovery defaults):

* `0` is disclosed as `0`. A zero says "nobody matched", which the boolean answer already
  says to every tier; it identifies no one.
* `1 .. min_count-1` is disclosed as `count=None, count_suppressed=True` (and `exists=True`):
  the caller learns "some, fewer than the threshold" — the honest representation, never a
  rounded or invented number.
* `>= min_count` is disclosed exactly.

At record granularity (a controlled-access grant holder whose participants' consent fits)
the records themselves are returned, so the count is exact: hiding it would hide nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from genomesh.core.settings import Granularity


@dataclass(frozen=True)
class CountDisclosure:
    """What may be said about one count."""

    exists: bool
    count: int | None
    suppressed: bool


def disclose_count(count: int, *, granularity: Granularity, min_count: int) -> CountDisclosure:
    """Apply the threshold rule above to a raw count at the returned granularity."""
    if count < 0:
        raise ValueError(f"a count cannot be negative: {count}")
    exists = count > 0
    if granularity == "boolean":
        return CountDisclosure(exists, None, False)
    if granularity == "record" or count == 0 or count >= min_count:
        return CountDisclosure(exists, count, False)
    return CountDisclosure(exists, None, True)


__all__ = ["CountDisclosure", "disclose_count"]
