"""The Beacon query engine: a `QueryPlan` run over one dataset, within the gate's decision.

`BeaconEngine.execute(plan, accesses)` is what the surface hands to `Gate.run` as its execute
callable: for each dataset the guard allowed, it looks only at `allowed_individuals`, counts
results over them alone (variants exist only through allowed carriers), builds records only
when the dataset may be answered at record granularity, and names the contributors.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genomesh.beacon import records as rec
from genomesh.beacon.context import DatasetContext
from genomesh.beacon.filters import ResolvedFilter, Vocabulary
from genomesh.beacon.variants import VariantQuery
from genomesh.gate.contract import DatasetAccess, DatasetResult

INDIVIDUAL_ENTRIES = ("individuals", "biosamples", "runs", "analyses")
COLLECTION_ENTRIES = ("datasets", "cohorts")


@dataclass
class QueryPlan:
    """What to compute, independent of any dataset."""

    returned: str  # entry type whose records/counts are returned
    variant: VariantQuery | None = None
    filters: list[ResolvedFilter] = field(default_factory=list)
    individual_id: str | None = None  # path constraint (/individuals/{id}/...)
    sample_id: str | None = None  # path constraint (/biosamples|runs|analyses/{id}/...)
    skip: int = 0
    limit: int = 10
    handovers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def constrained(self) -> bool:
        return bool(self.variant or self.filters or self.individual_id or self.sample_id)


class BeaconEngine:
    """Holds one `DatasetContext` per dataset of a node, refreshed when a new version lands."""

    def __init__(self, node: Any) -> None:
        self.node = node
        self._contexts: dict[str, DatasetContext] = {}
        self._lock = threading.Lock()

    def dataset_ids(self) -> list[str]:
        return list(self.node.dataset_ids())

    def context(self, dataset_id: str) -> DatasetContext:
        """The dataset's context for the version CURRENT names now (checked on every call:
        a stat of CURRENT, so the engine and the gate's guard always see the same version)."""
        store = self.node.dataset(dataset_id)
        entry = self._contexts.get(dataset_id)
        if entry is not None and entry.version == store.info.version:
            return entry
        with self._lock:
            entry = self._contexts.get(dataset_id)
            if entry is not None and entry.version == store.info.version:
                return entry
            ctx = DatasetContext(store)
            # The previous version's context is not closed here: a query in another thread
            # may still be using it; its DuckDB connection closes when it is collected.
            self._contexts[dataset_id] = ctx
            return ctx

    def warm(self) -> None:
        """Open every dataset and build its carrier arrays (call at start-up)."""
        for dataset_id in self.dataset_ids():
            self.context(dataset_id).carriers()

    def vocabulary(self) -> Vocabulary:
        """Terms, assays and labels present in any dataset (for resolving filters)."""
        terms: dict[str, str] = {}
        assays: dict[str, str] = {}
        for dataset_id in self.dataset_ids():
            voc = self.context(dataset_id).vocabulary
            terms.update(voc["terms"])
            assays.update(voc["assays"])
        try:
            from genomesh.ontology.registry import register_terms

            register_terms({**terms, **assays})
        except ImportError:
            pass
        labels = frozenset(v.lower() for v in terms.values() if v)
        return Vocabulary(
            terms=terms,
            hpo_terms=frozenset(t for t in terms if t.startswith("HP:")),
            assays=assays,
            labels=labels,
        )

    def close(self) -> None:
        with self._lock:
            for ctx in self._contexts.values():
                ctx.close()
            self._contexts.clear()

    # -- execution --------------------------------------------------------------------

    def execute(self, plan: QueryPlan, accesses: Sequence[DatasetAccess]) -> list[DatasetResult]:
        """Run the plan in every dataset the guard did not refuse."""
        out: list[DatasetResult] = []
        for access in accesses:
            if access.refusal is not None:
                continue
            ctx = self.context(access.dataset_id)
            out.append(self._run(ctx, plan, access))
        return out

    def _individual_mask(
        self, ctx: DatasetContext, plan: QueryPlan, access: DatasetAccess
    ) -> np.ndarray:
        mask = ctx.allowed_mask(access.allowed_individuals).copy()
        for flt in plan.filters:
            mask &= ctx.filter_mask(flt)
        if plan.individual_id is not None:
            row = ctx.row_of.get(plan.individual_id)
            only = np.zeros(ctx.n, dtype=bool)
            if row is not None:
                only[row] = True
            mask &= only
        if plan.sample_id is not None:
            row = ctx.sample_row.get(plan.sample_id)
            only = np.zeros(ctx.n, dtype=bool)
            if row is not None:
                only[row] = True
            mask &= only
        return mask

    def _run(self, ctx: DatasetContext, plan: QueryPlan, access: DatasetAccess) -> DatasetResult:
        want_records = access.granularity == "record"
        mask = self._individual_mask(ctx, plan, access)
        if plan.returned == "g_variants":
            return self._variants(ctx, plan, mask, want_records)
        if plan.variant is not None:
            vids = self._select(ctx, plan.variant)
            _, rows, _ = ctx.carrier_hits(vids, mask)
            carriers = np.zeros(ctx.n, dtype=bool)
            carriers[rows] = True
            mask &= carriers
        if plan.returned in INDIVIDUAL_ENTRIES:
            if plan.returned != "individuals":
                mask &= ctx.has_sample
            return self._individuals(ctx, plan, mask, want_records)
        return self._collection(ctx, plan, mask, want_records)

    @staticmethod
    def _select(ctx: DatasetContext, variant: VariantQuery | None) -> np.ndarray:
        """Matching variant indices: position index for plain sequence queries, else SQL."""
        if variant is None:
            return ctx.variant_indices("TRUE", [])
        if variant.lookup is not None:
            return ctx.sequence_lookup(*variant.lookup)
        if variant.gene_lookup is not None:
            return ctx.gene_variants(variant.gene_lookup)
        if variant.range_lookup is not None:
            return ctx.range_lookup(*variant.range_lookup)
        if variant.range_start is not None:
            # A lower bound on start lets DuckDB prune by zone maps (the table is position-sorted).
            return ctx.variant_indices(
                f"start >= ? AND ({variant.where})",
                [variant.range_start - ctx.max_span, *variant.params],
            )
        return ctx.variant_indices(variant.where, variant.params)

    def _variants(
        self, ctx: DatasetContext, plan: QueryPlan, mask: np.ndarray, want_records: bool
    ) -> DatasetResult:
        vids = self._select(ctx, plan.variant)
        hit_v, hit_rows, hit_dosage = ctx.carrier_hits(vids, mask)
        # carrier_hits keeps the carriers array's order, so for sorted vids hit_v is sorted and
        # its distinct values are where it changes (no sort needed).
        steps = hit_v[1:] != hit_v[:-1]
        if len(hit_v) and bool(np.all(hit_v[1:] >= hit_v[:-1])):
            found = hit_v[np.r_[True, steps]]
        else:
            found = np.unique(hit_v)
        contributors = ctx.ids_of(ctx.distinct_rows(hit_rows))
        result = DatasetResult(ctx.id, count=len(found), contributors=contributors)
        if want_records and len(found):
            page = [int(v) for v in found[plan.skip : plan.skip + plan.limit]]
            for row in ctx.variant_rows(page):
                sel = hit_v == row["variant_index"]
                carriers = [
                    (ctx.sample_ids[int(ctx.sample_of_row[r])], ctx.individual_ids[r], int(d))
                    for r, d in zip(hit_rows[sel], hit_dosage[sel], strict=True)
                ]
                result.records.append(
                    rec.variant_record(
                        row, dataset_id=ctx.id, assembly=ctx.assembly, carriers=carriers
                    )
                )
        return result

    def _individuals(
        self, ctx: DatasetContext, plan: QueryPlan, mask: np.ndarray, want_records: bool
    ) -> DatasetResult:
        rows = np.nonzero(mask)[0]
        result = DatasetResult(ctx.id, count=len(rows), contributors=ctx.ids_of(rows))
        if not want_records:
            return result
        page_rows = rows[plan.skip : plan.skip + plan.limit]
        page = [ctx.individual_ids[r] for r in page_rows]
        if plan.returned == "individuals":
            docs = ctx.documents(page)
            result.records = [rec.individual_record(i, docs.get(i), ctx.id) for i in page]
            return result
        for r, iid in zip(page_rows, page, strict=True):
            sample = ctx.sample_ids[int(ctx.sample_of_row[r])]
            if plan.returned == "biosamples":
                result.records.append(rec.biosample_record(sample, iid, ctx.id))
            elif plan.returned == "runs":
                result.records.append(rec.run_record(sample, iid, ctx.id))
            else:
                result.records.append(
                    rec.analysis_record(sample, iid, ctx.id, assembly=ctx.assembly)
                )
        return result

    def _collection(
        self, ctx: DatasetContext, plan: QueryPlan, mask: np.ndarray, want_records: bool
    ) -> DatasetResult:
        matched = np.nonzero(mask)[0]
        hit = bool(len(matched)) if plan.constrained else True
        contributors = ctx.ids_of(matched) if plan.constrained else set()
        result = DatasetResult(ctx.id, count=int(hit), contributors=contributors)
        if not plan.constrained:
            # Describing a dataset or cohort is public metadata (no individual-level data):
            # it travels in `info` at every granularity and is shown as a Beacon collection.
            doc = (
                rec.dataset_record(ctx.info)
                if plan.returned == "datasets"
                else rec.cohort_record(ctx.info, n_individuals=ctx.info.n_individuals)
            )
            result.info["collection"] = doc
            return result
        if want_records and hit and plan.skip == 0 and plan.limit > 0:
            if plan.returned == "datasets":
                result.records = [rec.dataset_record(ctx.info)]
            else:
                result.records = [rec.cohort_record(ctx.info, n_individuals=int(mask.sum()))]
        return result


__all__ = ["BeaconEngine", "QueryPlan"]
