"""Withdrawal notices reach the researcher through the real hub (DAC `/notifications`)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from genomesh.access.keys import KeyStore
from genomesh.core.settings import HubSettings
from genomesh.gate import Gate, GateRequest
from genomesh.participants.withdrawal import withdraw
from tests.gate.conftest import carriers_at, researcher

ADMIN = "Hub-Operator-7731!"
ALICE = "Wonderland-Research-42"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A live hub with the DAC; yields (url, alice's passport subject)."""
    from genomesh.hub.app import create_app
    from genomesh.hub.dac import DacService

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    url = f"http://127.0.0.1:{port}"
    settings = HubSettings(
        hub_dir=tmp_path / "hub",
        admin_password=ADMIN,
        base_url=url,
        issuer=url,
        catalogue_sync_seconds=0,
    )
    service = DacService(settings, keys=KeyStore.ephemeral())
    service.register(username="alice", password=ALICE, institution="uni.example.org", country="DE")
    app = create_app(settings)
    app.state.dac = service
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "hub did not start"
        time.sleep(0.02)
    try:
        yield url, str(service.me("alice").subject)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _login(client: httpx.Client, user: str, password: str) -> dict[str, str]:
    r = client.post("/dac/login", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_withdrawal__notice_reaches_the_researcher_at_the_hub(
    hub: tuple[str, str], make_gate: Callable[..., Gate]
) -> None:
    url, alice = hub
    with httpx.Client(base_url=url, timeout=30) as client:
        r = client.post("/dac/nodes/gate-test-node/secret", headers=_login(client, "admin", ADMIN))
        assert r.status_code == 200, r.text
        gate = make_gate(hub_url=url, hub_secret=r.json()["secret"])
        request = GateRequest(researcher(alice), "beacon", "g_variants", {}, ("cohort",), "count")
        gate.run(request, carriers_at(gate.node, 200))

        report = withdraw(
            gate.state,
            settings=gate.settings,
            node=gate.node,
            dataset_id="cohort",
            individual_id="S1",
        )
        assert report.hub_delivery == "delivered", report.hub_detail

        notes = client.get("/dac/me/notifications", headers=_login(client, "alice", ALICE)).json()
        assert [(n["node"], n["dataset_id"], n["individual_pseudonym"]) for n in notes] == [
            ("gate-test-node", "cohort", report.individual_pseudonym)
        ]


def test_withdrawal__hub_refuses_a_node_without_credentials(
    hub: tuple[str, str], make_gate: Callable[..., Gate]
) -> None:
    url, alice = hub
    gate = make_gate(hub_url=url)
    gate.run(
        GateRequest(researcher(alice), "beacon", "g_variants", {}, ("cohort",), "count"),
        carriers_at(gate.node, 200),
    )
    report = withdraw(
        gate.state, settings=gate.settings, node=gate.node, dataset_id="cohort", individual_id="S1"
    )
    assert report.hub_delivery == "failed" and "401" in (report.hub_detail or "")
    assert [n.delivery for n in gate.state.notifications()] == ["failed"]


def test_withdrawal__signed_with_the_node_dialout_key_when_no_secret(
    node_dir: Path, tmp_path: Path
) -> None:
    import json
    import shutil

    from genomesh.core.settings import NodeSettings
    from genomesh.hub.signing import NonceCache, load_or_create_key, verify_message
    from genomesh.node.state import NodeState
    from genomesh.store import open_node

    copy = tmp_path / "node"
    shutil.copytree(node_dir, copy)
    key = load_or_create_key(copy, name="dialout_ed25519.pem")
    settings = NodeSettings.load(copy, hub_url="http://hub.test")
    sent: list[dict] = []  # type: ignore[type-arg]

    def handle(request: httpx.Request) -> httpx.Response:
        assert "authorization" not in request.headers
        sent.append(json.loads(request.content))
        return httpx.Response(202, json={"stored": 1})

    with NodeState.open(settings) as state:
        gate = Gate(settings=settings, node=open_node(copy), state=state)
        gate.run(
            GateRequest(researcher("alice"), "beacon", "g_variants", {}, ("cohort",), "count"),
            carriers_at(gate.node, 200),
        )
        http = httpx.Client(transport=httpx.MockTransport(handle))
        report = withdraw(
            state,
            settings=settings,
            node=gate.node,
            dataset_id="cohort",
            individual_id="S1",
            http_client=http,
        )
    assert report.hub_delivery == "delivered"
    payload = verify_message(
        sent[0],
        key.public_key(),
        iss="gate-test-node",
        aud="hub",
        nonces=NonceCache(60),
        max_skew=60,
    )
    assert payload["recipients"] == ["alice"] and payload["dataset_id"] == "cohort"


def test_withdrawal__failed_delivery_names_the_hubs_reason(
    hub: tuple[str, str], make_gate: Callable[..., Gate]
) -> None:
    # The hub's error body starts with ~300 characters of Beacon `meta`; the operator must see
    # the hub's errorMessage (why it refused), not a truncated JSON prefix.
    url, alice = hub
    gate = make_gate(hub_url=url)
    gate.run(
        GateRequest(researcher(alice), "beacon", "g_variants", {}, ("cohort",), "count"),
        carriers_at(gate.node, 200),
    )
    report = withdraw(
        gate.state, settings=gate.settings, node=gate.node, dataset_id="cohort", individual_id="S1"
    )
    body = {
        "node": gate.settings.name,
        "dataset_id": "cohort",
        "individual_pseudonym": report.individual_pseudonym,
        "recipients": [alice],
        "withdrawn_at": "2026-11-23T07:00:00+00:00",
        "message": "x",
    }
    reason = httpx.post(f"{url}/notifications", json=body).json()["error"]["errorMessage"]
    detail = report.hub_detail or ""
    assert detail.startswith("hub answered 401: ") and reason in detail
    assert '"meta"' not in detail
    assert [n.delivery_detail for n in gate.state.notifications()] == [detail]


def test_cli_withdraw__says_notified_only_when_the_hub_got_it(
    hub: tuple[str, str], node_dir: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    """Issue 10: with the hub refusing the notice (401) the table still said "earlier
    recipients (notified)" and the command exited 0."""
    import shutil

    from genomesh.cli.main import main
    from genomesh.core.settings import NodeSettings
    from genomesh.node.state import NodeState
    from genomesh.store import open_node

    url, alice = hub
    node = tmp_path / "node"
    shutil.copytree(node_dir, node)
    monkeypatch.setenv("GENOMESH_HUB_URL", url)
    settings = NodeSettings.load(node)
    with NodeState.open(settings) as state:
        gate = Gate(settings=settings, node=open_node(node), state=state)
        request = GateRequest(researcher(alice), "beacon", "g_variants", {}, ("cohort",), "count")
        gate.run(request, carriers_at(gate.node, 200))

    argv = ["node", "withdraw", str(node), "--dataset", "cohort"]
    assert main([*argv, "--individual", "S1"]) == 8
    out, err = capsys.readouterr()
    assert "(NOT notified)" in out and "(notified" not in out
    assert "hub answered 401" in err and f"genomesh node notifications {node} --retry" in err

    with httpx.Client(base_url=url, timeout=30) as client:
        r = client.post("/dac/nodes/gate-test-node/secret", headers=_login(client, "admin", ADMIN))
    monkeypatch.setenv("GENOMESH_HUB_SECRET", r.json()["secret"])
    assert main([*argv, "--individual", "S2"]) == 0
    out, err = capsys.readouterr()
    assert "earlier recipients (notified through the hub)" in out and not err


def test_cli_finding_review__tells_the_researcher_through_the_hub(
    hub: tuple[str, str], node_dir: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    """The custodian's CLI review reaches the flagging researcher's inbox, as the API's does
    (it used to record the decision only)."""
    import shutil

    from genomesh.cli.main import main
    from genomesh.core.consent import FindingsPreferences
    from genomesh.core.findings import FindingFlag, FindingSender
    from genomesh.core.settings import NodeSettings
    from genomesh.node.state import NodeState
    from genomesh.participants.findings import Findings

    url, alice = hub
    node = tmp_path / "node"
    shutil.copytree(node_dir, node)
    with httpx.Client(base_url=url, timeout=30) as client:
        r = client.post("/dac/nodes/gate-test-node/secret", headers=_login(client, "admin", ADMIN))
        monkeypatch.setenv("GENOMESH_HUB_URL", url)
        monkeypatch.setenv("GENOMESH_HUB_SECRET", r.json()["secret"])
        with NodeState.open(NodeSettings.load(node)) as state:
            queue = Findings(state, custodian_contact="data office", genetic_counselling="yes")
            prefs = FindingsPreferences(categories=("carrier_status",), via="custodian")
            queue.set_preferences("S1", prefs, set_by="custodian", datasets=["cohort"])
            flag = FindingFlag(
                dataset_id="cohort", individual_id="S1", category="carrier_status",
                summary="CFTR carrier",
            )  # type: ignore[arg-type]  # fmt: skip
            sender = FindingSender(
                subject=alice, username="alice", institution="uni", application=1
            )
            fid = queue.flag(flag, sender, individuals=frozenset({"S1"}), withdrawn=False)["id"]

        argv = ["node", "finding-review", str(node), str(fid), "--decision", "decline"]
        assert main([*argv, "--comment", "not confirmed in an accredited lab"]) == 0
        out, err = capsys.readouterr()
        assert "declined" in out and "told in their hub inbox" in out and not err

        notes = client.get("/dac/me/notifications", headers=_login(client, "alice", ALICE)).json()
    [note] = [n for n in notes if n.get("kind") == "finding"]
    assert note["node"] == "gate-test-node" and "accredited lab" in str(note)
