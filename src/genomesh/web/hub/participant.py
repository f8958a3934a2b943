"""The participant page: who used my data, a copy of my data, withdrawal.

A participant's token is issued by the custodian of the node that holds their data
(`genomesh node participant-token`). It is typed into a form (POST), kept only in the
server-side portal session, and sent to that node's `/participants` API as a header: it never
appears in a URL, a page, or a log line. The hub stores nothing about the participant.
Nodes that only dial out to the hub cannot be reached this way; their participants use the
node's own API.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi.responses import Response

from genomesh.web.hub.auth import dac
from genomesh.web.pages import Page, PageDep, PageRouter

router = PageRouter()
KEY = "participant"  # session key: {"node": name, "token": ...}
FINDING_WORDS = [
    (
        "medically_actionable",
        "Findings a doctor can act on (e.g. a high risk of a treatable disease)",
    ),
    ("carrier_status", "Carrier status (matters when having children)"),
    ("pharmacogenomic", "How you may respond to medicines"),
    ("vus", "Variants whose meaning is not yet known"),
    ("other", "Anything else the researchers think you should know"),
]
STALE_WORDS = {"beacon": "an answer to a search", "analysis": "a statistical analysis",
               "export": "a copy of your data", "matchmaker": "a rare-disease match"}  # fmt: skip
CHANNELS = [("custodian", "Your data custodian"), ("clinician", "Your clinician"),
            ("genetic_counsellor", "A genetic counsellor")]  # fmt: skip


def _nodes(page: Page) -> list[Any]:
    """Registered nodes the hub can reach (push mode: they have a base URL)."""
    return [n for n in page.request.app.state.store.nodes() if n.base_url and not n.dial_out]


def _node_url(page: Page, name: str) -> str | None:
    return next((n.base_url for n in _nodes(page) if n.name == name), None)


async def _call(
    page: Page, method: str, path: str, *, node: str, token: str, body: Any = None
) -> httpx.Response:
    base = _node_url(page, node)
    if base is None:
        raise LookupError(node)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        return await client.request(
            method, f"/participants/me/{path}", json=body,
            headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip


def _message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error") or {}
    except ValueError:
        return f"the node answered HTTP {response.status_code}"
    return str(error.get("errorMessage") or error.get("message") or "the node refused")


def _sign_in_form(page: Page, *, values: dict[str, str] | None = None,
                  errors: dict[str, str] | None = None, status: int = 200) -> Response:  # fmt: skip
    nodes = [(n.name, f"{n.name} ({n.country})") for n in _nodes(page)]
    return page.render(
        "hub/participant_sign_in.html", status=status, nodes=nodes,
        values=values or {}, errors=errors or {},
    )  # fmt: skip


@router.get("/participant")
async def participant(page: PageDep) -> Response:
    me = page.session.get(KEY)
    if not me:
        return _sign_in_form(page)
    return await _my_data(page, me)


async def _my_data(
    page: Page, me: dict[str, str], *, status: int = 200, values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    """The participant's page: access report, findings and the preferences form."""
    try:
        response = await _call(page, "GET", "access-report", **me)
    except (LookupError, httpx.HTTPError):
        return page.render("error.html", status=502, status_code=502,
                           message="The node holding your data cannot be reached now.")  # fmt: skip
    if response.status_code == 401:
        page.session.pop(KEY)
        return _sign_in_form(page, errors={"token": "this token is no longer valid"}, status=401)
    if response.status_code != 200:
        return page.render("error.html", status=response.status_code,
                           status_code=response.status_code, message=_message(response))  # fmt: skip
    report = response.json()
    subjects = {
        r.get("recipient") for d in report.get("datasets", []) for r in d.get("recipients", [])
    }
    subjects |= {
        s.get("recipient") for d in report.get("datasets", []) for s in d.get("stale_results", [])
    }
    return page.render(
        "hub/participant.html", status=status, node=me["node"], report=report,
        names=_names(page, subjects), **await findings_context(page, me, values, errors),
    )  # fmt: skip


