"""The network's transparency report as a public page (no login).

It shows what the hub's `GET /transparency/{year}` returns, asked of the hub's own API in
process: for a year, how many requests to hand over participants' data the nodes received
from courts, governments, police and others, what each node decided, how many came with a
gag order and how many participants were disclosed; each node's own report or why it is
missing (a node that could not be asked is named, never counted as zero).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.responses import Response

from genomesh.core.errors import InvalidInputError
from genomesh.web.hub.auth import context
from genomesh.web.pages import PageDep, PageRouter

router = PageRouter()
KIND_WORDS = {"court": "Courts", "government": "Governments", "police": "Police",
              "other": "Others"}  # fmt: skip
DECISION_WORDS = {"pending": "not decided yet", "refused": "refused", "contested": "contested",
                  "partly_disclosed": "partly handed over", "disclosed": "handed over"}  # fmt: skip


@router.get("/transparency-report")
async def transparency_report(page: PageDep) -> Response:
    this_year = datetime.now(UTC).year
    text = page.request.query_params.get("year", "").strip() or str(this_year)
    values = {"year": text}
    if not (text.isdigit() and 1900 <= int(text) <= 9999):
        return page.render(
            "hub/transparency.html", status=400, values=values, report=None,
            errors={"year": "give the year as four digits, e.g. 2026"}, **_words(), **context(page),
        )  # fmt: skip
    async with page.api() as api:
        response = await api.get(f"/transparency/{int(text)}")
    if response.status_code != 200:
        raise InvalidInputError("the network's report could not be made now", field="year")
    report: dict[str, Any] = response.json()
    return page.render(
        "hub/transparency.html", values=values, report=report, **_words(), **context(page)
    )


def _words() -> dict[str, Any]:
    return {"kind_words": KIND_WORDS, "decision_words": DECISION_WORDS}


__all__ = ["router"]
