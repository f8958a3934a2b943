"""Data-use terms as they travel between store, access control and the hub catalogue.

A `DataUseTerm` is one GA4GH DUO code with the modifiers that give it meaning (the disease
for DS, the countries for GS, the expiry for TS ...). Datasets carry a list of them; so does
each participant (from ingest).
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class DataUseTerm(BaseModel):
    """One DUO code plus its modifiers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^DUO:\d{7}$", description="DUO code, e.g. DUO:0000042")
    diseases: tuple[str, ...] = Field(
        default=(), description="disease ids for DS (MONDO, ICD10, OMIM, ORPHA ...)"
    )
    countries: tuple[str, ...] = Field(default=(), description="ISO 3166-1 alpha-2 codes for GS")
    expires: date | None = Field(default=None, description="end of permitted use for TS")
    moratorium_until: date | None = Field(default=None, description="no publication before (MOR)")
    institutions: tuple[str, ...] = Field(default=(), description="allowed institutions for IS")
    projects: tuple[str, ...] = Field(default=(), description="allowed projects for PS")
    users: tuple[str, ...] = Field(default=(), description="allowed users for US")
    topics: tuple[str, ...] = Field(default=(), description="research topics for RS")


__all__ = ["DataUseTerm"]
