"""The public data-use register of a dataset, as a page (no login).

It shows what `GET /dac/data-use-register/{node}/{dataset}` returns, asked of the hub's own
API in process: every project approved to use the dataset with its lay summary, institution,
purpose in words (the DUO terms' labels), dates, how it was reviewed and the publications
reported back; and the communities whose data it holds, with their Local Contexts labels.
Participants can see here how their broad consent is used.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi.responses import Response

from genomesh.core.errors import InvalidInputError, NotFoundError
from genomesh.web.hub.auth import context
from genomesh.web.pages import Page, PageDep, PageRouter

router = PageRouter()


def register_path(node: str, dataset_id: str) -> str:
    """The portal page of a dataset's register."""
    return f"/data-use-register/{quote(node, safe='')}/{quote(dataset_id, safe='')}"


async def fetch_register(page: Page, node: str, dataset_id: str) -> dict[str, Any]:
    """The dataset's register from the hub's API, or the API's error as a genomesh error."""
    async with page.api() as api:
        response = await api.get(
            f"/dac/data-use-register/{quote(node, safe='')}/{quote(dataset_id, safe='')}"
        )
    if response.status_code == 200:
        body: dict[str, Any] = response.json()
        return body
    body = response.json()
    error = body.get("error")
    message = str(
        (error.get("errorMessage") if isinstance(error, dict) else body.get("message"))
        or "the register could not be read"
    )
    if response.status_code == 404:
        raise NotFoundError(message, field="dataset")
    raise InvalidInputError(message, field="dataset")


@router.get("/data-use-register/{node}/{dataset_id}")
async def data_use_register(page: PageDep, node: str, dataset_id: str) -> Response:
    register = await fetch_register(page, node, dataset_id)
    return page.render(
        "hub/data_use_register.html", register=register, **context(page),
    )  # fmt: skip


__all__ = ["fetch_register", "register_path", "router"]
