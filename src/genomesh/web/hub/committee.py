"""The committee's pages: the review queue, one application with its pre-check, approve with
an expiry, deny with a reason, ask for changes, revoke, and the grant history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.responses import Response

from genomesh.core.errors import GenomeshError
from genomesh.hub.dac.routes import AppId
from genomesh.hub.dac.schemas import ApplicationOut
from genomesh.web.hub.access import DECISION_WORDS
from genomesh.web.hub.auth import account, context, dac, field_errors, is_member
from genomesh.web.pages import Page, PageDep, PageRouter

router = PageRouter()
GRANT_STATES = ("approved", "revoked", "expired")


def _member(page: Page) -> str | None:
    me = account(page)
    return me.username if me is not None and is_member(me) else None


def _not_member(page: Page) -> Response:
    if account(page) is None:
        return page.redirect("/login", flash="Log in as a committee member.")
    return page.render(
        "error.html", status=403, status_code=403,
        message="This page is for data access committee members.",
    )  # fmt: skip


def _others(user: str, apps: list[ApplicationOut]) -> list[ApplicationOut]:
    return [a for a in apps if a.applicant != user]


@router.get("/committee")
def queue(page: PageDep) -> Response:
    user = _member(page)
    if user is None:
        return _not_member(page)
    service = dac(page)
    waiting = _others(user, service.list_applications(user, state="submitted"))
    granted = [a for a in _others(user, service.list_applications(user)) if a.state in GRANT_STATES]
    return page.render(
        "hub/committee.html", waiting=waiting, granted=granted, words=DECISION_WORDS,
        **context(page),
    )  # fmt: skip


def _review(page: Page, app: ApplicationOut, *, status: int = 200, **extra: Any) -> Response:
    default_until = (datetime.now(UTC).date() + timedelta(days=365)).isoformat()
    extra.setdefault("values", {"until": default_until})
    return page.render(
        "hub/review.html", status=status, app=app, words=DECISION_WORDS, **extra,
        **context(page),
    )  # fmt: skip


@router.get("/committee/applications/{application_id}")
def review(page: PageDep, application_id: AppId) -> Response:
    user = _member(page)
    if user is None:
        return _not_member(page)
    return _review(page, dac(page).show(user, application_id))


@router.post("/committee/applications/{application_id}/decision")
def decide(page: PageDep, application_id: AppId) -> Response:
    user = _member(page)
    if user is None:
        return _not_member(page)
    service = dac(page)
    decision = page.form.get("decision", "")
    comment = page.form.get("comment", "").strip()
    until_text = page.form.get("until", "").strip()
    values = {"until": until_text, "comment": comment}
    errors: dict[str, str] = {}
    until: date | None = None
    if decision not in ("approve", "reject", "request_changes"):
        errors["decision"] = "choose approve, deny or ask for changes"
    if decision == "approve":
        try:
            until = date.fromisoformat(until_text)
        except ValueError:
            errors["until"] = "give the last day of access as a date (YYYY-MM-DD)"
        else:
            if until < datetime.now(UTC).date():
                errors["until"] = "the last day of access must not be in the past"
    elif decision in ("reject", "request_changes") and not comment:
        errors["comment"] = "say why, in words the applicant will read"
    if not errors:
        try:
            service.decide(user, application_id, decision, comment=comment, until=until)  # type: ignore[arg-type]
        except GenomeshError as exc:
            errors = field_errors(exc, default="decision")
    if errors:
        app = service.show(user, application_id)
        return _review(page, app, values=values, errors=errors, status=400)
    done = {"approve": "approved", "reject": "denied", "request_changes": "sent back"}[decision]
    return page.redirect(f"/committee/applications/{application_id}", flash=f"Application {done}.")


@router.post("/committee/applications/{application_id}/revoke")
def revoke(page: PageDep, application_id: AppId) -> Response:
    user = _member(page)
    if user is None:
        return _not_member(page)
    service = dac(page)
    reason = page.form.get("reason", "").strip()
    error = "" if reason else "say why access is revoked"
    if not error:
        try:
            service.revoke(user, application_id, reason=reason)
        except GenomeshError as exc:
            error = exc.message
    if error:
        app = service.show(user, application_id)
        return _review(page, app, values={"reason": reason}, errors={"reason": error}, status=400)
    return page.redirect(
        f"/committee/applications/{application_id}",
        flash="Access revoked: nodes refuse the researcher's passports for it from now on.",
    )


__all__ = ["router"]
