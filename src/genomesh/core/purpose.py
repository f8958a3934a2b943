"""A researcher's structured research purpose (wire type: DAC application, visa, matcher)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PurposeCategory = Literal[
    "general",  # general research use (GRU)
    "health_medical",  # health / medical / biomedical research (HMB)
    "disease_specific",  # research on the named diseases (DS)
    "population_ancestry",  # population origins or ancestry research (POA)
    "methods_development",  # methods development (MDS-typed purpose)
]


class ResearchPurpose(BaseModel):
    """What a researcher wants to do, stated once and checked against every consent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: PurposeCategory
    diseases: tuple[str, ...] = Field(default=(), description="disease ids, for disease_specific")
    commercial: bool = False
    for_profit: bool = False
    clinical_care: bool = False
    genetic_studies: bool = True
    methods_development: bool = False
    population_research: bool = False
    institution: str | None = None
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2 of the researcher")
    ethics_approval: str | None = Field(default=None, description="ethics/IRB approval reference")
    project_id: str | None = None
    user_id: str | None = None
    will_publish: bool = True
    publication_date: date | None = Field(default=None, description="planned first publication")
    collaborate_with_investigators: bool = False
    return_derived_data: bool = False
    end_date: date | None = Field(default=None, description="when the use ends")
    aggregates_only: bool = Field(
        default=False,
        description="only aggregate answers (counts, summary statistics) are wanted: nodes cap "
        "this purpose at count granularity (what proportionate review may auto-approve)",
    )


__all__ = ["PurposeCategory", "ResearchPurpose"]