async def findings_context(
    page: Page, me: dict[str, str], values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The participant's returned findings and their preferences, asked of the node (a node
    without the findings API, or that cannot answer, leaves the section with a note)."""
    out: dict[str, Any] = {"findings": None, "preferences": None, "findings_note": None}
    try:
        found = await _call(page, "GET", "findings", **me)
        prefs = await _call(page, "GET", "findings-preferences", **me)
    except httpx.HTTPError:
        out["findings_note"] = "The node could not tell us about findings now."
        return out
    if found.status_code == 200:
        out["findings"] = [_dated(f) for f in found.json().get("findings") or []]
    else:
        out["findings_note"] = _message(found)
    if prefs.status_code == 200:
        out["preferences"] = prefs.json().get("preferences")
    stored = out["preferences"] or {}
    out["prefs_values"] = values or {
        "categories": list(stored.get("categories") or []),
        "via": stored.get("via") or "custodian",
        "contact": stored.get("contact") or "",
    }
    out["prefs_errors"] = errors or {}
    out["categories"] = FINDING_WORDS
    out["category_words"] = dict(FINDING_WORDS)
    out["channels"] = CHANNELS
    out["stale_words"] = STALE_WORDS
    return out


def _dated(finding: dict[str, Any]) -> dict[str, Any]:
    """A finding with its delivery time (epoch seconds at the node) as a UTC date."""
    at = finding.get("delivered_at")
    if isinstance(at, int | float):
        finding["delivered_on"] = datetime.fromtimestamp(at, UTC).date().isoformat()
    return finding


@router.post("/participant/findings-preferences")
async def findings_preferences(page: PageDep) -> Response:
    """Which findings I want returned, and through whom (PUT to the node)."""
    me = page.session.get(KEY)
    if not me:
        return page.redirect("/participant")
    chosen = page.form_all("categories")
    values = {"categories": chosen, "via": page.form.get("via", ""),
              "contact": page.form.get("contact", "").strip()}  # fmt: skip
    errors: dict[str, str] = {}
    if any(c not in dict(FINDING_WORDS) for c in chosen):
        errors["categories"] = "choose among the kinds of findings listed"
    if values["via"] not in dict(CHANNELS):
        errors["via"] = "choose who should give you a finding"
    if values["via"] in ("clinician", "genetic_counsellor") and not values["contact"]:
        errors["contact"] = "name your clinician or counsellor and how to reach them"
    if len(values["contact"]) > 300:
        errors["contact"] = "at most 300 characters"
    if not errors:
        response = await _call(page, "PUT", "findings-preferences", body=values, **me)
        if response.status_code == 200:
            kinds = len(chosen)
            return page.redirect(
                "/participant#findings",
                flash="Saved: " + (f"{kinds} kind(s) of findings may be returned to you."
                                   if kinds else "no findings will be returned to you."),
            )  # fmt: skip
        errors["categories"] = _message(response)
    return await _my_data(page, me, status=400, values=values, errors=errors)


def _names(page: Page, subjects: set[Any]) -> dict[str, str]:
    """Recipients' subjects as people: "Rita Jansen (uni.example.org)" for the hub's accounts."""
    from sqlalchemy import select

    from genomesh.hub.dac.models import Account

    wanted = {s for s in subjects if isinstance(s, str)}
    if not wanted:
        return {}
    with dac(page).database.transaction() as session:
        rows = session.scalars(select(Account).where(Account.subject.in_(wanted))).all()
        return {
            a.subject: f"{a.full_name or a.username}"
            + (f" ({a.institution})" if a.institution else "")
            for a in rows
        }


@router.post("/participant/sign-in")
async def sign_in(page: PageDep) -> Response:
    node = page.form.get("node", "")
    token = page.form.get("token", "").strip()
    errors: dict[str, str] = {}
    if _node_url(page, node) is None:
        errors["node"] = "choose the organisation that holds your data"
    if not token:
        errors["token"] = "paste the token your data custodian gave you"
    if not errors:
        try:
            response = await _call(page, "GET", "access-report", node=node, token=token)
        except httpx.HTTPError:
            errors["node"] = "this node cannot be reached now; try again later"
        else:
            if response.status_code == 401:
                errors["token"] = "the node does not know this token (mistyped, or revoked)"
            elif response.status_code != 200:
                errors["token"] = _message(response)
    if errors:
        return _sign_in_form(page, values={"node": node}, errors=errors, status=400)
    page.session.rotate()
    page.session.set(KEY, {"node": node, "token": token})
    return page.redirect("/participant")


@router.post("/participant/sign-out")
def sign_out(page: PageDep) -> Response:
    page.session.pop(KEY)
    return page.redirect("/participant", flash="Signed out: your token is forgotten here.")


@router.get("/participant/export")
async def export(page: PageDep) -> Response:
    me = page.session.get(KEY)
    if not me:
        return page.redirect("/participant")
    response = await _call(page, "GET", "export", **me)
    if response.status_code != 200:
        return page.render("error.html", status=response.status_code,
                           status_code=response.status_code, message=_message(response))  # fmt: skip
    return Response(
        json.dumps(response.json(), indent=2),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="my-data.json"'},
    )


@router.get("/participant/withdraw")
def withdraw_confirm(page: PageDep) -> Response:
    me = page.session.get(KEY)
    if not me:
        return page.redirect("/participant")
    return page.render("hub/participant_withdraw.html", node=me["node"], values={}, errors={})


@router.post("/participant/withdraw")
async def withdraw(page: PageDep) -> Response:
    me = page.session.get(KEY)
    if not me:
        return page.redirect("/participant")
    if page.form.get("confirm") != "yes":
        return page.render(
            "hub/participant_withdraw.html", status=400, node=me["node"], values={},
            errors={"confirm": "tick the box to confirm that you want to withdraw"},
        )  # fmt: skip
    body = {"dataset_id": page.form.get("dataset_id") or None,
            "reason": page.form.get("reason") or None}  # fmt: skip
    response = await _call(page, "POST", "withdraw", body=body, **me)
    if response.status_code != 200:
        return page.render(
            "hub/participant_withdraw.html", status=response.status_code, node=me["node"],
            values={}, errors={"confirm": _message(response)},
        )  # fmt: skip
    done = response.json().get("withdrawn", [])
    notified = sum(int(w.get("recipients_notified") or 0) for w in done)
    return page.redirect(
        "/participant",
        flash=f"You have withdrawn. {notified} earlier recipient(s) of your data were notified.",
    )


__all__ = ["router"]
