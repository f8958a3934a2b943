"""How often a node's data served analyses, read from its audit log (attribution).

Every analysis round a node answers is one audit entry with `what.surface == "analysis"`,
`outcome == "answered"` and the hub's task id in `what.parameters.task_id`; an analysis is
one task however many rounds it took. `AnalysisUsage` counts distinct tasks per dataset,
reading only the entries appended since its last call, and, from the disclosure ledger, the
tasks one participant's data took part in.
"""

from __future__ import annotations

import threading
from typing import Any

from genomesh.audit.state import NodeState

SURFACE = "analysis"


def _task(body: dict[str, Any]) -> str | None:
    what = body.get("what") or {}
    if what.get("surface") != SURFACE or body.get("outcome") != "answered":
        return None
    task = (what.get("parameters") or {}).get("task_id")
    return task if isinstance(task, str) else None


class AnalysisUsage:
    """Distinct analyses served per dataset, kept up to date incrementally."""

    def __init__(self, state: NodeState) -> None:
        self.state = state
        self._seen = 0
        self._tasks: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def per_dataset(self) -> dict[str, int]:
        """dataset id -> number of distinct analyses its data served (answered rounds)."""
        with self._lock:
            for entry in self.state.audit_entries(after_seq=self._seen):
                self._seen = max(self._seen, entry.seq)
                task = _task(entry.body)
                if task is None:
                    continue
                for item in entry.body.get("datasets") or []:
                    if "n_individuals" in item and item.get("n_individuals"):
                        self._tasks.setdefault(str(item["id"]), set()).add(task)
            return {d: len(t) for d, t in sorted(self._tasks.items())}

    def including(self, individual_id: str, dataset_id: str) -> int:
        """Distinct analyses whose answers used this participant's data in this dataset."""
        tasks = set()
        for row in self.state.ledger(individual_id=individual_id, dataset_id=dataset_id):
            entry = self.state.audit_entry(row.audit_seq)
            task = _task(entry.body) if entry is not None else None
            if task is not None:
                tasks.add(task)
        return len(tasks)


_usage: dict[int, AnalysisUsage] = {}
_usage_lock = threading.Lock()


def usage_of(state: NodeState) -> AnalysisUsage:
    """The one AnalysisUsage for this node state (so counting stays incremental)."""
    with _usage_lock:
        found = _usage.get(id(state))
        if found is None or found.state is not state:
            found = _usage[id(state)] = AnalysisUsage(state)
        return found


__all__ = ["AnalysisUsage", "usage_of"]
