"""The custodian's view at a node (under the node portal's `/portal` prefix).

    GET  /custodian/login        the custodian signs in with the node admin token
    POST /custodian/login        (genomesh.node.admin: NODE_DIR/admin.token)
    POST /custodian/logout
    GET  /custodian              datasets and their consent
    GET  /custodian/audit        the audit log, searchable, each entry's verification status
    GET  /custodian/recipients   who received what
    GET  /custodian/withdrawals  withdrawals, the notices to earlier recipients, their delivery

The token is posted in a form (never in a URL) and checked in constant time; the session then
holds only the fact that its holder is the operator (the id is rotated at sign-in). Searches
are GET forms: their terms are not secrets and a search can be bookmarked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi.responses import HTMLResponse, Response

from genomesh.audit.search import MAX_PAGE, AuditQuery
from genomesh.core.errors import AuthenticationError, InvalidInputError
from genomesh.node.admin import TOKEN_FILE, is_node_admin, node_admin_token
from genomesh.web.custodian_data import (
    audit_view,
    datasets_overview,
    recipients_view,
    withdrawals_view,
)
from genomesh.web.pages import Page, PageDep, PageRouter

router = PageRouter()
OPERATOR = "node_operator"
PAGE_SIZE = 50


def _state(page: Page) -> Any:
    return page.request.app.state


def _require_operator(page: Page) -> None:
    if not page.session.get(OPERATOR):
        raise AuthenticationError(
            "the custodian view is for the node's operator: sign in with the node admin token"
        )


def _guarded(page: Page) -> Response | None:
    """A redirect to the sign-in page when the session is not the operator's."""
    if page.session.get(OPERATOR):
        return None
    page.session.set("after_login", page.request.url.path)
    return page.redirect("/custodian/login")


def _render(page: Page, template: str, **context: Any) -> HTMLResponse:
    state = _state(page)
    return page.render(template, node_name=state.settings.name, **context)


@router.get("/custodian/login")
def login_form(page: PageDep) -> HTMLResponse:
    node_admin_token(
        _state(page).settings
    )  # made now (if not configured), for the operator to read
    return _render(page, "custodian/login.html", token_file=TOKEN_FILE)


@router.post("/custodian/login")
def login(page: PageDep) -> Response:
    token = page.form.get("token", "")
    if not token.strip():
        errors = {"token": "enter the node admin token"}
    elif not is_node_admin(_state(page).settings, token):
        errors = {"token": "this is not the admin token of this node"}
    else:
        page.session.rotate()
        page.session.set(OPERATOR, True)
        after = page.session.pop("after_login", None)
        target = "/custodian"
        prefix = page.portal.prefix
        if isinstance(after, str) and after.startswith(f"{prefix}/custodian"):
            target = after.removeprefix(prefix)
        return page.redirect(target, flash="Signed in as the node operator.")
    return _render(page, "custodian/login.html", token_file=TOKEN_FILE, errors=errors, status=400)


@router.post("/custodian/logout")
def logout(page: PageDep) -> Response:
    page.session.pop(OPERATOR, None)
    page.session.rotate()
    return page.redirect("/custodian/login", flash="Signed out.")


@router.get("/custodian")
def datasets(page: PageDep) -> Response:
    if (redirect := _guarded(page)) is not None:
        return redirect
    state = _state(page)
    return _render(
        page,
        "custodian/datasets.html",
        datasets=datasets_overview(state.node, state.node_state, state.settings),
    )


def _day(value: str, field: str, *, end: bool = False) -> float | None:
    if not value.strip():
        return None
    try:
        day = datetime.strptime(value.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInputError("give the date as YYYY-MM-DD", field=field) from None
    return day.timestamp() + (86_399.999 if end else 0.0)


def _int(value: str, field: str, default: int, *, low: int, high: int) -> int:
    if not value.strip():
        return default
    try:
        number = int(value)
    except ValueError:
        raise InvalidInputError(f"{field} must be a whole number", field=field) from None
    if not low <= number <= high:
        raise InvalidInputError(f"{field} must be between {low} and {high}", field=field)
    return number


@router.get("/custodian/audit")
def audit(page: PageDep) -> Response:
    if (redirect := _guarded(page)) is not None:
        return redirect
    params = {k: v for k, v in page.request.query_params.items() if isinstance(v, str)}
    values = {k: params.get(k, "") for k in ("who", "surface", "outcome", "dataset", "text",
                                             "since", "until", "page")}  # fmt: skip
    errors: dict[str, str] = {}
    query = AuditQuery(limit=PAGE_SIZE)
    try:
        number = _int(values["page"], "page", 1, low=1, high=1_000_000)
        query = AuditQuery(
            who=values["who"] or None,
            surface=values["surface"] or None,
            outcome=values["outcome"] or None,
            dataset=values["dataset"] or None,
            text=values["text"] or None,
            since=_day(values["since"], "since"),
            until=_day(values["until"], "until", end=True),
            limit=min(PAGE_SIZE, MAX_PAGE),
            offset=(number - 1) * PAGE_SIZE,
        )
        view = audit_view(_state(page).node_state, query)
    except InvalidInputError as exc:
        errors[exc.field or "text"] = exc.message
        view = audit_view(_state(page).node_state, AuditQuery(limit=PAGE_SIZE))
        number = 1
    pages = max(1, -(-view.total // PAGE_SIZE))

    def query_for(number: int) -> str:
        kept = {k: v for k, v in values.items() if v and k != "page"}
        return urlencode({**kept, "page": str(number)})

    return _render(
        page,
        "custodian/audit.html",
        view=view,
        values=values,
        errors=errors,
        page_number=number,
        pages=pages,
        surface_options=[(s, s) for s in view.surfaces],
        outcome_options=[(o, o) for o in view.outcomes],
        query_for=query_for,
        status=400 if errors else 200,
    )


@router.get("/custodian/recipients")
def recipients(page: PageDep) -> Response:
    if (redirect := _guarded(page)) is not None:
        return redirect
    dataset = page.request.query_params.get("dataset", "").strip() or None
    state = _state(page)
    return _render(
        page,
        "custodian/recipients.html",
        rows=recipients_view(state.node_state, dataset_id=dataset),
        dataset=dataset or "",
        dataset_options=[(d, d) for d in state.node.dataset_ids()],
    )


@router.get("/custodian/withdrawals")
def withdrawals(page: PageDep) -> Response:
    if (redirect := _guarded(page)) is not None:
        return redirect
    return _render(page, "custodian/withdrawals.html", **withdrawals_view(_state(page).node_state))


__all__ = ["OPERATOR", "router"]
