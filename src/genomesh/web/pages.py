"""What every portal page is built from: the `Portal`, the per-request `Page`, and the route
class that applies the rules (session, CSRF, security headers, error page) around each page.

Write a page module like this:

    from genomesh.web.pages import PageDep, PageRouter

    router = PageRouter()

    @router.get("/custodian")
    def custodian(page: PageDep) -> HTMLResponse:
        return page.render("custodian/home.html", datasets=...)

    @router.post("/custodian/notes")
    def add_note(page: PageDep) -> Response:
        text = page.form.get("note", "")          # CSRF was checked before this runs
        if not text:
            return page.render("custodian/home.html", errors={"note": "write a note"},
                               status=400)
        return page.redirect("/custodian", flash="note saved")

and pass the router to `genomesh.web.app.mount_portal(app, routers=[router], ...)`.
Paths are relative to the portal's prefix (hub: "", node: "/portal"). An exception in a page
becomes the error page: a GenomeshError shows its message (written for users), anything
else a generic sentence; never a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from genomesh.core.errors import GenomeshError
from genomesh.web.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    UNSAFE_METHODS,
    cookie_options,
    csrf_matches,
    security_headers,
)
from genomesh.web.sessions import COOKIE_NAME, Session, SessionStore

log = logging.getLogger(__name__)
STATIC_PATH = "/portal-static"
APP_PATHS = frozenset({"/docs", "/redoc"})  # the app's, not the portal's: never prefixed


@dataclass
class Portal:
    """One mounted portal: its prefix, templates, sessions and navigation."""

    title: str
    prefix: str
    sessions: SessionStore
    nav: Sequence[tuple[str, str]] = ()
    secure_cookies: bool | None = None  # None: Secure when the request came over https
    api_base: str = "http://portal.internal"
    env: Environment = field(init=False)
    extras: dict[str, Any] = field(default_factory=dict)  # e.g. the hub's DAC service

    def __post_init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("genomesh.web", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def url(self, path: str) -> str:
        """An absolute path inside the portal ("/discover" -> "/portal/discover" on a node);
        the app's own API docs stay at the root."""
        if not path.startswith("/") or path.split("?")[0] in APP_PATHS:
            return path
        return f"{self.prefix}{path}"

    def static(self, name: str) -> str:
        return f"{STATIC_PATH}/{name}"


class PageError(GenomeshError):
    """A page refuses a request for a reason the user can act on (status 400 by default)."""

    http_status = 400
    exit_code = 2


class CsrfError(GenomeshError):
    """A form came without this session's CSRF token (expired page, or another site)."""

    http_status = 403
    exit_code = 3


class Page:
    """Everything a page handler needs: the request, the session, the form, rendering."""

    def __init__(self, request: Request, portal: Portal, session: Session, form: dict[str, str]):
        self.request = request
        self.portal = portal
        self.session = session
        self.form = form  # the posted fields (last value of each); CSRF token removed
        self.form_lists: dict[str, list[str]] = {}  # every value of each posted field
        self.inline_styles = False

    def form_all(self, name: str) -> list[str]:
        """Every value posted for `name` (checkbox groups, multi-selects)."""
        return list(self.form_lists.get(name, []))

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token

    def url(self, path: str) -> str:
        return self.portal.url(path)

    def flash(self, message: str, kind: str = "info") -> None:
        """A one-time message shown on the next page rendered."""
        self.session.set("flash", [*self.session.get("flash", []), [kind, message]])

    def render(
        self, template: str, *, status: int = 200, inline_styles: bool = False, **context: Any
    ) -> HTMLResponse:
        """Render a template (with `page`, `portal`, `errors`, `values` and flashes)."""
        context.setdefault("errors", {})
        context.setdefault("values", {})
        flashes = self.session.pop("flash", []) or []
        html = self.portal.env.get_template(template).render(
            page=self, portal=self.portal, flashes=flashes, **context
        )
        self.inline_styles = inline_styles
        return HTMLResponse(html, status_code=status)

    def redirect(self, path: str, *, flash: str | None = None) -> RedirectResponse:
        """303 See Other to a portal path (after a successful POST)."""
        if flash:
            self.flash(flash)
        return RedirectResponse(self.url(path), status_code=303)

    def api(self, *, timeout: float = 60.0) -> httpx.AsyncClient:
        """An HTTP client for this app's own API, in process (as the browser's address, so
        per-caller budgets and throttles see the real client)."""
        client = self.request.client
        transport = httpx.ASGITransport(
            app=self.request.app,
            client=(client.host, client.port) if client else ("127.0.0.1", 0),
        )
        return httpx.AsyncClient(
            transport=transport, base_url=self.portal.api_base, timeout=timeout
        )


