"""Small-count suppression for the aggregate analyses, with secondary suppression.

A count `c` with `0 < c < min_count` does not leave a node exactly. Where the cells of a
group partition a shown total (sex, population, age band), one suppressed cell could be
recovered as total minus the others, so the smallest other cell is suppressed too
("secondary suppression", as statistical offices do): the hub then learns only the sum of
at least two withheld cells.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

PRIMARY = "below the node's disclosure threshold ({min_count})"
SECONDARY = "withheld so a suppressed count cannot be recovered from the total"


def small(count: int, min_count: int) -> bool:
    """True when `count` must not be disclosed exactly."""
    return 0 < int(count) < int(min_count)


def suppress_partition(
    counts: Mapping[str, int], *, min_count: int, total_shown: bool = True
) -> tuple[dict[str, int | None], dict[str, str]]:
    """Counts of one partition with small cells (and, when the total is shown and only one
    cell is small, the next smallest cell) replaced by None; and the reasons by cell."""
    shown: dict[str, int | None] = {k: int(v) for k, v in counts.items()}
    why: dict[str, str] = {}
    for key, value in counts.items():
        if small(value, min_count):
            shown[key] = None
            why[key] = PRIMARY.format(min_count=min_count)
    if total_shown and len(why) == 1:
        others = sorted(
            (v, k) for k, v in shown.items() if v is not None and v > 0 and k not in why
        )
        if others:
            key = others[0][1]
            shown[key] = None
            why[key] = SECONDARY
    return shown, why


def suppress_matrix(counts: np.ndarray, complement: np.ndarray, *, min_count: int) -> np.ndarray:
    """Per cell, True where `counts` or `complement` (e.g. AC and AN-AC) is small."""
    counts, complement = np.asarray(counts), np.asarray(complement)
    return ((counts > 0) & (counts < min_count)) | ((complement > 0) & (complement < min_count))


def secondary_rows(counts: np.ndarray, suppressed: np.ndarray) -> np.ndarray:
    """Secondary suppression across the columns of a partition, row by row: where exactly
    one cell of a row is suppressed, also suppress the smallest other non-zero cell."""
    out = suppressed.copy()
    lonely = np.flatnonzero(out.sum(axis=1) == 1)
    for row in lonely:
        candidates = np.flatnonzero(~out[row] & (counts[row] > 0))
        if candidates.size:
            out[row, candidates[np.argmin(counts[row, candidates])]] = True
        elif out.shape[1] > 1:  # the others are all zero: withhold one zero as well
            zero = np.flatnonzero(~out[row])
            if zero.size:
                out[row, zero[0]] = True
    return out


__all__ = [
    "PRIMARY",
    "SECONDARY",
    "secondary_rows",
    "small",
    "suppress_matrix",
    "suppress_partition",
]
