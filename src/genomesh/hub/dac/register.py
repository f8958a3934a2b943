"""The public data-use register: for each dataset, the projects approved to use it.

Like a biobank's approved-research register, built from the committee's applications: for
every application that was approved for the dataset (still approved, since expired, or
revoked), its title, lay summary, institution, purpose (as DUO terms), dates, how it was
reviewed (automatically or by the committee) and the publications the applicant reported
back. Public (no login): participants can see how their broad consent is being used. Never
shown: the applicant's account, the scientific summary, documents, or anything a node holds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from genomesh.core.errors import AccessDeniedError, ConflictError
from genomesh.hub.dac.models import Application, ApplicationDataset, Dataset

# The DUO term that states each purpose category (what the register shows as the purpose).
PURPOSE_DUO = {
    "general": ("DUO:0000042", "general research use"),
    "health_medical": ("DUO:0000006", "health or medical or biomedical research"),
    "disease_specific": ("DUO:0000007", "disease specific research"),
    "population_ancestry": ("DUO:0000011", "population origins or ancestry research"),
    "methods_development": ("DUO:0000031", "method development"),
}
NON_COMMERCIAL = ("DUO:0000046", "non-commercial use only")
PUBLIC_STATES = ("approved", "expired", "revoked")
MAX_PUBLICATIONS = 200


class PublicationIn(BaseModel):
    """A publication reported back by the applicant (a DOI or a URL at least)."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=500)
    doi: str | None = Field(default=None, pattern=r"^10\.\d{4,9}/\S+$", max_length=255)
    url: str | None = Field(default=None, pattern=r"^https?://\S+$", max_length=500)
    year: int | None = Field(default=None, ge=1900, le=2200)

    @model_validator(mode="after")
    def _findable(self) -> PublicationIn:
        if self.doi is None and self.url is None:
            raise ValueError("give the publication's doi or url")
        return self


def purpose_terms(purpose: dict[str, Any]) -> list[dict[str, Any]]:
    """The purpose as DUO terms (with the diseases of a disease-specific one)."""
    code, label = PURPOSE_DUO.get(str(purpose.get("category")), ("", "unknown"))
    terms: list[dict[str, Any]] = [{"id": code, "label": label}] if code else []
    if purpose.get("category") == "disease_specific":
        terms[0]["diseases"] = list(purpose.get("diseases") or [])
    if not purpose.get("commercial") and not purpose.get("for_profit"):
        terms.append({"id": NON_COMMERCIAL[0], "label": NON_COMMERCIAL[1]})
    return terms


def _approved_at(app: Application) -> datetime | None:
    times = [e.at for e in app.events if e.action in ("approve", "auto_approve")]
    return times[-1] if times else None


def entry(app: Application) -> dict[str, Any]:
    """One project as the register shows it."""
    purpose = dict(app.purpose or {})
    approved = _approved_at(app)
    ended = next((e.at for e in reversed(app.events) if e.action in ("revoke", "expire")), None)
    return {
        "application": app.id,
        "title": app.title,
        "lay_summary": app.lay_summary,
        "institution": purpose.get("institution") or app.applicant.institution or None,
        "purpose": purpose_terms(purpose),
        "commercial": bool(purpose.get("commercial") or purpose.get("for_profit")),
        "aggregates_only": bool(purpose.get("aggregates_only")),
        "status": app.state,
        "approved_at": approved.isoformat() if approved else None,
        "approved_until": app.approved_until.isoformat() if app.approved_until else None,
        "ended_at": ended.isoformat() if ended else None,
        "review": app.review_route or "committee",
        "publications": list(app.publications or []),
    }


def register(session: Session, dataset: Dataset) -> dict[str, Any]:
    """The dataset's register: every project approved to use it, oldest first."""
    apps = session.scalars(
        select(Application)
        .join(ApplicationDataset, ApplicationDataset.application_id == Application.id)
        .where(
            ApplicationDataset.dataset_url == dataset.url,
            Application.state.in_(PUBLIC_STATES),
        )
        .order_by(Application.id)
    ).all()
    projects = [entry(app) for app in apps if _approved_at(app) is not None]
    return {
        "dataset": dataset.url,
        "node": dataset.node,
        "dataset_id": dataset.dataset_id,
        "name": dataset.name,
        "consent": list(dataset.duo or []),
        "count": len(projects),
        "projects": projects,
    }


def approved_counts(session: Session) -> dict[str, int]:
    """Per dataset URL, how many projects the register lists (one query for the catalogue)."""
    rows = session.execute(
        select(ApplicationDataset.dataset_url, func.count(Application.id))
        .join(Application, ApplicationDataset.application_id == Application.id)
        .where(Application.state.in_(PUBLIC_STATES))
        .group_by(ApplicationDataset.dataset_url)
    )
    return {url: int(n) for url, n in rows}


def report_publication(
    app: Application, applicant_id: int, publication: PublicationIn, *, at: datetime
) -> dict[str, Any]:
    """The applicant reports a publication from an approved (or ended) project."""
    if app.applicant_id != applicant_id:
        raise AccessDeniedError("only the applicant reports the project's publications")
    if app.state not in PUBLIC_STATES:
        raise ConflictError(
            f"application {app.id} is {app.state}; publications are reported for approved projects"
        )
    current = list(app.publications or [])
    if len(current) >= MAX_PUBLICATIONS:
        raise ConflictError(f"application {app.id} already lists {MAX_PUBLICATIONS} publications")
    item = {**publication.model_dump(exclude_none=True), "reported_at": at.isoformat()}
    app.publications = [*current, item]  # a new list: JSON columns track assignment only
    return item


__all__ = [
    "PURPOSE_DUO",
    "PublicationIn",
    "approved_counts",
    "entry",
    "purpose_terms",
    "register",
    "report_publication",
]
