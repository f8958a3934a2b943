"""Tell the flagging researcher, through their hub inbox, that the custodian reviewed their flag.

After the custodian accepts, declines, asks for confirmation of, or delivers a finding, the node
POSTs a notice to `{hub_url}/notifications`, authenticated as withdrawal notices are (the hub
secret, or the node's dial-out key: genomesh.participants.withdrawal.authenticated_for_hub):

    {"kind": "finding", "node", "finding": id, "state", "comment", "dataset_id",
     "category", "recipient": the researcher's passport subject, "at": ISO time}

The notice carries no participant id. The hub stores it in `dac_notifications` for the
researcher (genomesh.hub.dac.notifications.FindingNoticeIn). It is a courtesy: the review
stands whether or not the hub is reachable (the researcher can always ask the state through
`GET /dac/findings/{node}/{id}`), so a failure is logged and returned, never raised.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import httpx

from genomesh.core.hub_envelope import hub_reason
from genomesh.participants.withdrawal import authenticated_for_hub

log = logging.getLogger(__name__)
FINDING_NOTICE = "finding"


def notice_of(node: str, view: dict[str, Any]) -> dict[str, Any] | None:
    """The notice for a finding as the custodian's queue shows it (None: no researcher)."""
    sender = view.get("sender") or {}
    recipient = sender.get("subject") if isinstance(sender, dict) else None
    if not isinstance(recipient, str) or not recipient:
        return None
    history = view.get("history") or []
    last = history[-1] if history and isinstance(history[-1], dict) else {}
    state = str(view.get("state"))
    comment = "" if state == "delivered" else str(last.get("comment") or "")  # not the
    # custodian's note to the participant
    return {
        "kind": FINDING_NOTICE, "node": node, "finding": int(view["id"]), "state": state,
        "comment": comment[:4000], "dataset_id": str(view.get("dataset_id")),
        "category": str(view.get("category") or ""), "recipient": recipient,
        "at": datetime.now(UTC).isoformat(),
    }  # fmt: skip


def tell_hub(settings: Any, view: dict[str, Any], *, client: httpx.Client | None = None) -> str:
    """Send the notice for `view` to the hub; "delivered", "local_only", "none" or why not."""
    body = notice_of(settings.name, view)
    if body is None:
        return "none"
    if not settings.hub_url:
        return "local_only"
    payload, headers = authenticated_for_hub(settings, body)
    url = settings.hub_url.rstrip("/") + "/notifications"
    try:
        if client is not None:
            response = client.post(url, json=payload, headers=headers)
        else:
            with httpx.Client(timeout=10.0) as http:
                response = http.post(url, json=payload, headers=headers)
    except httpx.HTTPError as exc:
        log.warning("finding %s: telling the hub failed: %s", body["finding"], exc)
        return f"failed: {type(exc).__name__}"
    if response.status_code >= 300:
        reason = f"hub answered {response.status_code}: {hub_reason(response)}"
        log.warning("finding %s: %s", body["finding"], reason)
        return f"failed: {reason}"
    return "delivered"


__all__ = ["FINDING_NOTICE", "notice_of", "tell_hub"]
