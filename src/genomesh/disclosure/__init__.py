"""Output control: thresholds, suppression, query budgets, anti-differencing."""

from genomesh.disclosure.budget import BUDGETED_TIERS, NARROWED_TIERS, is_charged
from genomesh.disclosure.differencing import isolates, isolating_difference, isolating_split
from genomesh.disclosure.thresholds import CountDisclosure, disclose_count

__all__ = [
    "BUDGETED_TIERS",
    "NARROWED_TIERS",
    "CountDisclosure",
    "disclose_count",
    "is_charged",
    "isolates",
    "isolating_difference",
    "isolating_split",
]
