"""Applying for access: the structured purpose form, the DUO pre-check per dataset in words
(before and after submitting), an application's status and history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.responses import Response
from pydantic import ValidationError

from genomesh.access.purpose_match import match_purpose
from genomesh.core.consent import DataUseTerm
from genomesh.core.errors import GenomeshError
from genomesh.core.purpose import ResearchPurpose
from genomesh.hub.dac.datasets import DatasetRef
from genomesh.hub.dac.governance import Governance
from genomesh.hub.dac.register import PublicationIn
from genomesh.hub.dac.routes import AppId
from genomesh.hub.dac.schemas import ApplicationEdit, ApplicationIn, DatasetOut
from genomesh.web.hub.auth import context, dac, field_errors, signed_in
from genomesh.web.pages import Page, PageDep, PageRouter

router = PageRouter()
CATEGORIES = [
    ("health_medical", "Health, medical or biomedical research (HMB)"),
    ("general", "General research use (GRU)"),
    ("disease_specific", "Research on specific diseases (DS)"),
    ("population_ancestry", "Population origins or ancestry (POA)"),
    ("methods_development", "Methods development (MDS)"),
]
TEXT = ("title", "summary", "lay_summary", "category", "diseases", "institution", "country",
        "ethics_approval", "end_date")  # fmt: skip
FLAGS = ("commercial", "methods_development", "population_research", "will_publish",
         "return_derived_data", "accepted_terms")  # fmt: skip
PUBLICATION_FIELDS = ("title", "doi", "url", "year")
DECISION_WORDS = {
    "approve": "fits the consent",
    "needs_review": "needs the committee's judgement",
    "deny": "does not fit the consent",
}


def _purpose(values: dict[str, Any]) -> ResearchPurpose:
    diseases = tuple(d.strip() for d in values.get("diseases", "").split(",") if d.strip())
    fields: dict[str, Any] = {
        "category": values.get("category") or "health_medical",
        "diseases": diseases,
        "commercial": bool(values.get("commercial")),
        "methods_development": bool(values.get("methods_development")),
        "population_research": bool(values.get("population_research")),
        "will_publish": bool(values.get("will_publish")),
        "return_derived_data": bool(values.get("return_derived_data")),
    }
    for key in ("institution", "country", "ethics_approval", "end_date"):
        if values.get(key):
            fields[key] = values[key]
    return ResearchPurpose(**fields)


def precheck_preview(purpose: ResearchPurpose, datasets: list[DatasetOut]) -> list[dict[str, Any]]:
    """The DUO check of `purpose` against each dataset's terms (the DAC repeats it on submit)."""
    today = datetime.now(UTC).date()
    out = []
    for ds in datasets:
        terms = [DataUseTerm.model_validate(t) for t in ds.duo]
        match = match_purpose(purpose, terms, today=today)
        out.append(
            {
                "node": ds.node, "dataset_id": ds.dataset_id, "decision": match.decision,
                "reasons": [r.model_dump() for r in match.reasons],
            }
        )  # fmt: skip
    return out


def _form(page: Page, **extra: Any) -> Response:
    datasets = dac(page).datasets()
    status = extra.pop("status", 200)
    extra.setdefault("values", {"will_publish": "yes", "category": "health_medical"})
    return page.render(
        "hub/apply.html", status=status, datasets=datasets, categories=CATEGORIES,
        words=DECISION_WORDS, **extra, **context(page),
    )  # fmt: skip


@router.get("/apply")
def apply_form(page: PageDep) -> Response:
    if signed_in(page) is None:
        return page.redirect("/login", flash="Log in to apply for access.")
    chosen = page.request.query_params.getlist("dataset")
    return _form(page, chosen=chosen)


