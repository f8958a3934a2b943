"""Analysis pages of the hub portal: submit, watch, explore, download, compare.

    GET  /analysis                         my analyses, and the form to submit one
    POST /analysis                         submit (GWAS, allele frequencies; GWAS "compare")
    GET  /analysis/compare?meta=A&pooled=B meta vs pooled on the same definition
    GET  /analysis/{id}                    progress while it runs; then the result
    GET  /analysis/{id}/status.json        progress (polled by static/analysis.js)
    GET  /analysis/{id}/plots.json         Manhattan + QQ figures (genomesh.web.plots)
    GET  /analysis/{id}/row.json?variant=  one variant's row (a click on the plot)
    GET  /analysis/{id}/result.tsv         the result as TSV (plink2 columns for a GWAS)
    POST /analysis/{id}/cancel
    POST /analysis/{id}/rerun              again, without participants who withdrew since

Everything goes through the hub's analysis API (`/analysis/tasks`) with a passport the DAC
issues for the signed-in researcher per call (`genomesh.web.hub.researcher`), so the portal
can do nothing the API would refuse. Finished results are kept in a small in-process cache
(results never change once done); every request still asks the API first, which checks that
the task is the caller's.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from fastapi.responses import JSONResponse, Response

from genomesh.analysis.results import result_rows
from genomesh.core.errors import GenomeshError, InvalidInputError
from genomesh.web.hub.analysis_form import MODELS, MODES, TYPES, form_field, parse_form
from genomesh.web.hub.researcher import (
    ApiError,
    account_context,
    approved_applications,
    call,
    passport,
    signed_in,
)
from genomesh.web.pages import Page, PageDep, PageRouter
from genomesh.web.plots import find_row, plot_payload, top_rows

router = PageRouter()
TOP_HITS = 50
AF_ROWS = 200
_CACHE: OrderedDict[str, dict[str, Any]] = OrderedDict()
_CACHE_SIZE = 4
_lock = threading.Lock()


def _cached(task_id: str) -> dict[str, Any] | None:
    with _lock:
        found = _CACHE.get(task_id)
        if found is not None:
            _CACHE.move_to_end(task_id)
        return found


def _remember(task_id: str, result: dict[str, Any]) -> None:
    with _lock:
        _CACHE[task_id] = result
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)


def _login_redirect(page: Page) -> Response:
    page.session.set("after_login", page.request.url.path)
    return page.redirect("/login", flash="Sign in to run analyses.")


async def _status(page: Page, task_id: str) -> dict[str, Any]:
    body: dict[str, Any] = await call(
        page, "GET", f"/analysis/tasks/{task_id}", bearer=await passport(page)
    )
    return body


async def _result(page: Page, task_id: str) -> dict[str, Any]:
    """The finished result (the API checked ownership in `_status` just before)."""
    found = _cached(task_id)
    if found is None:
        found = await call(
            page, "GET", f"/analysis/tasks/{task_id}/result", bearer=await passport(page)
        )
        _remember(task_id, found)
    return found


async def _catalogue(page: Page) -> list[dict[str, Any]]:
    body = await call(page, "GET", "/catalogue")
    return list(body.get("datasets") or [])


async def _form_context(page: Page) -> dict[str, Any]:
    entries = await _catalogue(page)
    try:
        mine = await call(page, "GET", "/analysis/tasks", bearer=await passport(page))
    except ApiError:
        mine = []  # e.g. no visas yet: the form still shows, the list is empty
    applications = await approved_applications(page)
    return {
        "datasets": [
            {
                "value": f"{e['node']}/{e['datasetId']}",
                "name": e.get("name") or e["datasetId"],
                "node": e["node"],
                "country": e.get("country") or "",
            }
            for e in entries
        ],
        "tasks": list(reversed(mine)),
        "types": TYPES,
        "models": MODELS,
        "modes": MODES,
        "applications": [(str(a["id"]), f"#{a['id']} {a['title']}") for a in applications],
        **account_context(page),
    }


@router.get("/analysis")
async def analysis_home(page: PageDep) -> Response:
    if not signed_in(page):
        return _login_redirect(page)
    context = await _form_context(page)
    values = {"type": "gwas", "model": "linear", "mode": "pooled", "covariates": "sex,age",
              "min_mac": "5"}  # fmt: skip
    return page.render("analysis/home.html", values=values, chosen=[], **context)


@router.post("/analysis")
async def submit(page: PageDep) -> Response:
    if not signed_in(page):
        return _login_redirect(page)
    data = await page.request.form()
    chosen = [str(v) for v in data.getlist("datasets")]
    parsed = parse_form(page.form, chosen)
    errors = dict(parsed.errors)
    ids: list[str] = []
    if not errors:
        try:
            bearer = await passport(page, application=parsed.application)
            for body in parsed.bodies:
                task = await call(page, "POST", "/analysis/tasks", bearer=bearer, json=body)
                ids.append(str(task["id"]))
        except ApiError as exc:
            errors[form_field(exc.field)] = exc.message
    if errors:
        context = await _form_context(page)
        return page.render("analysis/home.html", values=dict(page.form), chosen=chosen,
                           errors=errors, status=400, **context)  # fmt: skip
    if parsed.compare:
        return page.redirect(f"/analysis/compare?meta={ids[0]}&pooled={ids[1]}",
                             flash="Submitted the meta and the pooled run.")  # fmt: skip
    return page.redirect(f"/analysis/{ids[0]}", flash=f"Submitted analysis {ids[0]}.")


@router.get("/analysis/compare")
async def compare(page: PageDep) -> Response:
    if not signed_in(page):
        return _login_redirect(page)
    ids = {m: page.request.query_params.get(m, "").strip() for m in ("meta", "pooled")}
    if not all(ids.values()):
        raise InvalidInputError("name the two runs: ?meta=ID&pooled=ID", field="meta")
    tasks = {m: await _status(page, i) for m, i in ids.items()}
    for mode, task in tasks.items():
        if task["analysis"] != "gwas" or task["params"].get("mode") != mode:
            raise InvalidInputError(f"analysis {task['id']} is not a {mode} GWAS", field=mode)
    try:
        threshold = float(page.request.query_params.get("threshold", "5e-8"))
    except ValueError:
        threshold = -1.0
    if not 0 < threshold < 1:
        raise InvalidInputError("threshold must be a P value between 0 and 1", field="threshold")
    report = None
    if all(t["state"] == "done" for t in tasks.values()):
        from genomesh.analysis.gwas.compare import compare_modes

        meta = await _result(page, ids["meta"])
        pooled = await _result(page, ids["pooled"])
        report = compare_modes(result_rows(meta), result_rows(pooled), threshold=threshold)
    return page.render("analysis/compare.html", tasks=tasks, report=report, **account_context(page))


@router.get("/analysis/{task_id}")
async def task_page(task_id: str, page: PageDep) -> Response:
    if not signed_in(page):
        return _login_redirect(page)
    task = await _status(page, task_id)
    context: dict[str, Any] = {"task": task, "result": None, **account_context(page)}
    if task["state"] == "done":
        result = await _result(page, task_id)
        rows = result_rows(result)
        context["result"] = result
        context["n_rows"] = len(rows)
        if task["analysis"] == "gwas":
            context["top"] = top_rows(rows, limit=TOP_HITS)
            context["columns"] = list(result.get("columns") or [])
            return page.render("analysis/gwas.html", inline_styles=True, **context)
        context["rows"] = rows[:AF_ROWS]
    return page.render("analysis/task.html", **context)


def _json_error(exc: Exception) -> JSONResponse:
    if isinstance(exc, ApiError):
        return JSONResponse({"message": exc.message}, status_code=exc.status)
    if isinstance(exc, GenomeshError):
        return JSONResponse({"message": exc.message}, status_code=exc.http_status)
    raise exc


@router.get("/analysis/{task_id}/status.json")
async def status_json(task_id: str, page: PageDep) -> JSONResponse:
    try:
        return JSONResponse(await _status(page, task_id))
    except GenomeshError as exc:
        return _json_error(exc)


@router.get("/analysis/{task_id}/plots.json")
async def plots_json(task_id: str, page: PageDep) -> JSONResponse:
    try:
        task = await _status(page, task_id)
        if task["state"] != "done" or task["analysis"] != "gwas":
            raise InvalidInputError(f"analysis {task_id} has no GWAS result to plot", field="id")
        return JSONResponse(plot_payload(result_rows(await _result(page, task_id))))
    except GenomeshError as exc:
        return _json_error(exc)


@router.get("/analysis/{task_id}/row.json")
async def row_json(task_id: str, page: PageDep) -> JSONResponse:
    variant = page.request.query_params.get("variant", "").strip()
    try:
        if not variant:
            raise InvalidInputError("name the variant: ?variant=CHROM:POS:REF:ALT", field="variant")
        task = await _status(page, task_id)
        if task["state"] != "done":
            raise InvalidInputError(f"analysis {task_id} has no result yet", field="id")
        result = await _result(page, task_id)
        row = find_row(result_rows(result), variant)
        if row is None:
            return JSONResponse({"message": f"no variant {variant} in this result"}, 404)
        columns = [c for c in result.get("columns") or list(row) if c in row]
        return JSONResponse({"row": row, "columns": columns})
    except GenomeshError as exc:
        return _json_error(exc)


@router.get("/analysis/{task_id}/result.tsv")
async def result_tsv(task_id: str, page: PageDep) -> Response:
    if not signed_in(page):
        return _login_redirect(page)
    text = await call(page, "GET", f"/analysis/tasks/{task_id}/result",
                      bearer=await passport(page), params={"format": "tsv"}, raw=True)  # fmt: skip
    filename = f"genomesh-{task_id}.tsv"
    return Response(text, media_type="text/tab-separated-values",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})  # fmt: skip


@router.post("/analysis/{task_id}/cancel")
async def cancel(task_id: str, page: PageDep) -> Response:
    if not signed_in(page):
        return _login_redirect(page)
    try:
        await call(page, "POST", f"/analysis/tasks/{task_id}/cancel", bearer=await passport(page))
    except ApiError as exc:
        return page.redirect(f"/analysis/{task_id}", flash=exc.message)
    return page.redirect(f"/analysis/{task_id}", flash="Cancelled.")


@router.post("/analysis/{task_id}/rerun")
async def rerun(task_id: str, page: PageDep) -> Response:
    """A stale result run again (the nodes leave out everyone who has withdrawn)."""
    if not signed_in(page):
        return _login_redirect(page)
    try:
        new = await call(
            page, "POST", f"/analysis/tasks/{task_id}/rerun", bearer=await passport(page)
        )
    except ApiError as exc:
        return page.redirect(f"/analysis/{task_id}", flash=exc.message)
    return page.redirect(
        f"/analysis/{new['id']}",
        flash=f"Running {task_id} again without the participants who withdrew.",
    )


__all__ = ["router"]
