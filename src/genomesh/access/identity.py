"""Who is asking: the identity the access guard works with (contract shared by gate and surfaces)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from genomesh.core.purpose import ResearchPurpose

Tier = Literal["anonymous", "registered", "controlled"]


@dataclass(frozen=True)
class Visa:
    """One verified GA4GH visa (the `ga4gh_visa_v1` claim plus its envelope)."""

    type: str
    value: str
    source: str
    by: str | None
    asserted: int
    issuer: str
    expires: int
    conditions: Any = None
    raw_claims: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Identity:
    """A caller after passport verification. Anonymous callers have no subject.

    `controlled_datasets` holds the dataset ids (or dataset URLs) named by valid
    ControlledAccessGrants visas; `purpose` is the approved research purpose carried in a
    signed visa, used to filter participants by their own consent.
    """

    tier: Tier = "anonymous"
    subject: str | None = None
    issuer: str | None = None
    visas: tuple[Visa, ...] = ()
    controlled_datasets: frozenset[str] = frozenset()
    purpose: ResearchPurpose | None = None
    country: str | None = None
    expires_at: datetime | None = None
    client_address: str | None = None
    dropped_visas: tuple[str, ...] = ()  # why each presented visa was not accepted (audit, debug)
    passport_jti: str | None = None  # the passport's own id
    orig_jti: str | None = None  # for a passport the hub derived for this node: the original's id

    @property
    def key(self) -> str:
        """A stable key for budgets and the audit log."""
        if self.subject:
            return f"{self.issuer}|{self.subject}"
        return f"anonymous|{self.client_address or 'unknown'}"


ANONYMOUS = Identity()

__all__ = ["ANONYMOUS", "Identity", "Tier", "Visa"]