@router.post("/apply")
def apply(page: PageDep) -> Response:
    user = signed_in(page)
    if user is None:
        return page.redirect("/login", flash="Log in to apply for access.")
    values = {k: page.form.get(k, "").strip() for k in (*TEXT, *FLAGS)}
    chosen = page.form_all("datasets")
    errors: dict[str, str] = {}
    if not chosen:
        errors["datasets"] = "choose at least one dataset"
    if not values["title"]:
        errors["title"] = "give the project a title"
    purpose = None
    try:
        purpose = _purpose(values)
    except ValidationError as exc:
        errors.update(field_errors(exc, default="category"))
    if errors or purpose is None:
        return _form(page, values=values, chosen=chosen, errors=errors, status=400)
    if page.form.get("action") == "check":
        known = {f"{d.node}/{d.dataset_id}": d for d in dac(page).datasets()}
        preview = precheck_preview(purpose, [known[c] for c in chosen if c in known])
        return _form(page, values=values, chosen=chosen, preview=preview)
    if not values["accepted_terms"]:
        errors["accepted_terms"] = "accept the data access terms to submit"
        return _form(page, values=values, chosen=chosen, errors=errors, status=400)
    try:
        body = ApplicationIn(
            title=values["title"],
            summary=values["summary"],
            lay_summary=values["lay_summary"],
            datasets=[DatasetRef.model_validate(c) for c in chosen],
            purpose=purpose,
            documents=[{"kind": "ethics", "reference": values["ethics_approval"]}]
            if values["ethics_approval"]
            else [],
            accepted_terms=True,
            submit=True,
        )
        made = dac(page).apply(user, body)
    except (ValidationError, GenomeshError) as exc:
        errors = field_errors(exc, default="datasets")
        return _form(page, values=values, chosen=chosen, errors=errors, status=400)
    return page.redirect(f"/applications/{made.id}", flash="Application submitted.")


@router.get("/applications/{application_id}")
def show(page: PageDep, application_id: AppId) -> Response:
    user = signed_in(page)
    if user is None:
        return page.redirect("/login")
    app = dac(page).show(user, application_id)
    return page.render("hub/application.html", app=app, words=DECISION_WORDS, **context(page))


@router.post("/applications/{application_id}/resubmit")
def resubmit(page: PageDep, application_id: AppId) -> Response:
    """The applicant answers a request for changes: new title/summary, and submits again."""
    user = signed_in(page)
    if user is None:
        return page.redirect("/login")
    service = dac(page)
    values = {k: page.form.get(k, "").strip() for k in ("title", "summary", "comment")}
    errors: dict[str, str] = {}
    if not values["title"]:
        errors["title"] = "give the project a title"
    if not values["comment"]:
        errors["comment"] = "tell the committee what you changed"
    if not errors:
        try:
            edit = ApplicationEdit(title=values["title"], summary=values["summary"])
            service.edit(user, application_id, edit)
            service.submit(user, application_id, comment=values["comment"])
        except (ValidationError, GenomeshError) as exc:
            errors = field_errors(exc, default="comment")
    if errors:
        app = service.show(user, application_id)
        return page.render(
            "hub/application.html", status=400, app=app, words=DECISION_WORDS, values=values,
            errors=errors, **context(page),
        )  # fmt: skip
    return page.redirect(f"/applications/{application_id}", flash="Application sent again.")


@router.post("/applications/{application_id}/renew")
def renew(page: PageDep, application_id: AppId) -> Response:
    """Apply again for the same datasets and purpose (an approval ending or ended)."""
    user = signed_in(page)
    if user is None:
        return page.redirect("/login")
    made = dac(page).renew(user, application_id, comment=page.form.get("comment", "").strip())
    return page.redirect(f"/applications/{made.id}", flash="Renewal submitted.")


@router.post("/applications/{application_id}/publications")
def report_publication(page: PageDep, application_id: AppId) -> Response:
    """The applicant reports a publication of an approved project: it appears in the dataset's
    public data-use register (the API's `POST /dac/applications/{id}/publications`)."""
    user = signed_in(page)
    if user is None:
        return page.redirect("/login")
    values = {k: page.form.get(k, "").strip() for k in PUBLICATION_FIELDS}
    errors: dict[str, str] = {}
    try:
        year = int(values["year"]) if values["year"] else None
    except ValueError:
        errors["year"] = "a year, like 2027"
        year = None
    if not errors:
        try:
            publication = PublicationIn(
                title=values["title"], doi=values["doi"] or None, url=values["url"] or None,
                year=year,
            )  # fmt: skip
            Governance(dac(page)).report_publication(user, application_id, publication)
        except (ValidationError, GenomeshError) as exc:
            errors = field_errors(exc, default="title")
    if errors:
        app = dac(page).show(user, application_id)
        return page.render(
            "hub/application.html", status=400, app=app, words=DECISION_WORDS,
            publication=values, errors=errors, **context(page),
        )  # fmt: skip
    return page.redirect(
        f"/applications/{application_id}", flash="Publication reported: it is in the register."
    )


__all__ = ["CATEGORIES", "DECISION_WORDS", "precheck_preview", "router"]
