"""Applications over real HTTP: pre-check, decisions, history, changes, revocation, expiry, renewal."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from genomesh.hub.dac import DacService
from tests.dac.conftest import DS_URL, HMB_URL, login

HMB_PURPOSE = {"category": "health_medical", "ethics_approval": "EC-2026-17"}
BREAST_CANCER = "ICD10:C50.9"  # a subtype of the consented ICD10:C50 (breast cancer)


def apply(client: httpx.Client, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    body = {
        "title": "Heart failure genetics",
        "summary": "GWAS of heart failure",
        "datasets": [{"node": "n1", "dataset_id": "hmb1"}],
        "purpose": HMB_PURPOSE,
        "documents": [{"kind": "ethics", "reference": "EC-2026-17"}],
        "accepted_terms": True,
        "submit": True,
    }
    body.update(overrides)
    response = client.post("/dac/applications", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def decide(
    client: httpx.Client, headers: dict[str, str], app_id: int, **body: Any
) -> httpx.Response:
    return client.post(f"/dac/applications/{app_id}/decision", json=body, headers=headers)


def test_apply__precheck_approves_hmb_purpose_on_hmb_dataset(client: httpx.Client) -> None:
    app = apply(client, login(client, "alice"))
    assert app["state"] == "submitted"
    assert app["precheck"]["decision"] == "approve"
    (result,) = app["precheck"]["datasets"]
    assert result["dataset"] == HMB_URL
    assert result["reasons"] and all(r["reason"] for r in result["reasons"])
    assert app["purpose"]["user_id"] == "alice"  # filled from the account
    assert app["purpose"]["institution"] == "uni.example.org"


def test_apply__precheck_denies_ancestry_purpose_on_hmb_dataset(client: httpx.Client) -> None:
    app = apply(client, login(client, "alice"), purpose={"category": "population_ancestry"})
    assert app["precheck"]["decision"] == "deny"
    reasons = app["precheck"]["datasets"][0]["reasons"]
    assert any(r["decision"] == "deny" for r in reasons)


def test_apply__precheck_per_dataset_disease_hierarchy(client: httpx.Client) -> None:
    alice = login(client, "alice")
    app = apply(
        client, alice,
        datasets=[{"url": DS_URL}, {"url": HMB_URL}],
        purpose={"category": "disease_specific", "diseases": [BREAST_CANCER]},
    )  # fmt: skip
    by_url = {r["dataset"]: r["decision"] for r in app["precheck"]["datasets"]}
    assert by_url == {DS_URL: "approve", HMB_URL: "approve"}
    other = apply(
        client, alice, datasets=[{"url": DS_URL}],
        purpose={"category": "disease_specific", "diseases": ["ICD10:E11"]},  # type 2 diabetes
    )  # fmt: skip
    assert other["precheck"]["decision"] == "deny"


def test_apply__bad_input_changes_nothing(client: httpx.Client) -> None:
    alice = login(client, "alice")
    unknown = client.post(
        "/dac/applications", headers=alice,
        json={"title": "x", "datasets": [{"node": "n1", "dataset_id": "nope"}], "purpose": HMB_PURPOSE},
    )  # fmt: skip
    assert unknown.status_code == 404
    assert "unknown dataset n1/nope" in unknown.text
    bad_purpose = client.post(
        "/dac/applications", headers=alice,
        json={"title": "x", "datasets": [{"url": HMB_URL}], "purpose": {"category": "fun"}},
    )  # fmt: skip
    assert bad_purpose.status_code == 400
    no_terms = client.post(
        "/dac/applications", headers=alice,
        json={"title": "x", "datasets": [{"url": HMB_URL}], "purpose": HMB_PURPOSE, "submit": True},
    )  # fmt: skip
    assert no_terms.status_code == 400
    assert "accept the datasets' terms" in no_terms.text
    assert client.get("/dac/applications", headers=alice).json() == []


def test_decide__only_dac_members_of_the_dataset(client: httpx.Client) -> None:
    app = apply(client, login(client, "alice"))
    until = (date.today() + timedelta(days=30)).isoformat()
    carol = login(client, "carol")
    refused = decide(client, carol, app["id"], decision="approve", until=until)
    assert refused.status_code in (403, 404)
    admin = decide(client, login(client, "admin"), app["id"], decision="approve", until=until)
    assert admin.status_code == 403  # hub admins are not committee members
    own = decide(client, login(client, "alice"), app["id"], decision="approve", until=until)
    assert own.status_code == 403
    assert client.get(f"/dac/applications/{app['id']}", headers=carol).status_code == 404


def test_decide__approve_needs_future_end_reject_needs_reason(client: httpx.Client) -> None:
    app = apply(client, login(client, "alice"))
    bob = login(client, "bob")
    no_end = decide(client, bob, app["id"], decision="approve")
    assert no_end.status_code == 400
    assert "end date" in no_end.text
    past = decide(client, bob, app["id"], decision="approve", until="2020-01-01")
    assert past.status_code == 400
    no_reason = decide(client, bob, app["id"], decision="reject")
    assert no_reason.status_code == 400
    rejected = decide(
        client, bob, app["id"], decision="reject", comment="no ethics approval attached"
    )
    assert rejected.json()["state"] == "rejected"
    again = decide(client, bob, app["id"], decision="approve", until="2099-01-01")
    assert again.status_code == 409


def test_changes_requested__edit_and_resubmit_with_full_history(client: httpx.Client) -> None:
    alice, bob = login(client, "alice"), login(client, "bob")
    app = apply(client, alice, purpose={"category": "health_medical"})
    asked = decide(
        client, bob, app["id"], decision="request_changes", comment="add the ethics reference"
    )
    assert asked.json()["state"] == "changes_requested"
    edited = client.patch(
        f"/dac/applications/{app['id']}", headers=alice, json={"purpose": HMB_PURPOSE}
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["purpose"]["ethics_approval"] == "EC-2026-17"
    resubmitted = client.post(
        f"/dac/applications/{app['id']}/submit", headers=alice, json={"comment": "added"}
    )
    assert resubmitted.json()["state"] == "submitted"
    approved = decide(client, bob, app["id"], decision="approve", until="2099-12-31", comment="ok")
    assert approved.json()["state"] == "approved"
    events = client.get(f"/dac/applications/{app['id']}/events", headers=alice).json()
    assert [(e["actor"], e["action"], e["to_state"]) for e in events] == [
        ("alice", "create", "draft"),
        ("alice", "submit", "submitted"),
        ("bob", "request_changes", "changes_requested"),
        ("alice", "edit", "changes_requested"),
        ("alice", "submit", "submitted"),
        ("bob", "approve", "approved"),
    ]
    assert events[2]["comment"] == "add the ethics reference"
    assert events[-1]["data"]["until"].startswith("2099-12-31T23:59:59")
    not_editable = client.patch(
        f"/dac/applications/{app['id']}", headers=alice, json={"title": "new"}
    )
    assert not_editable.status_code == 409


def test_approve__grants_visas_and_revoke_lists_them(
    client: httpx.Client, service: DacService
) -> None:
    alice, bob = login(client, "alice"), login(client, "bob")
    app = apply(client, alice)
    approved = decide(client, bob, app["id"], decision="approve", until="2099-12-31").json()
    types = sorted(v["type"] for v in approved["visas"])
    assert types == sorted([
        "AcceptedTermsAndPolicies", "AffiliationAndRole", "ControlledAccessGrants",
        "ResearcherStatus", "genomesh.ResearchPurpose",
    ])  # fmt: skip
    grant = next(v for v in approved["visas"] if v["type"] == "ControlledAccessGrants")
    assert grant["value"] == HMB_URL
    no_reason = client.post(f"/dac/applications/{app['id']}/revoke", headers=bob, json={})
    assert no_reason.status_code == 400
    by_applicant = client.post(
        f"/dac/applications/{app['id']}/revoke", headers=alice, json={"reason": "x"}
    )
    assert by_applicant.status_code == 403
    revoked = client.post(
        f"/dac/applications/{app['id']}/revoke", headers=bob, json={"reason": "misuse reported"}
    ).json()
    assert revoked["state"] == "revoked"
    assert all(v["revoked"] for v in revoked["visas"])
    assert {v["jti"] for v in revoked["visas"]} <= service.revocations.revoked()


def test_expiry__approved_application_expires_and_can_be_renewed(
    client: httpx.Client, clock
) -> None:
    alice, bob = login(client, "alice"), login(client, "bob")
    app = apply(client, alice)
    until = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    decide(client, bob, app["id"], decision="approve", until=until)
    clock.advance(timedelta(days=3))
    alice, bob = login(client, "alice"), login(client, "bob")  # sessions of 12 h ended too
    shown = client.get(f"/dac/applications/{app['id']}", headers=alice).json()
    assert shown["state"] == "expired"
    assert shown["events"][-1]["actor"] == "system"
    renewal = client.post(
        f"/dac/applications/{app['id']}/renew", headers=alice, json={"comment": "year 2"}
    )
    assert renewal.status_code == 201, renewal.text
    body = renewal.json()
    assert body["renewal_of"] == app["id"]
    assert body["state"] == "submitted"
    assert body["precheck"]["decision"] == "approve"
    assert body["datasets"] == [HMB_URL]


def test_list__scoped_to_what_the_caller_may_see(client: httpx.Client) -> None:
    alice = login(client, "alice")
    apply(client, alice)
    apply(
        client,
        alice,
        datasets=[{"url": DS_URL}],
        purpose={"category": "disease_specific", "diseases": [BREAST_CANCER]},
    )
    assert len(client.get("/dac/applications", headers=alice).json()) == 2
    assert len(client.get("/dac/applications", headers=login(client, "bob")).json()) == 2
    assert client.get("/dac/applications", headers=login(client, "carol")).json() == []
    assert len(client.get("/dac/applications", headers=login(client, "admin")).json()) == 2
    submitted = client.get("/dac/applications", headers=alice, params={"state": "approved"}).json()
    assert submitted == []


@pytest.mark.parametrize("path", ["/dac/applications/999", "/dac/applications/999/events"])
def test_unknown_application__404(client: httpx.Client, path: str) -> None:
    response = client.get(path, headers=login(client, "alice"))
    assert response.status_code == 404
    assert "no application 999" in response.text
