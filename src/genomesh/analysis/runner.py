"""The node's analysis runner: one round of a registered analysis, through the gate.

    runner = AnalysisRunner(settings=settings, node=node, gate=gate)
    outcome = runner.run(request, identity)      # RoundRequest from a verified hub message

The round becomes a `GateRequest(surface="analysis", operation=f"{name}.local",
requested_granularity="count")`, so the guard decides per dataset exactly as for a Beacon
count: the caller's visas, each participant's consent to the stated purpose, withdrawals,
jurisdiction rules. Analyses additionally need the controlled tier (a ControlledAccessGrants
visa for the dataset and a research purpose): only then has each participant's consent been
checked, so a registered-tier caller is refused. The analysis' `local` sees a `LocalData`
holding only the allowed individuals; the gate checks the contributors it reports, writes
the audit entry (task id, round, parameters) and the disclosure-ledger rows, and only then
does the reply leave. Only registered analysis types run (unknown names are refused).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from genomesh.analysis.localdata import StoreLocalData
from genomesh.analysis.protocol import LocalReply, RoundRequest, get_analysis
from genomesh.core.errors import AccessDeniedError
from genomesh.gate import DatasetAccess, DatasetResult, Gate, GateRequest

if TYPE_CHECKING:
    from genomesh.access.identity import Identity
    from genomesh.core.settings import NodeSettings
    from genomesh.store import NodeStore

SURFACE = "analysis"
NEEDS_CONTROLLED = (
    "analyses need the controlled tier for this dataset: a ControlledAccessGrants visa for it "
    "and a research purpose in the passport (so each participant's consent can be checked)"
)


@dataclass
class RoundOutcome:
    """A round's reply (after the gate) with the node's refusals and the audit entry."""

    reply: LocalReply
    refused: dict[str, str] = field(default_factory=dict)
    audit_id: int | None = None
    datasets: list[str] = field(default_factory=list)


def _summary(request: RoundRequest) -> dict[str, Any]:
    """What the audit log records of a round: ids and the params, arrays by shape only."""
    params: dict[str, Any] = {}
    for key, value in request.params.items():
        if isinstance(value, dict) and {"dtype", "shape", "data"} <= set(value):
            params[key] = {"array": value["dtype"], "shape": value["shape"]}
        else:
            params[key] = value
    return {"task_id": request.task_id, "round": request.round, "params": params}


class AnalysisRunner:
    """Runs rounds of registered analyses at one node. Thread-safe."""

    def __init__(
        self,
        *,
        settings: NodeSettings,
        node: NodeStore,
        gate: Gate,
        scheduler: Any = None,
    ) -> None:
        self.settings, self.node, self.gate = settings, node, gate
        self._scheduler = scheduler
        self._lock = threading.Lock()

    @property
    def scheduler(self) -> Any:
        """The dask scheduler: a `distributed.Client` for `settings.dask_scheduler` (connected
        on first use), else the local threaded scheduler."""
        if self._scheduler is None:
            address = getattr(self.settings, "dask_scheduler", None)
            with self._lock:
                if self._scheduler is None and address:
                    from distributed import Client

                    self._scheduler = Client(address, set_as_default=False)
        return self._scheduler if self._scheduler is not None else "threads"

    def close(self) -> None:
        client, self._scheduler = self._scheduler, None
        if client is not None and hasattr(client, "close"):
            client.close()

    def run(self, request: RoundRequest, identity: Identity) -> RoundOutcome:
        """One round through guard -> local -> disclose -> audit. AccessDeniedError when every
        dataset was refused (with the node's reasons)."""
        analysis = get_analysis(request.analysis)
        gate_request = GateRequest(
            identity=identity,
            surface=SURFACE,
            operation=f"{analysis.name}.local",
            parameters=_summary(request),
            dataset_ids=list(request.datasets),
            requested_granularity="count",
        )
        holder: dict[str, LocalReply] = {}

        def execute(allowed: Sequence[DatasetAccess]) -> list[DatasetResult]:
            for access in allowed:
                if access.tier != "controlled":
                    raise AccessDeniedError(
                        f"dataset {access.dataset_id!r}: {NEEDS_CONTROLLED}", field="datasets"
                    )
                if access.granularity == "boolean":
                    notes = "; ".join(access.notes)
                    raise AccessDeniedError(
                        f"dataset {access.dataset_id!r}: this node's policy allows only yes/no "
                        f"answers from it at your access level, no aggregates"
                        + (f" ({notes})" if notes else ""),
                        field="datasets",
                    )
            data = StoreLocalData(
                self.node,
                {a.dataset_id: a.allowed_individuals for a in allowed},
                settings=self.settings,
                scheduler=self.scheduler,
                chunk_variants=getattr(self.settings, "analysis_chunk_variants", None),
            )
            reply = analysis.local(data, request)
            holder["reply"] = reply
            results = []
            for a in allowed:
                # who shaped this dataset's part: what the analysis says, else all it read
                said = reply.contributors & a.allowed_individuals
                members = set(said) if reply.contributors else set(data.read[a.dataset_id])
                results.append(
                    DatasetResult(a.dataset_id, count=len(members), contributors=members)
                )
            return results

        response = self.gate.run(gate_request, execute)
        if not response.results:
            reasons = "; ".join(f"{d}: {r}" for d, r in sorted(response.refused.items()))
            raise AccessDeniedError(
                f"this node refused every dataset of the round ({reasons or 'none requested'})",
                details={"refused": dict(response.refused), "audit_id": response.audit_id},
            )
        return RoundOutcome(
            reply=holder["reply"],
            refused=dict(response.refused),
            audit_id=response.audit_id,
            datasets=[r.dataset_id for r in response.results],
        )


__all__ = ["NEEDS_CONTROLLED", "SURFACE", "AnalysisRunner", "RoundOutcome"]
