"""The Beacon surface: one request in, one Beacon response out, every answer through the gate.

`BeaconService.query(req, identity)` validates the request (variant parameters, filters,
path ids) before anything runs, checks each dataset's assembly against the query's, builds a
`QueryPlan`, and calls `Gate.run` with the engine's execute callable. The store is read for
output only inside that callable.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from genomesh.access.identity import Identity
from genomesh.beacon import informational
from genomesh.beacon.engine import BeaconEngine, QueryPlan
from genomesh.beacon.filters import Vocabulary, resolve_filters
from genomesh.beacon.records import ANALYSIS_SUFFIX, RUN_SUFFIX
from genomesh.beacon.request import BeaconRequest
from genomesh.beacon.responses import collections_response, result_response
from genomesh.beacon.variants import VariantQuery, id_query, parse_variant_query
from genomesh.core.errors import NotFoundError
from genomesh.core.settings import NodeSettings
from genomesh.gate import noise
from genomesh.gate.contract import GateRequest

DATASET_LIST_SECONDS = 2.0


def _combine(a: VariantQuery | None, b: VariantQuery | None) -> VariantQuery | None:
    if a is None or a.kind == "none":
        return b if b is not None and b.kind != "none" else None
    if b is None or b.kind == "none":
        return a
    return VariantQuery(
        kind=b.kind,
        chrom=b.chrom or a.chrom,
        assembly=b.assembly or a.assembly,
        where=f"({a.where}) AND ({b.where})",
        params=[*a.params, *b.params],
    )


class BeaconService:
    """Answers Beacon queries for one node."""

    def __init__(
        self, *, settings: NodeSettings, node: Any, gate: Any, engine: BeaconEngine | None = None
    ) -> None:
        self.settings = settings
        self.node = node
        self.gate = gate
        self.engine = engine or BeaconEngine(node)
        self._ids: tuple[list[str], float] | None = None
        self._vocab: tuple[tuple[tuple[str, str], ...], Vocabulary] | None = None
        self._lock = threading.Lock()

    # -- node facts (cached briefly; datasets change only by ingest) ----------------------

    def dataset_ids(self) -> list[str]:
        now = time.monotonic()
        cached = self._ids
        if cached is None or now - cached[1] > DATASET_LIST_SECONDS:
            cached = (self.engine.dataset_ids(), now)
            self._ids = cached
        return cached[0]

    def vocabulary(self) -> Vocabulary:
        key = tuple((d, self.engine.context(d).version) for d in self.dataset_ids())
        cached = self._vocab
        if cached is None or cached[0] != key:
            with self._lock:
                cached = (key, self.engine.vocabulary())
                self._vocab = cached
        return cached[1]

    def filtering_terms(self, dataset_id: str | None = None) -> dict[str, Any]:
        """`/filtering_terms` (every dataset) or `/datasets/{id}/filtering_terms` (one)."""
        ids = self.dataset_ids()
        if dataset_id is not None:
            if dataset_id not in ids:
                raise NotFoundError(f"no dataset {dataset_id!r} on this node", field="id")
            ids = [dataset_id]
        terms: dict[str, str] = {}
        kinds: dict[str, str] = {}
        assays: dict[str, str] = {}
        for d in ids:
            voc = self.engine.context(d).vocabulary
            terms.update(voc["terms"])
            kinds.update(voc["kinds"])
            assays.update(voc["assays"])
        return informational.filtering_terms(self.settings, terms=terms, kinds=kinds, assays=assays)

    def dataset_summaries(self) -> list[dict[str, Any]]:
        out = []
        for d in self.dataset_ids():
            info = self.engine.context(d).info
            policy = self.settings.policy_for(d)
            # The disclosure rules are public: a caller can read what "exists: false" may
            # hide and how much any participant can be exposed (docs/disclosure-control.md).
            disclosure = {
                "minCount": policy.min_count,
                "hiddenBelowCarriers": policy.boolean_min_count,
                "exposureBudgetNats": policy.exposure_budget,
                "exposureFreeCarriers": policy.exposure_free_carriers,
                "exposureCharge": policy.exposure_charge,
                # each rare answer's line is drawn (keyed) from min..max carriers
                "exposureLineMin": policy.exposure_line_min,
                "exposureLineMax": policy.exposure_line_max,
                # questions about a participant's alleles, counted over every caller; past the
                # budget they are left out of open-tier answers from fewer than the carriers
                "scrutinyBudgetNats": policy.scrutiny_budget,
                "scrutinyCarriers": policy.scrutiny_carriers,
                "dpEpsilon": policy.dp_epsilon,  # per answer; None: exact answers
                "dpMechanism": None if policy.dp_epsilon is None else noise.MECHANISM,
            }
            out.append(
                {
                    "id": info.id,
                    "name": info.name,
                    "assemblyId": info.assembly,
                    "disclosure": disclosure,
                    # the custodian's declaration: population / control / cases, or None
                    "cohortRole": policy.cohort_role,
                }
            )
        return out

    # -- queries --------------------------------------------------------------------------

    def plan(self, req: BeaconRequest) -> tuple[QueryPlan, list[str]]:
        """Validate the request and decide what to compute and over which datasets."""
        known = self.dataset_ids()
        plan = QueryPlan(returned=req.returned_entry, skip=req.skip, limit=req.limit)
        plan.filters = resolve_filters(req.filters, self.vocabulary()) if req.filters else []
        variant = parse_variant_query(req.parameters) if req.parameters else None
        datasets = list(req.dataset_ids) if req.dataset_ids is not None else list(known)
        entry, eid = req.entry, req.entry_id
        if eid is not None:
            if entry in ("datasets", "cohorts"):
                if eid not in known:
                    raise NotFoundError(f"no {entry[:-1]} {eid!r} on this node", field="id")
                datasets = [d for d in datasets if d == eid]
            elif entry == "g_variants":
                variant = _combine(id_query(eid), variant)
            elif entry == "individuals":
                plan.individual_id = eid
            elif entry == "biosamples":
                plan.sample_id = eid
            elif entry == "runs":
                plan.sample_id = eid.removesuffix(RUN_SUFFIX)
            elif entry == "analyses":
                plan.sample_id = eid.removesuffix(ANALYSIS_SUFFIX)
        plan.variant = variant
        return plan, datasets

    def query(self, req: BeaconRequest, identity: Identity) -> dict[str, Any]:
        """Answer one entry-type query (any granularity) through the gate."""
        plan, datasets = self.plan(req)
        known = set(self.dataset_ids())
        not_answered: dict[str, str] = {}
        if plan.variant is not None:
            for d in datasets:
                if d in known:
                    problem = plan.variant.assembly_problem(self.engine.context(d).assembly)
                    if problem:
                        not_answered[d] = f"not answered: {problem}"
        asked = [d for d in datasets if d not in not_answered]
        # Through the gate even when no dataset is left to ask: every question is audited.
        gate_request = GateRequest(
            identity=identity,
            surface="beacon",
            operation=self._operation(req),
            parameters=req.audit_parameters(),
            dataset_ids=asked,
            requested_granularity=req.granularity,
        )
        gate_response = self.gate.run(
            gate_request, lambda accesses: self.engine.execute(plan, accesses)
        )
        handovers = {d: self.settings.policy_for(d).handovers for d in asked}
        extra: dict[str, list[str]] = {}
        coordinates = plan.variant is not None and plan.variant.kind in (
            "sequence",
            "range",
            "bracket",
            "allele",
        )
        if coordinates and plan.variant is not None and plan.variant.assembly is None:
            for d in asked:
                if d in known:
                    extra[d] = [
                        f"assemblyId not given: coordinates compared on this dataset's assembly "
                        f"({self.engine.context(d).assembly})"
                    ]
        if req.parameters.get("geneId"):
            # a dataset-level fact (not per gene: which genes a dataset's sites fall in is
            # itself a presence signal, so "no such gene here" is not said)
            for d in asked:
                if d in known and not self.engine.context(d).has_gene_annotations:
                    extra.setdefault(d, []).append(
                        "no gene annotations in this dataset (its VCF names no genes): a gene "
                        "query cannot match here; ask by position instead"
                    )
        if plan.returned in ("datasets", "cohorts") and not plan.constrained:
            return collections_response(
                self.settings, req, gate_response, not_answered=not_answered, handovers=handovers
            )
        return result_response(
            self.settings,
            req,
            gate_response,
            not_answered=not_answered,
            handovers=handovers,
            notes=extra,
        )

    @staticmethod
    def _operation(req: BeaconRequest) -> str:
        parts = [req.entry]
        if req.entry_id is not None:
            parts.append("{id}")
        if req.target:
            parts.append(req.target)
        return "/".join(parts)


__all__ = ["BeaconService"]
