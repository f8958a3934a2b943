"""Set-up shared by the analysis and matchmaking page tests: an approved researcher.

`approved_researcher(fed)` registers `ana`, has the hub admin vouch for her, applies for
cohort1 with a health/medical purpose and has the committee member approve it, all through
the hub's API (these steps are the subject of other tests). `portal_cookie` signs her in to
the portal the way the login page does (her DAC session token in a server-side session).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from genomesh.web.sessions import COOKIE_NAME

RESEARCHER = ("ana", "Sequencing-Lab-Bench-88")
PURPOSE = {
    "category": "health_medical",
    "institution": "uni.example.org",
    "country": "NL",
    "ethics_approval": "METC-2026-031",
    "will_publish": True,
}
BMI = "LOINC:39156-5"


def approved_researcher(fed: Any, *, admin_password: str, member: tuple[str, str]) -> str:
    """Register, verify and approve `ana` for cohort1; her DAC session token."""
    hub = fed.hub_http
    admin = fed.login("admin", admin_password)
    made = hub.post("/dac/register", json={
        "username": RESEARCHER[0], "password": RESEARCHER[1], "full_name": "Ana Lyst",
        "email": "ana@uni.example.org", "institution": "uni.example.org", "country": "NL",
        "affiliation_role": "faculty", "accept_terms": True,
    })  # fmt: skip
    assert made.status_code == 201, made.text
    verified = hub.post(f"/dac/researchers/{RESEARCHER[0]}/verify", headers=admin, json={})
    assert verified.status_code == 200, verified.text
    ana = fed.login(*RESEARCHER)
    applied = hub.post("/dac/applications", headers=ana, json={
        "title": "BMI genetics", "datasets": [{"node": "nl-node", "dataset_id": "cohort1"}],
        "purpose": PURPOSE, "documents": [{"kind": "ethics", "reference": "METC-2026-031"}],
        "accepted_terms": True, "submit": True,
    })  # fmt: skip
    assert applied.status_code == 201, applied.text
    until = (datetime.now(UTC) + timedelta(days=90)).isoformat()
    decided = hub.post(
        f"/dac/applications/{applied.json()['id']}/decision", headers=fed.login(*member),
        json={"decision": "approve", "until": until, "comment": "fits the consent"},
    )  # fmt: skip
    assert decided.json()["state"] == "approved", decided.text
    return ana["Authorization"].removeprefix("Bearer ")


def portal_cookie(fed: Any, dac_token: str, username: str = RESEARCHER[0]) -> dict[str, str]:
    """A portal session holding the DAC token, as the login page leaves it."""
    store = fed.hub_app.state.portal.sessions
    session = store.load(None)
    session.set("dac_token", dac_token)
    session.set("dac_user", username)
    store.save(session)
    return {COOKIE_NAME: store.cookie_value(session)}


__all__ = ["BMI", "RESEARCHER", "approved_researcher", "portal_cookie"]
