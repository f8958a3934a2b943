"""Records read from and written to the node state (plain frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AuditEntry:
    """One stored audit entry (body as written, plus its place in the chain)."""

    seq: int
    hash: str
    prev_hash: str
    created_at: float
    body: dict[str, Any]


@dataclass(frozen=True)
class Disclosure:
    """One ledger row to write: data derived from `individual_id` reached the recipient."""

    dataset_id: str
    individual_id: str
    kind: str  # "aggregate" | "record"
    exact: bool = (
        True  # the answer's count was disclosed exactly (anti-differencing compares these)
    )


@dataclass(frozen=True)
class Contribution:
    """The individuals of one dataset whose data shaped one answer (one ledger row).

    `roster` is the dataset's individuals (sorted) the bitmap is taken over; `roster_key`
    (e.g. "dataset@version") lets the state skip re-hashing a roster it has seen. Without a
    roster, the members themselves are the roster.
    """

    dataset_id: str
    members: frozenset[str]
    kind: str  # "aggregate" | "record"
    exact: bool = True
    roster: tuple[str, ...] | None = None
    roster_key: str | None = None


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger row as read back."""

    dataset_id: str
    individual_id: str
    recipient_key: str
    recipient_subject: str | None
    audit_seq: int
    kind: str
    created_at: float


@dataclass(frozen=True)
class Recipient:
    """Someone who received data derived from a participant (summarised over the ledger)."""

    recipient_key: str
    recipient_subject: str | None
    kinds: tuple[str, ...]
    n_answers: int
    first_at: float
    last_at: float


@dataclass(frozen=True)
class Withdrawal:
    dataset_id: str
    individual_id: str
    reason: str | None
    withdrawn_at: float


@dataclass(frozen=True)
class Notification:
    id: int
    dataset_id: str
    individual_pseudonym: str
    recipient_key: str
    recipient_subject: str | None
    message: str
    created_at: float
    delivery: str
    delivery_detail: str | None
    delivered_at: float | None


@dataclass(frozen=True)
class FlaggedResult:
    """An earlier answer that included a participant who has since withdrawn."""

    audit_seq: int
    dataset_id: str
    individual_id: str
    recipient_key: str
    recipient_subject: str | None
    answered_at: float
    withdrawn_at: float


__all__ = [
    "AuditEntry",
    "Contribution",
    "Disclosure",
    "FlaggedResult",
    "LedgerEntry",
    "Notification",
    "Recipient",
    "Withdrawal",
]
