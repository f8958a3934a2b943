"""Who is signed in to the hub's portal, through the DAC's own accounts and sessions.

Logging in calls the DAC (`DacService.login`, behind the same login throttle as
`POST /dac/login`); the DAC's bearer token is kept in the server-side portal session, never
in the browser. Every page asks the DAC whether that token is still valid, so a DAC logout,
password change or expiry ends the portal session too.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from genomesh.core.errors import AuthenticationError, GenomeshError
from genomesh.hub.dac.routes import get_service
from genomesh.hub.dac.schemas import AccountOut
from genomesh.hub.dac.service import DacService
from genomesh.web.hub.words import words_context
from genomesh.web.pages import Page

USER = "dac_user"
TOKEN = "dac_token"


def dac(page: Page) -> DacService:
    """The hub's DAC service."""
    return get_service(page.request)


def signed_in(page: Page) -> str | None:
    """The username of the signed-in account, or None (the DAC session ended: forgotten)."""
    token = page.session.get(TOKEN)
    if not token:
        return None
    try:
        return dac(page).authenticate(token)
    except AuthenticationError:
        page.session.pop(TOKEN)
        page.session.pop(USER)
        return None


def account(page: Page) -> AccountOut | None:
    user = signed_in(page)
    return dac(page).me(user) if user else None


def is_member(me: AccountOut | None) -> bool:
    """A DAC member of some dataset or committee (or the hub admin)."""
    return me is not None and (me.role == "admin" or bool(me.memberships))


def field_errors(exc: Exception, *, default: str = "form") -> dict[str, str]:
    """Errors keyed by form field, in words: a GenomeshError's `field`, or the fields of a
    pydantic ValidationError ("purpose.diseases[0]" -> "diseases")."""
    if isinstance(exc, ValidationError):
        out: dict[str, str] = {}
        for error in exc.errors():
            loc = [str(p) for p in error.get("loc", ()) if not isinstance(p, int)]
            name = loc[-1] if loc else default
            message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
            out.setdefault(name, message)
        return out
    if isinstance(exc, GenomeshError):
        field = (exc.field or default).split(".")[-1].split("[")[0]
        return {field: exc.message}
    return {default: "invalid input"}


def context(page: Page, **extra: Any) -> dict[str, Any]:
    """What the hub's templates expect besides their own values: the signed-in account."""
    me = account(page)
    return {"me": me, "member": is_member(me), **words_context(), **extra}


__all__ = ["TOKEN", "USER", "account", "context", "dac", "field_errors", "is_member", "signed_in"]
