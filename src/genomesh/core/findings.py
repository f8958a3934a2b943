"""A finding about one participant, as a researcher flags it (wire type: hub -> node).

The researcher names the participant by the id they saw in record-level answers of the
dataset; the hub forwards the flag, signed, to the custodian's node only (it never reaches the
participant directly and the hub keeps no copy of the id). The node checks the participant's
`FindingsPreferences` (genomesh.core.consent) and queues it for the custodian's review.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from genomesh.core.consent import FindingCategory

FINDING_MESSAGE = "finding"  # `type` of the hub-signed message carrying a flag


class FindingFlag(BaseModel):
    """What a researcher flags: who, which category, what and on what evidence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset_id: str = Field(min_length=1, max_length=128)
    individual_id: str = Field(min_length=1, max_length=128)
    category: FindingCategory
    summary: str = Field(min_length=1, max_length=2_000, description="the finding in words")
    variant: str | None = Field(
        default=None, max_length=200, description="e.g. 17-43045712-G-A (GRCh38) or HGVS"
    )
    gene: str | None = Field(default=None, max_length=64)
    evidence: str = Field(default="", max_length=5_000, description="classification, references")


class FindingSender(BaseModel):
    """Who flagged it (asserted by the hub from the researcher's approved application)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: str = Field(min_length=1, max_length=255)
    username: str = Field(min_length=1, max_length=64)
    institution: str = Field(default="", max_length=200)
    application: int = Field(ge=1)


__all__ = ["FINDING_MESSAGE", "FindingFlag", "FindingSender"]
