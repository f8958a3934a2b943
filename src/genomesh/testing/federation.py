"""An in-process federation for analysis tests: in-memory node data and a round driver.

    nodes = {"node-a": InMemoryLocalData({"ds-a": (individuals, variants, dosages)}), ...}
    result, state = run_rounds(get_analysis("gwas"), params, nodes)

`InMemoryLocalData` implements the node-side `LocalData` view from NumPy/pandas (dosages
become a dask array chunked along variants). `run_rounds` does what the hub coordinator and
the node runners do — configure, then per round next_round / local / aggregate, then
result — without the transport, and round-trips each request and reply through the wire
encoding when `genomesh.analysis.wire` is available, and the hub state through JSON after
every round, so anything not JSON-able shows up.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from genomesh.analysis.protocol import Analysis, LocalData, LocalReply, RoundRequest


class InMemoryLocalData:
    """A node's allowed data held in memory: dataset id -> (individuals, variants, dosages)."""

    def __init__(
        self,
        datasets: Mapping[str, tuple[pd.DataFrame, pd.DataFrame, np.ndarray]],
        *,
        min_count: int = 5,
        min_mac: int = 0,
        chunk_variants: int = 1_000,
        scheduler: str = "threads",
        sparse: bool = True,
    ) -> None:
        for ds, (individuals, variants, dosages) in datasets.items():
            if dosages.shape != (len(variants), len(individuals)) or dosages.dtype != np.int8:
                raise ValueError(f"{ds}: dosages must be int8 variants x individuals")
        self._data = dict(datasets)
        self.dataset_ids: Sequence[str] = list(datasets)
        self._min_count = min_count
        self._min_mac = min_mac
        self._chunk = chunk_variants
        self._scheduler = scheduler
        self._arrays: dict[tuple[str, tuple[int, int]], Any] = {}
        self._keys: dict[str, list[str]] = {}
        self._sparse = sparse
        self._sources: dict[str, Any] = {}

    def individuals(self, dataset_id: str, *, genotyped: bool = True) -> pd.DataFrame:
        """Everyone held here has genotypes, so `genotyped` changes nothing."""
        return self._data[dataset_id][0].reset_index(drop=True)

    def variants(self, dataset_id: str) -> pd.DataFrame:
        return self._data[dataset_id][1].reset_index(drop=True)

    def variant_keys(self, dataset_id: str) -> list[str]:
        """`chrom:pos:ref:alt` per variant, kept like a real node's (do not modify)."""
        if dataset_id not in self._keys:
            from genomesh.analysis.gwas.design import variant_keys

            self._keys[dataset_id] = variant_keys(self.variants(dataset_id))
        return self._keys[dataset_id]

    def dosages(self, dataset_id: str, *, chunk_variants: int | None = None) -> Any:
        import dask.array as da

        dosages = self._data[dataset_id][2]
        chunks = (chunk_variants or self._chunk, dosages.shape[1])
        key = (dataset_id, chunks)
        if key not in self._arrays:  # build the dask graph once per chunking
            self._arrays[key] = da.from_array(
                dosages, chunks=chunks, name=f"dosages-{id(dosages)}-{chunks[0]}"
            )
        return self._arrays[key]

    def sparse_dosages(self, dataset_id: str, *, chunk_variants: int | None = None) -> Any:
        """The dosages as sparse chunks (`genomesh.analysis.sparse`), converted once per
        dataset like a real node's dosage cache; None when built with `sparse=False`."""
        if not self._sparse:
            return None
        from genomesh.analysis import sparse

        dosages = self._data[dataset_id][2]
        if dataset_id not in self._sources:
            self._sources[dataset_id] = sparse.from_dense(
                dosages, name=f"{dataset_id}-{uuid.uuid4().hex}"
            )
        return sparse.SparseDosages(
            self._sources[dataset_id], np.arange(dosages.shape[1]), chunk_variants or self._chunk
        )

    def min_count(self, dataset_id: str) -> int:
        return self._min_count

    def min_mac(self, dataset_id: str) -> int:
        return self._min_mac

    def compute(self, *collections: Any) -> tuple[Any, ...]:
        import dask

        return dask.compute(*collections, scheduler=self._scheduler)


def _roundtrip_request(request: RoundRequest) -> RoundRequest:
    try:
        from genomesh.analysis import wire  # type: ignore[attr-defined]
    except ImportError:
        return request
    import json

    return wire.decode_request(json.loads(json.dumps(wire.encode_request(request))))


def _roundtrip_reply(reply: LocalReply) -> LocalReply:
    try:
        from genomesh.analysis import wire  # type: ignore[attr-defined]
    except ImportError:
        return LocalReply(reply.values, reply.arrays, set(), reply.suppressed)
    import json

    return wire.decode_reply(json.loads(json.dumps(wire.encode_reply(reply))))


def run_rounds(
    analysis: Analysis,
    params: Mapping[str, Any],
    nodes: Mapping[str, LocalData],
    *,
    task_id: str = "task-1",
    max_rounds: int = 200,
    drop: Callable[[int, str], bool] | None = None,
    record: list[tuple[int, str, LocalReply]] | None = None,
    json_state: bool = True,
) -> tuple[dict[str, Any], dict]:
    """Run an analysis over in-process nodes; return (result, final state).

    `drop(round, node)` True leaves that node's reply out (a dropout); `record` collects
    every reply the hub received, as the hub would see it. `json_state` round-trips the
    state through JSON after every round (off in benchmarks: that is the store's cost).
    """
    state = analysis.configure(params, {name: list(d.dataset_ids) for name, d in nodes.items()})
    if json_state:
        state = json.loads(json.dumps(state, allow_nan=False))
    for round_ in range(max_rounds):
        asks = analysis.next_round(state)
        if asks is None:
            return analysis.result(state), state
        replies: dict[str, LocalReply] = {}
        for node, node_params in asks.items():
            data = nodes[node]
            request = _roundtrip_request(
                RoundRequest(analysis.name, task_id, round_, tuple(data.dataset_ids), node_params)
            )
            reply = _roundtrip_reply(analysis.local(data, request))
            if drop is not None and drop(round_, node):
                continue
            if record is not None:
                record.append((round_, node, reply))
            replies[node] = reply
        # the hub keeps the state across restarts: it must survive JSON unchanged
        state = analysis.aggregate(state, replies)
        if json_state:
            state = json.loads(json.dumps(state, allow_nan=False))
    raise RuntimeError(f"the analysis did not finish in {max_rounds} rounds")
