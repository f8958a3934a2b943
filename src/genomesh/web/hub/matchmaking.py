"""Matchmaking pages of the hub portal: submit a patient, see ranked matches, contact them.

    GET  /matchmaking              a form: HPO terms (type-ahead), genes, sex, test query
    POST /matchmaking              asks the network; the results on the same page
    GET  /matchmaking/hpo.json?q=  HPO term suggestions (genomesh.ontology.hpo_search)

The request goes to the hub's matchmaker of matchmakers (`genomesh.hub.matchmaker`: every
node's MME /match through the hub's signed node exchange, and the configured external peers),
in process, as the portal's requester; the patient's contact is the signed-in account's, so
the hub's match notices reach its inbox. Every page that shows HPO terms names the HPO
release and carries its acknowledgement (the HPO licence asks for it).
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse, Response

from genomesh.core.errors import GenomeshError, InvalidInputError
from genomesh.web.hub.match_form import SEX_OPTIONS, explain, parse_match_form
from genomesh.web.hub.researcher import account_context, call, dac_token, signed_in
from genomesh.web.pages import Page, PageDep, PageError, PageRouter

router = PageRouter()
REQUESTER = "portal"


def _hpo() -> Any:
    from genomesh.ontology.hpo import get_hpo

    return get_hpo()


def network_matchmaker(app: Any) -> Any:
    """The hub's network matchmaker, or None when this hub has none."""
    try:
        from genomesh.hub.matchmaker.routes import hub_matchmaker
    except ImportError:
        return None
    return hub_matchmaker(app)


async def _contact(page: Page) -> dict[str, str]:
    me = await call(page, "GET", "/dac/me", bearer=dac_token(page))
    name = me.get("full_name") or me.get("name") or me.get("username") or ""
    email = me.get("email") or ""
    return {
        "name": str(name),
        "institution": str(me.get("institution") or ""),
        "href": f"mailto:{email}" if email else "",
    }


def _render(page: Page, **context: Any) -> Response:
    hpo = _hpo()
    context.setdefault("values", {})
    return page.render(
        "match/home.html",
        hpo_version=hpo.version,
        hpo_ack=hpo.acknowledgement,
        sexes=SEX_OPTIONS,
        available=network_matchmaker(page.request.app) is not None,
        **account_context(page),
        **context,
    )


@router.get("/matchmaking")
async def match_form(page: PageDep) -> Response:
    if not signed_in(page):
        page.session.set("after_login", page.request.url.path)
        return page.redirect("/login", flash="Sign in to submit a patient.")
    return _render(page)


@router.post("/matchmaking")
async def match_submit(page: PageDep) -> Response:
    if not signed_in(page):
        return page.redirect("/login", flash="Sign in to submit a patient.")
    matchmaker = network_matchmaker(page.request.app)
    if matchmaker is None:
        raise PageError("this hub has no network matchmaker")
    parsed = parse_match_form(page.form, await _contact(page))
    if parsed.body is None:
        return _render(page, values=dict(page.form), errors=parsed.errors, status=400)
    try:
        answer = await matchmaker.match(parsed.body, requester=REQUESTER)
    except GenomeshError as exc:  # the request itself was refused (named field)
        errors = {"form": exc.message}
        return _render(page, values=dict(page.form), errors=errors, status=400)
    hpo = _hpo()
    results = answer.get("results") or []
    wanted = {t for r in results for f in (r.get("patient") or {}).get("features") or []
              if isinstance(f, dict) for t in [str(f.get("id"))]}  # fmt: skip
    wanted |= set(parsed.terms)
    labels = {t: hpo.label(t) for t in wanted if hpo.has(t)}
    extra = answer.get("_genomesh") or {}
    return _render(
        page,
        values=dict(page.form),
        query_terms=[(t, labels.get(t, "")) for t in parsed.terms],
        query_genes=parsed.genes,
        results=[explain(r, labels) for r in results],
        sources=extra.get("sources") or [],
        network_hpo=extra.get("hpoVersion"),
        disclaimer=answer.get("disclaimer"),
        submitted=True,
    )


@router.get("/matchmaking/hpo.json")
def hpo_suggestions(page: PageDep) -> JSONResponse:
    from genomesh.ontology.hpo_search import search_terms

    text = page.request.query_params.get("q", "")
    try:
        if len(text) > 200:
            raise InvalidInputError("search text is too long", field="q")
        found = search_terms(text, limit=15)
    except GenomeshError as exc:
        return JSONResponse({"message": exc.message}, status_code=exc.http_status)
    hpo = _hpo()
    return JSONResponse(
        {
            "terms": [{"id": i, "label": n} for i, n in found],
            "version": hpo.version,
            "acknowledgement": hpo.acknowledgement,
        }
    )


__all__ = ["REQUESTER", "network_matchmaker", "router"]
