"""The contract every registered analysis type follows: what the hub asks, what a node
computes, what the hub combines.

An analysis runs in one or more *rounds*. In each round the hub sends every participating
node a `RoundRequest` (signed by the hub's transport, verified by the node), each node
answers with a `LocalReply` computed by `Analysis.local` behind the node's gate, and the hub
folds the replies into its state with `Analysis.aggregate`. `Analysis.next_round` says what
to ask next, or `None` when the result is ready. Multi-round analyses (a federated logistic
null model fitted by Newton steps; secure aggregation, whose round 0 exchanges public keys)
are ordinary sequences of rounds: the transport does not know what an analysis does.

The hub side (`configure`, `next_round`, `aggregate`, `result`) and the node side (`local`)
share only the JSON-able types in this module and `genomesh.analysis.wire`. Only types in the
registry (`register` / `get_analysis`) ever run: there is no arbitrary code.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np


@dataclass(frozen=True)
class RoundRequest:
    """What the hub asks one node in one round (JSON-able `params`)."""

    analysis: str  # the registered type name, e.g. "gwas"
    task_id: str  # the hub's id for the whole analysis
    round: int  # 0, 1, 2 ...
    datasets: tuple[str, ...]  # this node's dataset ids taking part
    params: Mapping[str, Any]  # the analysis' parameters plus anything this round needs


@dataclass
class LocalReply:
    """What one node sends back for one round, after its disclosure control.

    `values` is JSON-able; numeric arrays go in `arrays` (encoded by `genomesh.analysis.wire`).
    `contributors` are the individuals whose data shaped the reply (for the audit ledger and
    withdrawal notices); they never leave the node.
    """

    values: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    contributors: set[str] = field(default_factory=set)
    suppressed: dict[str, str] = field(default_factory=dict)  # what was withheld -> why


class LocalData(Protocol):
    """The node-side view `Analysis.local` computes on: only what the gate allowed.

    Implemented by the node's analysis runner. Every accessor is already restricted to the
    individuals the guard allowed for that dataset (consent fits the purpose, not withdrawn).
    """

    dataset_ids: Sequence[str]

    def individuals(self, dataset_id: str, *, genotyped: bool = True) -> Any:
        """A pandas DataFrame, one row per allowed individual (with genotypes, in dosage
        column order, unless `genotyped=False`): `individual_id`, `sex`
        ("female"/"male"/"unknown"), `age` (years, NaN unknown), `population`, `phenotypes`
        (list of HPO/ontology ids), and any numeric traits/covariates stored for the dataset
        as further columns."""

    def variants(self, dataset_id: str) -> Any:
        """A pandas DataFrame of the dataset's variants in store order: `variant_index`,
        `chrom`, `pos`, `variant_id`, `ref`, `alt`."""

    def dosages(self, dataset_id: str, *, chunk_variants: int | None = None) -> Any:
        """A dask array (variants x allowed individuals, rows of `individuals()` in order) of
        int8 alt-allele dosages, -1 = missing, chunked along variants."""

    def min_count(self, dataset_id: str) -> int:
        """The node's disclosure threshold for this dataset: a count below it (but above 0)
        must not leave the node exactly (suppress it and say so in `LocalReply.suppressed`)."""

    def min_mac(self, dataset_id: str) -> int:
        """The node's floor for a variant's minor-allele count in this dataset: an analysis
        may ask for a higher one, never a lower one (0: no floor)."""

    def compute(self, *collections: Any) -> tuple[Any, ...]:
        """Compute dask collections on the node's scheduler (local threads by default, or the
        node's distributed cluster). Use this instead of `.compute()` so the node's choice
        of scheduler applies; returns a tuple like `dask.compute`."""


class Analysis(ABC):
    """One registered analysis type. Instances are stateless; state travels in `state`."""

    name: ClassVar[str]
    description: ClassVar[str] = ""

    # ---------------------------------------------------------------- hub side
    @abstractmethod
    def configure(self, params: Mapping[str, Any], nodes: Mapping[str, Sequence[str]]) -> dict:
        """Validate `params` (raise `InvalidInputError` naming the field) and return the
        initial hub state. `nodes` maps node name -> its dataset ids taking part."""

    @abstractmethod
    def next_round(self, state: dict) -> dict[str, dict[str, Any]] | None:
        """Per-node params for the next round, or None when `result` can be called."""

    @abstractmethod
    def aggregate(self, state: dict, replies: Mapping[str, LocalReply]) -> dict:
        """Fold one round's replies (node name -> reply) into the state; return it."""

    @abstractmethod
    def result(self, state: dict) -> dict[str, Any]:
        """The final result: JSON-able, with `rows` (a list of dicts, for TSV) when tabular."""

    def expected_rounds(self, state: dict) -> int:
        """How many rounds this task is expected to take in all (for progress reports). An
        estimate may grow as the task runs (e.g. Newton iterations); default 1."""
        return 1

    # ---------------------------------------------------------------- node side
    @abstractmethod
    def local(self, data: LocalData, request: RoundRequest) -> LocalReply:
        """Compute this node's part of one round, applying the analysis' own disclosure
        rules (minimum counts) before returning.

        Raise `InvalidInputError` for bad params, `AccessDeniedError` to refuse (e.g. a
        differencing rerun); the runner turns either into a refused reply with the reason.
        `request.params` are the per-node params `next_round` gave for this node."""


_REGISTRY: dict[str, Analysis] = {}


def register(analysis: Analysis) -> Analysis:
    """Add an analysis type to the registry (at import of its module)."""
    _REGISTRY[analysis.name] = analysis
    return analysis


def get_analysis(name: str) -> Analysis:
    """The registered analysis type called `name`; unknown names are refused."""
    from genomesh.core.errors import InvalidInputError

    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise InvalidInputError(
            f"unknown analysis type {name!r} (registered: {known})", field="analysis"
        ) from None


def registered() -> dict[str, Analysis]:
    return dict(_REGISTRY)
