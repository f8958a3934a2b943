"""Acting for the signed-in researcher against the hub's own API, in process.

The portal keeps the researcher's DAC session token in the server-side session (never in the
browser). For an analysis call it asks the DAC for a fresh passport (`GET /dac/passport`) and
sends that as the bearer; the passport lives only for the call and never reaches the browser,
a URL or a log line. API errors come back as `ApiError`, which keeps the field the API named
so a page can show the message next to the form field that caused it.
"""

from __future__ import annotations

import re
from typing import Any

from genomesh.core.errors import AuthenticationError, GenomeshError
from genomesh.web.pages import Page

DAC_TOKEN_KEY = "dac_token"  # where the account pages keep it (genomesh.web.hub.auth.TOKEN)


class ApiError(GenomeshError):
    """An error answer of the hub API (its status, message and field)."""

    def __init__(self, status: int, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.status = status

    @property
    def http_status(self) -> int:  # type: ignore[override]
        return self.status


def dac_token(page: Page) -> str:
    """The signed-in account's DAC session token (AuthenticationError when signed out)."""
    token = page.session.get(DAC_TOKEN_KEY)
    if not isinstance(token, str) or not token:
        raise AuthenticationError("sign in first: this page acts with your account")
    return token


def signed_in(page: Page) -> bool:
    """True while the DAC session behind the portal session is valid (genomesh.web.hub.auth)."""
    from genomesh.web.hub.auth import signed_in as username

    return username(page) is not None


_FIELD_PREFIX = re.compile(r"^field '([^']+)': (.*)$", re.DOTALL)


def _message(body: Any, status: int) -> tuple[str, str | None]:
    """(message, field) of an API error body: genomesh's `{"message", "field"}`, a Beacon
    `{"error": {"errorMessage"}}` (whose message starts "field 'x': " when it names one), or
    FastAPI's `{"detail": [...]}`."""
    text: Any = None
    field: Any = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            text = error.get("errorMessage")
        else:
            text, field = body.get("message") or body.get("detail"), body.get("field")
        if isinstance(text, list):  # FastAPI validation errors
            text = "; ".join(str(e.get("msg", e)) for e in text if isinstance(e, dict))
    if not isinstance(text, str) or not text:
        return f"the hub answered {status}", None
    named = _FIELD_PREFIX.match(text)
    if named:
        field = field or named.group(1)
        text = named.group(2)
    return text, field if isinstance(field, str) else None


async def call(
    page: Page,
    method: str,
    path: str,
    *,
    bearer: str | None = None,
    json: Any = None,
    params: dict[str, str] | None = None,
    raw: bool = False,
) -> Any:
    """One call of the hub's API as the researcher; the JSON body (or the text with `raw`)."""
    headers = {"Accept": "application/json"}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    async with page.api() as api:
        response = await api.request(method, path, headers=headers, json=json, params=params)
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = None
        message, field = _message(body, response.status_code)
        if response.status_code == 401 and path.startswith("/dac/"):
            page.session.pop(DAC_TOKEN_KEY, None)
            raise AuthenticationError("your session at the hub has ended: sign in again")
        raise ApiError(response.status_code, message, field=field)
    if raw:
        return response.text
    return response.json() if response.content else None


def account_context(page: Page) -> dict[str, Any]:
    """What the hub's page layout shows of the signed-in account (genomesh.web.hub.auth)."""
    from genomesh.web.hub.auth import context

    return context(page)


async def passport(page: Page, *, application: int | None = None) -> str:
    """A fresh passport of the signed-in researcher (all current visas, or one application's)."""
    params = {"application": str(application)} if application else None
    body = await call(page, "GET", "/dac/passport", bearer=dac_token(page), params=params)
    return str(body["passport"])


async def approved_applications(page: Page) -> list[dict[str, Any]]:
    """The researcher's approved applications (to choose which one an analysis runs under)."""
    body = await call(
        page, "GET", "/dac/applications", bearer=dac_token(page),
        params={"mine": "true", "state": "approved"},
    )  # fmt: skip
    return [a for a in body or [] if a.get("state") == "approved"]


__all__ = [
    "DAC_TOKEN_KEY",
    "ApiError",
    "account_context",
    "approved_applications",
    "call",
    "dac_token",
    "passport",
    "signed_in",
]
