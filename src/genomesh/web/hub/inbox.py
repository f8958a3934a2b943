"""The account inbox's match notices: what the hub's matchmaker told this account.

The hub records a notice per matched pair for both submitters, addressed to the contact's
`mailto:` e-mail (lower-cased, `genomesh.hub.matchmaker.store.recipient_of`). The portal reads
the hub's matchmaker store in process and picks the account's notices by the same rule as
`GET /match/notifications` for a hub account: recipient `mailto:<its e-mail>`. A hub without
the matchmaker (or an account without an e-mail) has no match notices.
"""

from __future__ import annotations

from typing import Any

from genomesh.web.pages import Page


def _store(app: Any) -> Any:
    try:
        from genomesh.hub.matchmaker.routes import matchmaker_store
    except ImportError:
        return None
    return matchmaker_store(app)


def match_notices(page: Page, email: str | None) -> list[dict[str, Any]]:
    """The account's match notices, newest first, each with its pair's score."""
    if not email:
        return []
    store = _store(page.request.app)
    if store is None:
        return []
    notices = store.notifications(recipients=[f"mailto:{email.strip().lower()}"])
    if not notices:
        return []
    scores = {pair["id"]: pair["score"] for pair in store.matches()}
    return [{**n, "score": scores.get(n["match"])} for n in notices]


__all__ = ["match_notices"]
