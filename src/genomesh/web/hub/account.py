"""Account pages: register, log in and out, the researcher's overview (applications, inbox
of withdrawal and match notices, passport download)."""

from __future__ import annotations

import contextlib

from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from genomesh.core.errors import AuthenticationError, GenomeshError
from genomesh.hub.dac.routes import _throttle
from genomesh.hub.dac.schemas import RegisterIn
from genomesh.web.hub.auth import TOKEN, USER, context, dac, field_errors, signed_in
from genomesh.web.hub.inbox import match_notices
from genomesh.web.pages import PageDep, PageRouter

router = PageRouter()
REGISTER_FIELDS = (
    "username", "full_name", "email", "institution", "country", "affiliation_role",
)  # fmt: skip
ROLES = [("faculty", "Faculty / principal investigator"), ("student", "Student"),
         ("member", "Member of staff")]  # fmt: skip


@router.get("/register")
def register_form(page: PageDep) -> HTMLResponse:
    return page.render("hub/register.html", roles=ROLES, **context(page))


@router.post("/register")
def register(page: PageDep) -> Response:
    values = {k: page.form.get(k, "").strip() for k in REGISTER_FIELDS}
    values["accept_terms"] = page.form.get("accept_terms", "")
    password, again = page.form.get("password", ""), page.form.get("password_again", "")
    errors: dict[str, str] = {}
    if not values["username"]:
        errors["username"] = "choose a username"
    if password != again:
        errors["password_again"] = "the two passwords differ"
    if not errors:
        try:
            body = RegisterIn(
                **{k: v for k, v in values.items() if k != "accept_terms"},
                password=password,
                accept_terms=bool(values["accept_terms"]),
            )
            if not body.country:
                body = body.model_copy(update={"country": None})
            dac(page).register(**body.model_dump())
        except (ValidationError, GenomeshError) as exc:
            errors = field_errors(exc, default="username")
    if errors:
        return page.render(
            "hub/register.html", status=400, values=values, errors=errors, roles=ROLES,
            **context(page),
        )  # fmt: skip
    return page.redirect("/login", flash="Account created. Log in with your new password.")


@router.get("/login")
def login_form(page: PageDep) -> HTMLResponse:
    return page.render("hub/login.html", **context(page))


@router.post("/login")
def login(page: PageDep) -> Response:
    username = page.form.get("username", "").strip()
    password = page.form.get("password", "")
    client = page.request.client
    throttle = _throttle(page.request.app.state)  # the same throttle as POST /dac/login
    keys = (f"user:{username.lower()}", f"addr:{client.host if client else 'unknown'}")
    try:
        throttle.check(keys)
        try:
            out = dac(page).login(username, password)
        except AuthenticationError:
            throttle.failed(keys)
            raise
    except GenomeshError as exc:
        return page.render(
            "hub/login.html", status=exc.http_status, values={"username": username},
            errors={"password": exc.message}, **context(page),
        )  # fmt: skip
    throttle.succeeded(keys[0])
    page.session.rotate()  # a new session id at login: no session fixation
    page.session.set(TOKEN, out.token)
    page.session.set(USER, out.username)
    return page.redirect("/account", flash=f"Signed in as {out.username}.")


@router.post("/logout")
def logout(page: PageDep) -> Response:
    token = page.session.get(TOKEN)
    if token:
        with contextlib.suppress(GenomeshError):  # already ended at the DAC
            dac(page).logout(token)
    page.session.clear()
    return page.redirect("/login", flash="Signed out.")


@router.get("/account")
def overview(page: PageDep) -> Response:
    user = signed_in(page)
    if user is None:
        return page.redirect("/login", flash="Log in to see your account.")
    service = dac(page)
    applications = service.list_applications(user, mine=True)
    notes = service.notifications(user)
    matches = match_notices(page, service.me(user).email)
    return page.render(
        "hub/account.html", applications=applications, notifications=notes,
        match_notices=matches, **context(page),
    )  # fmt: skip


@router.post("/account/inbox/read")
def mark_read(page: PageDep) -> Response:
    user = signed_in(page)
    if user is None:
        return page.redirect("/login")
    dac(page).notifications(user, mark_read=True)
    return page.redirect("/account", flash="Notifications marked as read.")


@router.get("/account/passport")
def passport(page: PageDep) -> Response:
    """Download a passport (a file, never shown in a URL; the response is not cached)."""
    user = signed_in(page)
    if user is None:
        return page.redirect("/login")
    out = dac(page).passport(user)
    return Response(
        out.passport,
        media_type="application/jwt",
        headers={"Content-Disposition": f'attachment; filename="{user}-passport.jwt"'},
    )


__all__ = ["router"]
