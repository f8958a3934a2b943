"""QA findings F11, F12, F13, F15: ids out of range, the "node/id" dataset spelling,
purpose diseases, and dial-out dataset URLs, over real HTTP against the real hub app."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from genomesh.core.settings import HubSettings
from genomesh.hub.app import create_app
from genomesh.node.dialout import node_key, public_key_text
from tests.dac.conftest import ADMIN_PASSWORD, NODE_URL, free_port, login, serve

HUGE = "9" * 23  # larger than any SQL integer: was an OverflowError -> 500


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/dac/applications/{HUGE}", None),
        ("GET", f"/dac/applications/{HUGE}/events", None),
        ("PATCH", f"/dac/applications/{HUGE}", {"title": "x"}),
        ("POST", f"/dac/applications/{HUGE}/submit", None),
        ("POST", f"/dac/applications/{HUGE}/decision", {"decision": "reject", "comment": "x"}),
        ("POST", f"/dac/applications/{HUGE}/revoke", {"reason": "x"}),
        ("POST", f"/dac/applications/{HUGE}/renew", None),
        ("GET", "/dac/applications/0", None),
        ("GET", "/dac/applications/-1", None),
        ("GET", f"/dac/passport?application={HUGE}", None),
        ("GET", f"/passport?application={HUGE}", None),
    ],
)
def test_ids__out_of_range_is_400_naming_the_field(
    client: httpx.Client, method: str, path: str, body: dict[str, str] | None
) -> None:
    response = client.request(method, path, json=body, headers=login(client, "bob"))
    assert response.status_code == 400, response.text
    message = response.json()["error"]["errorMessage"]
    assert "application" in message and "Traceback" not in response.text


def test_apply__datasets_accept_node_slash_id_strings_and_urls(client: httpx.Client) -> None:
    alice = login(client, "alice")
    body = {
        "title": "string form",
        "datasets": ["n1/hmb1", f"{NODE_URL}/datasets/cancer1"],
        "purpose": {"category": "disease_specific", "diseases": ["ICD10:C50"]},
    }
    response = client.post("/dac/applications", json=body, headers=alice)
    assert response.status_code == 201, response.text
    assert set(response.json()["datasets"]) == {
        f"{NODE_URL}/datasets/hmb1",
        f"{NODE_URL}/datasets/cancer1",
    }
    bad = client.post("/dac/applications", json={**body, "datasets": ["no-slash"]}, headers=alice)
    assert bad.status_code == 400
    assert "NODE/DATASET_ID" in bad.json()["error"]["errorMessage"]


def test_apply__purpose_disease_that_is_not_a_curie_is_400_naming_it(
    client: httpx.Client,
) -> None:
    alice = login(client, "alice")
    before = client.get("/dac/applications", headers=alice).json()
    body = {
        "title": "typo",
        "datasets": [{"node": "n1", "dataset_id": "cancer1"}],
        "purpose": {"category": "disease_specific", "diseases": ["ICD10:C50", "garbage"]},
        "accepted_terms": True,
        "submit": True,
    }
    response = client.post("/dac/applications", json=body, headers=alice)
    assert response.status_code == 400, response.text
    message = response.json()["error"]["errorMessage"]
    assert "purpose.diseases[1]" in message and "'garbage'" in message
    assert client.get("/dac/applications", headers=alice).json() == before  # nothing stored

    draft = client.post(
        "/dac/applications", json={**body, "purpose": {"category": "general"}, "submit": False},
        headers=alice,
    ).json()  # fmt: skip
    edit = client.patch(
        f"/dac/applications/{draft['id']}",
        json={"purpose": {"category": "disease_specific", "diseases": ["C50 breast"]}},
        headers=alice,
    )
    assert edit.status_code == 400
    assert "purpose.diseases[0]" in edit.json()["error"]["errorMessage"]


def test_add_dataset__dial_out_node_defaults_to_the_hubs_dataset_url(tmp_path: Path) -> None:
    port = free_port()
    settings = HubSettings(
        hub_dir=tmp_path / "hub",
        admin_password=ADMIN_PASSWORD,
        catalogue_sync_seconds=0,
        base_url=f"http://127.0.0.1:{port}",
    )
    live = serve(create_app(settings), port=port)
    try:
        with httpx.Client(base_url=live.url, timeout=30) as client:
            token = (tmp_path / "hub" / "admin.token").read_text().strip()
            node = {
                "name": "au-rd",
                "base_url": "dial-out",
                "country": "AU",
                "public_key": public_key_text(node_key(tmp_path)),
            }
            added = client.post("/nodes", json=node, headers={"authorization": f"Bearer {token}"})
            assert added.status_code == 201, added.text
            admin = login(client, "admin")
            body = {"node": "au-rd", "dataset_id": "au-rd-epilepsy", "committee": "rare"}
            response = client.put("/dac/datasets", json=body, headers=admin)
            assert response.status_code == 200, response.text
            assert response.json()["url"] == f"{live.url}/nodes/au-rd/datasets/au-rd-epilepsy"

            unknown = client.put(
                "/dac/datasets", json={"node": "nowhere", "dataset_id": "x"}, headers=admin
            )
            assert unknown.status_code == 400
            assert "'nowhere' is not registered" in unknown.json()["error"]["errorMessage"]
    finally:
        live.stop()