def portal_of(app: FastAPI) -> Portal:
    portal = getattr(app.state, "portal", None)
    if portal is None:
        raise GenomeshError("the portal is not mounted on this app")
    return portal  # type: ignore[no-any-return]


def get_page(request: Request) -> Page:
    """The Page the route class prepared for this request."""
    return request.state.portal_page  # type: ignore[no-any-return]


PageDep = Annotated[Page, Depends(get_page)]
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _is_https(portal: Portal, request: Request) -> bool:
    if portal.secure_cookies is not None:
        return portal.secure_cookies
    return request.url.scheme == "https"


def error_page(page: Page, exc: BaseException) -> Response:
    """The error page for an exception: the message of a GenomeshError, a fixed sentence
    otherwise (the exception itself is logged, without the query string)."""
    if isinstance(exc, GenomeshError):
        status, message = exc.http_status, exc.describe()
    elif isinstance(exc, StarletteHTTPException):
        status, message = exc.status_code, str(exc.detail)
    elif isinstance(exc, RequestValidationError):
        status, message = 400, "the request was not understood"
    else:
        log.exception("portal page failed: %s %s", page.request.method, page.request.url.path)
        status, message = 500, "Something went wrong on the server. It has been logged."
    return page.render("error.html", status=status, status_code=status, message=message)


def _session(portal: Portal, request: Request) -> Session:
    """This portal's session. A hub and a node on one host (ports do not separate cookies)
    both send a `genomesh_portal` cookie; the one this portal signed is the one to use."""
    values = [
        part.split("=", 1)[1].strip()
        for part in request.headers.get("cookie", "").split(";")
        if part.strip().startswith(f"{COOKIE_NAME}=")
    ]
    for value in values:
        session = portal.sessions.load(value)
        if not session.new:
            return session
    return portal.sessions.load(None)


class PageRoute(APIRoute):
    """Route class of every portal page: loads the session, checks CSRF on unsafe methods,
    renders errors as the error page, sets the cookie and the security headers."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            portal = portal_of(request.app)
            session = _session(portal, request)
            form: dict[str, str] = {}
            page = Page(request, portal, session, form)
            request.state.portal_page = page
            try:
                if request.method in UNSAFE_METHODS:
                    data = await request.form()
                    form.update({k: v for k, v in data.items() if isinstance(v, str)})
                    for key in data:
                        page.form_lists[key] = [v for v in data.getlist(key) if isinstance(v, str)]
                    sent = form.pop(CSRF_FIELD, None) or request.headers.get(CSRF_HEADER)
                    if not csrf_matches(session.get("csrf"), sent):
                        raise CsrfError(
                            "this form has expired or did not come from this site: "
                            "reload the page and send it again"
                        )
                response = await handler(request)
            except Exception as exc:
                response = error_page(page, exc)
            if session.new or session.dirty or session.rotated_from:
                portal.sessions.save(session)
                response.set_cookie(
                    COOKIE_NAME,
                    portal.sessions.cookie_value(session),
                    **cookie_options(secure=_is_https(portal, request), path=portal.prefix),  # type: ignore[arg-type]
                )
            response.headers.update(security_headers(inline_styles=page.inline_styles))
            return response

        return run


def PageRouter(**options: Any) -> APIRouter:
    """An APIRouter for portal pages (PageRoute, left out of the OpenAPI schema)."""
    options.setdefault("include_in_schema", False)
    return APIRouter(route_class=PageRoute, **options)


def template_dir() -> Path:
    """Where the portal's templates live (package data)."""
    return Path(__file__).parent / "templates"


__all__ = [
    "STATIC_PATH",
    "CsrfError",
    "Page",
    "PageDep",
    "PageError",
    "PageRoute",
    "PageRouter",
    "Portal",
    "error_page",
    "get_page",
    "portal_of",
    "template_dir",
]
