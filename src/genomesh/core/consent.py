"""Data-use terms as they travel between store, access control and the hub catalogue.

A `DataUseTerm` is one GA4GH DUO code with the modifiers that give it meaning (the disease
for DS, the countries for GS, the expiry for TS ...). Datasets carry a list of them; so does
each participant (from ingest).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

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


FindingCategory = Literal[
    "medically_actionable",  # a variant with an established intervention (e.g. ACMG SF list)
    "carrier_status",  # carrier of a recessive condition (reproductive relevance)
    "pharmacogenomic",  # a variant that changes the response to a medicine
    "vus",  # a variant of unknown significance
    "other",  # anything else a researcher thinks the participant should know
]
FINDING_CATEGORIES: tuple[str, ...] = FindingCategory.__args__  # type: ignore[attr-defined]
ReturnChannel = Literal["custodian", "clinician", "genetic_counsellor"]


class FindingsPreferences(BaseModel):
    """A participant's consent to the return of individual findings: which categories they
    want returned, and through whom. Absent preferences mean: return nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    categories: tuple[FindingCategory, ...] = Field(
        default=(), description="categories of findings the participant wants returned"
    )
    via: ReturnChannel = Field(
        default="custodian", description="who gives the finding to the participant"
    )
    contact: str = Field(
        default="", max_length=300, description="the clinician or counsellor, when named"
    )


__all__ = [
    "FINDING_CATEGORIES",
    "DataUseTerm",
    "FindingCategory",
    "FindingsPreferences",
    "ReturnChannel",
]
