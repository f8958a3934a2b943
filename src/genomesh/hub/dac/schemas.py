"""Wire types of the DAC API (request bodies and public views)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from genomesh.core.consent import DataUseTerm
from genomesh.core.errors import InvalidInputError
from genomesh.core.purpose import ResearchPurpose
from genomesh.hub.dac.datasets import DatasetRef
from genomesh.hub.dac.models import Account, Application, Dataset, Notification
from genomesh.hub.dac.review import ReviewPolicy

CURIE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*:[A-Za-z0-9][A-Za-z0-9_.:-]*$")


def check_purpose(purpose: ResearchPurpose) -> None:
    """Refuse a purpose whose diseases are not CURIEs (a typo would otherwise turn an
    auto-approvable application into a manual review), naming the offending entry."""
    for i, disease in enumerate(purpose.diseases):
        if not CURIE.match(disease):
            raise InvalidInputError(
                f"{disease!r} is not a disease CURIE (write e.g. MONDO:0005015 or ICD10:C50.9)",
                field=f"purpose.diseases[{i}]",
            )


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterIn(_In):
    username: str = Field(max_length=63)
    password: str = Field(max_length=1024)
    full_name: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=200)
    institution: str = Field(default="", max_length=200)
    affiliation_role: str = Field(
        max_length=64,
        default="member",
        description="eduPerson role: faculty, student, member or ns.role",
    )
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2")
    accept_terms: bool = Field(
        default=False, description="accept the GA4GH Registered Access terms (needed for that tier)"
    )


class PasswordIn(_In):
    current: str = Field(max_length=1024)
    new: str = Field(max_length=1024)


class VerifyIn(_In):
    days: int = Field(default=365, ge=1, le=3650, description="how long the status is vouched for")


class LoginIn(_In):
    username: str = Field(max_length=63)
    password: str = Field(max_length=1024)


class TokenOut(BaseModel):
    token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    username: str
    role: str


class AccountOut(BaseModel):
    username: str
    subject: str
    role: str
    full_name: str
    email: str
    institution: str
    affiliation_role: str
    country: str | None
    created_at: datetime
    accepted_terms_at: datetime | None = None
    verified_at: datetime | None = None
    verified_by: str | None = None
    memberships: list[dict[str, str | None]] = Field(default_factory=list)

    @classmethod
    def of(
        cls, account: Account, memberships: list[dict[str, str | None]] | None = None
    ) -> AccountOut:
        return cls(
            username=account.username,
            subject=account.subject,
            role=account.role,
            full_name=account.full_name,
            email=account.email,
            institution=account.institution,
            affiliation_role=account.affiliation_role,
            country=account.country,
            created_at=account.created_at,
            accepted_terms_at=account.accepted_terms_at,
            verified_at=account.verified_at,
            verified_by=account.verified_by,
            memberships=memberships or [],
        )


class DatasetIn(_In):
    """A dataset registered with the DAC by a hub admin (when the catalogue lacks it)."""

    node: str = Field(min_length=1, max_length=128)
    dataset_id: str = Field(min_length=1, max_length=128)
    url: str | None = Field(
        default=None, max_length=255, description="default: {base_url}/datasets/{dataset_id}"
    )
    base_url: str | None = Field(default=None, max_length=200, description="the node's base URL")
    name: str = Field(default="", max_length=255)
    duo: list[DataUseTerm] = Field(default_factory=list, max_length=100)
    terms_url: str | None = Field(default=None, max_length=255)
    committee: str | None = Field(default=None, min_length=1, max_length=128)
    review_policy: ReviewPolicy | None = Field(
        default=None, description="proportionate review: which applications are auto-approved"
    )
    jurisdiction: str | None = Field(
        default=None, pattern=r"^[A-Z]{2}$", description="ISO country of the dataset's node"
    )


class DatasetOut(BaseModel):
    url: str
    node: str
    dataset_id: str
    name: str
    duo: list[dict[str, Any]]
    terms_url: str | None
    committee: str | None
    review_policy: dict[str, Any] | None = None
    jurisdiction: str | None = None

    @classmethod
    def of(cls, row: Dataset) -> DatasetOut:
        return cls(
            url=row.url,
            node=row.node,
            dataset_id=row.dataset_id,
            name=row.name,
            duo=list(row.duo or []),
            terms_url=row.terms_url,
            committee=row.committee,
            review_policy=row.review_policy,
            jurisdiction=row.jurisdiction,
        )


class MemberIn(_In):
    username: str = Field(max_length=63)
    dataset: DatasetRef | None = None
    committee: str | None = Field(default=None, min_length=1, max_length=128)


class ApplicationIn(_In):
    title: str = Field(min_length=1, max_length=300)
    summary: str = Field(default="", max_length=20_000)
    lay_summary: str = Field(
        default="",
        max_length=5_000,
        description="the project in plain language, published in the data-use register",
    )
    datasets: list[DatasetRef] = Field(min_length=1, max_length=100)
    purpose: ResearchPurpose
    documents: list[dict[str, str]] = Field(
        default_factory=list,
        max_length=50,
        description='e.g. [{"kind": "ethics", "reference": "EC-2026-17"}]',
    )
    accepted_terms: bool = False
    submit: bool = Field(default=False, description="submit at once instead of keeping a draft")


class ApplicationEdit(_In):
    title: str | None = Field(default=None, min_length=1, max_length=300)
    summary: str | None = Field(default=None, max_length=20_000)
    lay_summary: str | None = Field(default=None, max_length=5_000)
    datasets: list[DatasetRef] | None = Field(default=None, min_length=1, max_length=100)
    purpose: ResearchPurpose | None = None
    documents: list[dict[str, str]] | None = Field(default=None, max_length=50)
    accepted_terms: bool | None = None


class DecisionIn(_In):
    decision: Literal["approve", "reject", "request_changes"]
    comment: str = Field(default="", max_length=10_000)
    until: date | datetime | None = Field(
        default=None, description="end of the approval (a date means the end of that day, UTC)"
    )


class ReasonIn(_In):
    reason: str = Field(default="", max_length=10_000)


class CommentIn(_In):
    comment: str = Field(default="", max_length=10_000)


class EventOut(BaseModel):
    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str
    comment: str
    data: dict[str, Any]


class ApplicationOut(BaseModel):
    id: int
    state: str
    applicant: str
    applicant_subject: str
    title: str
    summary: str
    lay_summary: str = ""
    datasets: list[str]
    purpose: dict[str, Any]
    documents: list[dict[str, Any]]
    accepted_terms: bool
    precheck: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    approved_until: datetime | None
    renewal_of: int | None
    events: list[EventOut]
    visas: list[dict[str, Any]] = Field(default_factory=list)
    review_route: str | None = None
    review_reasons: list[str] = Field(default_factory=list)
    publications: list[dict[str, Any]] = Field(default_factory=list)
    communities: list[dict[str, Any]] = Field(default_factory=list)

    @classmethod
    def of(
        cls,
        app: Application,
        visas: list[dict[str, Any]] | None = None,
        communities: list[dict[str, Any]] | None = None,
    ) -> ApplicationOut:
        return cls(
            lay_summary=app.lay_summary or "",
            review_route=app.review_route,
            review_reasons=list(app.review_reasons or []),
            publications=list(app.publications or []),
            communities=communities or [],
            id=app.id,
            state=app.state,
            applicant=app.applicant.username,
            applicant_subject=app.applicant.subject,
            title=app.title,
            summary=app.summary,
            datasets=[link.dataset_url for link in app.datasets],
            purpose=dict(app.purpose),
            documents=list(app.documents or []),
            accepted_terms=app.accepted_terms,
            precheck=app.precheck,
            created_at=app.created_at,
            updated_at=app.updated_at,
            approved_until=app.approved_until,
            renewal_of=app.renewal_of,
            events=[
                EventOut(
                    at=e.at,
                    actor=e.actor,
                    action=e.action,
                    from_state=e.from_state,
                    to_state=e.to_state,
                    comment=e.comment,
                    data=dict(e.data or {}),
                )
                for e in app.events
            ],
            visas=visas or [],
        )


class PassportOut(BaseModel):
    passport: str
    expires_at: datetime
    visas: list[dict[str, Any]]


class NotificationOut(BaseModel):
    id: int
    kind: str  # "withdrawal", "rerun" or "finding"
    node: str
    dataset_id: str
    individual_pseudonym: str
    withdrawn_at: datetime
    message: str
    received_at: datetime
    read: bool

    @classmethod
    def of(cls, row: Notification) -> NotificationOut:
        return cls(
            id=row.id,
            kind=row.kind or "withdrawal",
            node=row.node,
            dataset_id=row.dataset_id,
            individual_pseudonym=row.individual_pseudonym,
            withdrawn_at=row.withdrawn_at,
            message=row.message,
            received_at=row.received_at,
            read=row.read_at is not None,
        )


class NodeSecretOut(BaseModel):
    node: str
    secret: str


__all__ = [
    "AccountOut",
    "ApplicationEdit",
    "ApplicationIn",
    "ApplicationOut",
    "CommentIn",
    "DatasetIn",
    "DatasetOut",
    "DecisionIn",
    "EventOut",
    "LoginIn",
    "MemberIn",
    "NodeSecretOut",
    "NotificationOut",
    "PassportOut",
    "PasswordIn",
    "ReasonIn",
    "RegisterIn",
    "TokenOut",
    "VerifyIn",
]
