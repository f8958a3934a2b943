"""The gate's contract: what a surface asks, what the guard decides, what leaves the node.

Every surface (Beacon, analyses, matchmaker, participant API) calls
`Gate.run(request, execute)`; the gate does guard -> execute -> disclose -> audit. The
surface's `execute` receives the guard's per-dataset decisions and must only look at the
individuals those decisions allow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from genomesh.access.identity import Identity
from genomesh.core.settings import Granularity

GRANULARITY_ORDER: tuple[Granularity, ...] = ("boolean", "count", "record")


def min_granularity(a: Granularity, b: Granularity) -> Granularity:
    """The less revealing of two granularities."""
    return a if GRANULARITY_ORDER.index(a) <= GRANULARITY_ORDER.index(b) else b


@dataclass(frozen=True)
class GateRequest:
    """One question to the node, as the surface understood it."""

    identity: Identity
    surface: str  # "beacon", "analysis", "matchmaker", "participants"
    operation: str  # e.g. "g_variants", "individuals", "gwas.local"
    parameters: Mapping[str, Any]  # the query as sent (recorded in the audit log)
    dataset_ids: Sequence[str] | None = None  # None: every dataset of the node
    requested_granularity: Granularity = "boolean"


@dataclass(frozen=True)
class DatasetAccess:
    """The guard's decision for one dataset."""

    dataset_id: str
    granularity: Granularity  # the most that may be returned for this dataset
    allowed_individuals: frozenset[str]  # individuals who may count (consent fits, not withdrawn)
    refusal: str | None = None  # why the dataset is refused entirely (then nothing is executed)
    tier: str | None = None  # the tier the dataset is answered at (controlled only with a grant)
    notes: tuple[str, ...] = ()  # why the granularity or the individuals were narrowed


@dataclass
class DatasetResult:
    """What `execute` found in one dataset, before disclosure control."""

    dataset_id: str
    count: int  # total results, ignoring pagination
    records: list[dict[str, Any]] = field(default_factory=list)  # used only at record granularity
    contributors: set[str] = field(default_factory=set)  # individuals whose data shaped the answer
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DisclosedResult:
    """What may leave the node for one dataset."""

    dataset_id: str
    granularity: Granularity
    exists: bool
    count: int | None  # None when the granularity is boolean or the count was suppressed
    count_suppressed: bool = False  # true when the exact count was below the threshold
    records: tuple[dict[str, Any], ...] = ()
    info: Mapping[str, Any] = field(default_factory=dict)
    suppression: str | None = None  # "small_count" | "differencing" | "rare_hidden" (see docs)


@dataclass(frozen=True)
class GateResponse:
    """The gate's answer: disclosed results, refused datasets and the audit entry written."""

    results: tuple[DisclosedResult, ...]
    refused: Mapping[str, str]  # dataset id -> reason
    audit_id: int | None
    granularity: Granularity  # the granularity actually returned overall
    accesses: tuple[DatasetAccess, ...] = ()  # the guard's decisions (tier, notes) per dataset


Execute = Callable[[Sequence[DatasetAccess]], Sequence[DatasetResult]]

__all__ = [
    "GRANULARITY_ORDER",
    "DatasetAccess",
    "DatasetResult",
    "DisclosedResult",
    "Execute",
    "GateRequest",
    "GateResponse",
    "min_granularity",
]
