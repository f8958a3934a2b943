"""What a community is told at the node: every answer that used its members' data.

For each dataset group a community governs (`DatasetPolicy.communities`), the disclosure
ledger names every recipient of data derived from the group's participants; this sums it up
per recipient: who (passport subject; anonymous callers together), what (the surfaces and
operations of the answers), when (first and last), how many answers and how many of the
community's participants they included. No participant is named. The hub asks for it, signed
(`{"type": "community-report", "community": ...}`), for the community's governance body
(genomesh.hub.dac.governance), and the custodian sees it in the admin API.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from genomesh.audit.state import NodeState
from genomesh.core.settings import NodeSettings

REPORT_MESSAGE = "community-report"
MAX_OPERATIONS = 2_000  # audit entries read per recipient to say "what" (the rest are counted)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def community_usage(
    state: NodeState,
    settings: NodeSettings,
    dataset_ids: list[str],
    individuals_of: Callable[[str], frozenset[str]],
    community: str,
) -> dict[str, Any]:
    """The node's report for one community (`individuals_of(dataset)`: its participants)."""
    groups = []
    for dataset_id in dataset_ids:
        for group in settings.policy_for(dataset_id).communities:
            if group.community != community:
                continue
            everyone = individuals_of(dataset_id)
            members = everyone & frozenset(group.individuals) if group.individuals else everyone
            by_recipient: dict[str, dict[str, Any]] = {}
            for individual in sorted(members):
                for e in state.ledger(individual_id=individual, dataset_id=dataset_id):
                    anonymous = e.recipient_key.startswith("anonymous|")
                    who = (
                        "anonymous callers"
                        if anonymous
                        else (e.recipient_subject or e.recipient_key)
                    )
                    row = by_recipient.setdefault(
                        who, {"recipient": who, "answers": set(), "kinds": set(),
                              "participants": set(), "first": e.created_at, "last": e.created_at},
                    )  # fmt: skip
                    row["answers"].add(e.audit_seq)
                    row["kinds"].add(e.kind)
                    row["participants"].add(individual)
                    row["first"] = min(row["first"], e.created_at)
                    row["last"] = max(row["last"], e.created_at)
            results = []
            for row in by_recipient.values():
                what: set[str] = set()
                for seq in sorted(row["answers"])[:MAX_OPERATIONS]:
                    entry = state.audit_entry(seq)
                    step = entry.body.get("what", {}) if entry else {}
                    what.add(f"{step.get('surface')}/{step.get('operation')}")
                results.append(
                    {
                        "recipient": row["recipient"],
                        "what": sorted(what),
                        "kinds": sorted(row["kinds"]),
                        "answers": len(row["answers"]),
                        "participants": len(row["participants"]),
                        "first": _iso(row["first"]),
                        "last": _iso(row["last"]),
                    }
                )
            groups.append(
                {
                    "dataset_id": dataset_id,
                    "group": group.group or None,
                    "labels": list(group.labels),
                    "participants": len(members),
                    "results": sorted(results, key=lambda r: r["first"]),
                }
            )
    return {"node": settings.name, "community": community, "groups": groups}


__all__ = ["REPORT_MESSAGE", "community_usage"]
