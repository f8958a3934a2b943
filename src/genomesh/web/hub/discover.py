"""Discover: search the hub's catalogue, and ask the Beacon network a question.

Both go through the hub's own public API in process (`Page.api()`), exactly as the CLI would
over HTTP: `/catalogue` for datasets, `/individuals` or `/g_variants` for the network. A
signed-in researcher's query carries their DAC passport (fetched on the server, sent as a
header; never in the URL), so granted datasets answer at record level.

Every node's own status is shown: answered, refused and why, not reachable; a suppressed
count is shown as suppressed, never as a number.
"""

from __future__ import annotations

import functools
from typing import Any

from fastapi.responses import Response

from genomesh.core.errors import GenomeshError
from genomesh.ontology.duo import get_duo
from genomesh.web.hub.auth import context, dac, signed_in
from genomesh.web.hub.register import register_path
from genomesh.web.pages import Page, PageDep, PageRouter

router = PageRouter()
CATALOGUE_FIELDS = ("q", "country", "duo", "data_type", "min_size")
DATA_TYPES = [("genotypes", "Genotypes (variants)"), ("phenotypes", "Phenotypes (HPO)"),
              ("diseases", "Diagnoses")]  # fmt: skip
QUERY_FIELDS = ("entry", "assembly", "reference", "start", "end", "ref", "alt", "gene",
                "filters", "granularity")  # fmt: skip
GRANULARITIES = [("boolean", "Yes / no"), ("count", "Counts"), ("record", "Records")]


@functools.cache
def duo_options() -> tuple[tuple[str, str], ...]:
    """(code, "HMB (DUO:0000006, health or medical ...)") of every current DUO permission and
    modifier: the DUO field's suggestions, rendered in the page (no script needed)."""
    duo = get_duo()
    terms = [*duo.permissions(), *duo.modifiers()]
    return tuple((t.id, t.display) for t in terms if not t.obsolete)


def _size(entry: dict[str, Any]) -> int | None:
    value = (entry.get("counts") or {}).get("individuals")
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else None


def data_types(entry: dict[str, Any]) -> list[str]:
    """What kinds of data a catalogue entry holds (from its counts and terms)."""
    kinds = []
    if (entry.get("counts") or {}).get("variants") or entry.get("assembly"):
        kinds.append("genotypes")
    if entry.get("phenotypes"):
        kinds.append("phenotypes")
    if entry.get("diseases"):
        kinds.append("diseases")
    return kinds


async def _catalogue(
    page: Page, values: dict[str, str]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    errors: dict[str, str] = {}
    params = {k: values[k] for k in ("q", "country", "duo") if values.get(k)}
    if "duo" in params:  # a suggestion reads "DUO:0000006 HMB ..."; the code is enough
        params["duo"] = params["duo"].split()[0]
    min_size = None
    if values.get("min_size"):
        if values["min_size"].isdigit():
            min_size = int(values["min_size"])
        else:
            errors["min_size"] = "give the smallest number of participants as a whole number"
    async with page.api() as api:
        response = await api.get("/catalogue", params=params)
    if response.status_code != 200:
        message = response.json().get("error", {}).get("errorMessage", "search failed")
        field = next((k for k in ("duo", "country", "q") if f"'{k}'" in message), "q")
        errors[field] = message.split(": ", 1)[-1] if "field" in message else message
        return [], errors
    entries = response.json().get("datasets", [])
    if values.get("data_type"):
        entries = [e for e in entries if values["data_type"] in data_types(e)]
    if min_size is not None:
        entries = [e for e in entries if (_size(e) or 0) >= min_size]
    return entries, errors


def _beacon_params(values: dict[str, str]) -> tuple[str, dict[str, Any], dict[str, str]]:
    """(path, query parameters, errors by field) of the Beacon query form."""
    errors: dict[str, str] = {}
    entry = values.get("entry") or "individuals"
    if entry not in ("individuals", "g_variants"):
        errors["entry"] = "ask for individuals or variants"
    params: dict[str, Any] = {"requestedGranularity": values.get("granularity") or "count"}
    if values.get("granularity") and values["granularity"] not in dict(GRANULARITIES):
        errors["granularity"] = "choose yes/no, counts or records"
    for key in ("start", "end"):
        if values.get(key) and not values[key].isdigit():
            errors[key] = "a position is a whole number (1-based, on the chromosome)"
    if values.get("reference"):
        params["referenceName"] = values["reference"]
        params["assemblyId"] = values.get("assembly") or "GRCh38"
    if values.get("start"):
        params["start"] = values["start"]
    if values.get("end"):
        params["end"] = values["end"]
    if values.get("ref"):
        params["referenceBases"] = values["ref"].upper()
    if values.get("alt"):
        params["alternateBases"] = values["alt"].upper()
    if values.get("gene"):
        params["geneId"] = values["gene"]
    if values.get("start") and not values.get("reference"):
        errors["reference"] = "name the chromosome of the position (e.g. 1 or chr1)"
    filters = [f.strip().split(" ")[0] for f in values.get("filters", "").split(",") if f.strip()]
    if filters:
        params["filters"] = ",".join(filters)
    return entry, params, errors


def _passport(page: Page, user: str | None) -> tuple[str | None, str | None]:
    """The signed-in researcher's passport for the hub, or (None, why not)."""
    if user is None:
        return None, "not signed in: you see what anyone may see"
    try:
        return dac(page).passport(user).passport, None
    except GenomeshError as exc:
        return None, f"no passport ({exc.message}): you see what anyone may see"


def _records(body: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for rs in (body.get("response") or {}).get("resultSets") or []:
        info = rs.get("info") or {}
        for record in rs.get("results") or []:
            rows.append({"node": info.get("node"), "dataset": rs.get("id"), "id": record.get("id"),
                         "record": record})  # fmt: skip
    return rows


@router.get("/discover")
async def discover(page: PageDep) -> Response:
    params = page.request.query_params
    values = {k: params.get(k, "").strip() for k in (*CATALOGUE_FIELDS, *QUERY_FIELDS)}
    entries, cat_errors = await _catalogue(page, values)
    answer = None
    query_errors: dict[str, str] = {}
    note = None
    if params.get("ask"):
        entry, query, query_errors = _beacon_params(values)
        if not query_errors:
            user = signed_in(page)
            token, note = _passport(page, user)
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with page.api() as api:
                response = await api.get(f"/{entry}", params=query, headers=headers)
            body = response.json()
            if response.status_code != 200:
                message = (body.get("error") or {}).get("errorMessage", "the query failed")
                query_errors["filters" if "filter" in message else "form"] = message
            else:
                network = (body.get("info") or {}).get("network") or {}
                answer = {
                    "summary": body.get("responseSummary") or {},
                    "granularity": (body.get("meta") or {}).get("returnedGranularity"),
                    "nodes": network.get("nodes") or [],
                    "records": _records(body),
                    "records_total": sum(
                        int(rs.get("resultsCount") or 0)
                        for rs in (body.get("response") or {}).get("resultSets") or []
                        if rs.get("results")
                    ),
                }
    status = 400 if (cat_errors or query_errors) else 200
    return page.render(
        "hub/discover.html", status=status, values=values, entries=entries,
        errors={**cat_errors, **query_errors}, answer=answer, note=note,
        data_types=DATA_TYPES, granularities=GRANULARITIES, kinds=data_types,
        duo_options=duo_options(), register_path=register_path,
        **context(page),
    )  # fmt: skip


__all__ = ["data_types", "router"]
