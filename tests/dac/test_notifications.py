"""Withdrawal notifications: only registered nodes may send them; recipients see their own."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from genomesh.hub.dac import DacService
from genomesh.hub.registry import NodeCreate
from genomesh.hub.signing import public_key_text, sign_message
from tests.dac.conftest import NODE_URL, login


def notice(service: DacService, *recipients: str, node: str = "n1") -> dict[str, Any]:
    return {
        "node": node,
        "dataset_id": "hmb1",
        "individual_pseudonym": "p-7f3a",
        "recipients": list(recipients) or [service.me("alice").subject],
        "withdrawn_at": "2026-11-23T07:00:00Z",
        "message": "participant p-7f3a withdrew consent; results computed before include them",
    }


def node_secret(client: httpx.Client, node: str = "n1") -> str:
    response = client.post(f"/dac/nodes/{node}/secret", headers=login(client, "admin"))
    assert response.status_code == 200, response.text
    return response.json()["secret"]


def test_notification__shared_secret_delivers_to_recipient_only(
    client: httpx.Client, service: DacService
) -> None:
    secret = node_secret(client)
    sent = client.post(
        "/notifications", json=notice(service), headers={"Authorization": f"Bearer {secret}"}
    )
    assert sent.status_code == 202, sent.text
    assert sent.json() == {"stored": 1}
    rows = client.get("/dac/me/notifications", headers=login(client, "alice")).json()
    assert [(r["node"], r["dataset_id"], r["individual_pseudonym"], r["read"]) for r in rows] == [
        ("n1", "hmb1", "p-7f3a", False)
    ]
    assert "withdrew consent" in rows[0]["message"]
    assert client.get("/dac/me/notifications", headers=login(client, "bob")).json() == []
    # the same notice again is not stored twice; mark_read marks it read
    client.post(
        "/dac/notifications", json=notice(service), headers={"Authorization": f"Bearer {secret}"}
    )
    alice = login(client, "alice")
    assert (
        len(client.get("/me/notifications", headers=alice, params={"mark_read": "true"}).json())
        == 1
    )
    assert (
        client.get("/dac/me/notifications", headers=alice, params={"unread": "true"}).json() == []
    )


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-secret"}, {"Authorization": "Basic abc"}],
)
def test_notification__without_valid_credentials_refused(
    client: httpx.Client, service: DacService, headers: dict[str, str]
) -> None:
    node_secret(client)
    response = client.post("/notifications", json=notice(service), headers=headers)
    assert response.status_code == 401
    assert client.get("/dac/me/notifications", headers=login(client, "alice")).json() == []


def test_notification__secret_of_another_node_refused(
    client: httpx.Client, service: DacService
) -> None:
    other = node_secret(client, "n2")
    response = client.post(
        "/notifications", json=notice(service), headers={"Authorization": f"Bearer {other}"}
    )
    assert response.status_code == 401
    assert "n1" in response.text


def test_notification__malformed_body_named(client: httpx.Client, service: DacService) -> None:
    secret = node_secret(client)
    body = notice(service)
    body["withdrawn_at"] = "yesterday"
    response = client.post(
        "/notifications", json=body, headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 400
    assert "withdrawn_at" in response.text


def test_notification__node_signature_checked(
    client: httpx.Client, service: DacService, hub_app
) -> None:
    key = Ed25519PrivateKey.generate()
    hub_app.state.store.add_node(
        NodeCreate(name="n1", base_url=NODE_URL, country="DE", public_key=public_key_text(key))
    )
    message = sign_message(notice(service), key, iss="n1", aud="hub")
    assert client.post("/notifications", json=message).status_code == 202
    replay = client.post("/notifications", json=message)
    assert replay.status_code == 401
    assert "replayed" in replay.text
    forged = sign_message(notice(service), Ed25519PrivateKey.generate(), iss="n1", aud="hub")
    assert client.post("/notifications", json=forged).status_code == 401
    tampered = sign_message(notice(service), key, iss="n1", aud="hub")
    tampered["payload"]["individual_pseudonym"] = "p-other"
    assert client.post("/notifications", json=tampered).status_code == 401
    unknown = sign_message(notice(service, node="n9"), key, iss="n9", aud="hub")
    assert client.post("/notifications", json=unknown).status_code == 401
    rows = client.get("/dac/me/notifications", headers=login(client, "alice")).json()
    assert [r["individual_pseudonym"] for r in rows] == ["p-7f3a"]
