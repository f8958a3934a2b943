"""Per-identity query budgets: which answers are charged (the counter lives in NodeState).

A budget of `NodeSettings.query_budget` queries per `budget_window_seconds` applies to every
identity answered at the anonymous or registered tier, and every Matchmaker Exchange peer
(the key is the passport subject, or the
client address for anonymous callers). Charged: every query that reaches at least one dataset,
whatever the answer. Not charged: informational endpoints, refused queries (nothing was
computed), controlled-tier answers for granted datasets (the DAC vetted the user and the
ledger records what they saw), and a participant's own data.

Why charge "no" answers and common variants too: the Shringarpure–Bustamante likelihood-ratio
test draws power from both yes and no answers, and if only rare-variant hits were charged, the
remaining budget itself would leak which queries were hits.
"""

from __future__ import annotations

BUDGETED_TIERS: frozenset[str] = frozenset({"anonymous", "registered", "matchmaker"})

# Tiers whose answers are narrowed (rare hits hidden, participants past their exposure budget
# withheld). Not "controlled" (the committee granted the data) and not "matchmaker": the guard
# gives a matchmaking peer only patients the custodian enrolled with their consent to
# matchmaking and contact, so being found is the point; a single-patient match would
# otherwise be withheld by the budget meant for anonymous membership inference. Both are
# still charged to the participants' exposure, audited and in the disclosure ledger, and a
# matchmaking peer's queries are still counted against its query budget.
NARROWED_TIERS: frozenset[str] = frozenset({"anonymous", "registered"})


def is_charged(effective_tiers: set[str], *, self_service: bool = False) -> bool:
    """Whether a query answered at these per-dataset tiers uses up budget."""
    if self_service:
        return False
    return bool(effective_tiers & BUDGETED_TIERS)


__all__ = ["BUDGETED_TIERS", "NARROWED_TIERS", "is_charged"]
