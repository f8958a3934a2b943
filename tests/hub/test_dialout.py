"""Dial-out nodes: answer like push nodes; forged and replayed messages are refused."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from genomesh.core.errors import AuthenticationError
from genomesh.hub.signing import (
    b64url,
    canonical_json,
    load_or_create_key,
    public_key_text,
    sign_message,
)
from genomesh.node.dialout import DialoutClient, node_key, parse_public_key
from genomesh.node.dialout import public_key_text as node_public_key_text
from tests.hub.conftest import RunningHub, start_hub
from tests.hub.standin import serving, standin_app


def _client(hub: RunningHub, node_dir: Path, name: str, app: Any) -> DialoutClient:
    hub_key = public_key_text(load_or_create_key(hub.hub_dir))
    return DialoutClient(
        app,
        hub_url=hub.url,
        name=name,
        key=node_key(node_dir),
        hub_key=parse_public_key(hub_key),
        poll_seconds=2.0,
    )


@contextmanager
def dialing_out(client: DialoutClient) -> Iterator[DialoutClient]:
    """Run the dial-out loop in a thread until the block ends."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    connected = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(client.run(stop=stop, on_connect=connected.set))
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert connected.wait(15), "dial-out node never reached the hub"
    try:
        yield client
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)


def test_dialout__node_answers_like_a_push_node(hub: RunningHub, tmp_path: Path) -> None:
    client = _client(hub, tmp_path, "au-dial", standin_app("twin"))
    hub.register("au-dial", "dial-out", "AU", public_key=node_public_key_text(client.key))
    with serving(standin_app("twin")) as push, dialing_out(client):
        hub.register("nl-push", push.url, "NL")
        with hub.client() as http:
            # the dial-out node's first poll may still be in flight: allow one poll cycle
            body = http.get("/g_variants", params={"referenceName": "22", "start": "1"}).json()
            nodes = http.get("/nodes").json()
            # connecting made the hub sync the dial-out node's catalogue (no explicit sync)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                catalogue = http.get("/catalogue", params={"country": "AU"}).json()
                if catalogue["count"]:
                    break
                time.sleep(0.1)
    reports = {n["node"]: n for n in body["info"]["network"]["nodes"]}
    assert reports["au-dial"]["status"] == "ok", reports["au-dial"]
    assert reports["nl-push"]["status"] == "ok"
    assert reports["au-dial"]["dialOut"] is True
    same = ("beaconId", "status", "returnedGranularity", "exists", "numTotalResults", "httpStatus")
    assert {k: reports["au-dial"][k] for k in same} == {k: reports["nl-push"][k] for k in same}
    sets = sorted((rs["info"]["node"], rs["id"]) for rs in body["response"]["resultSets"])
    assert sets == [("au-dial", "twin-ds1"), ("nl-push", "twin-ds1")]
    assert body["responseSummary"]["numTotalResults"] == 14
    assert [(d["node"], d["datasetId"]) for d in catalogue["datasets"]] == [("au-dial", "twin-ds1")]
    assert client.executed >= 1 and client.refused == 0
    assert {n["name"]: n["info"]["connected"] for n in nodes if n["dial_out"]} == {"au-dial": True}


def test_dialout__disconnected_node_is_an_error_without_waiting(
    hub: RunningHub, tmp_path: Path
) -> None:
    key = node_key(tmp_path)
    hub.register("quiet", "dial-out", "AU", public_key=node_public_key_text(key))
    with hub.client() as http:
        body = http.get("/individuals").json()
    [report] = body["info"]["network"]["nodes"]
    # "error: not connected", not "timeout": the hub did not queue the request and wait out
    # the node timeout for a node that is not polling
    assert report["status"] == "error"
    assert "not connected" in report["reason"]


def _hub_request(hub_key: Ed25519PrivateKey, aud: str) -> dict[str, Any]:
    wire = {"method": "GET", "path": "/info", "params": [], "body": None, "authorization": None}
    return sign_message(
        {"type": "request", "id": "r1", "request": wire}, hub_key, iss="hub", aud=aud
    )


def test_dialout__forged_and_replayed_hub_messages_are_refused(tmp_path: Path) -> None:
    hub_key = Ed25519PrivateKey.generate()
    client = DialoutClient(
        standin_app("n"),
        hub_url="http://127.0.0.1:9",
        name="n",
        key=node_key(tmp_path),
        hub_key=hub_key.public_key(),
    )
    genuine = _hub_request(hub_key, "n")
    forged = _hub_request(Ed25519PrivateKey.generate(), "n")
    tampered = {**genuine, "payload": {**genuine["payload"], "id": "r2"}}
    misaddressed = _hub_request(hub_key, "other-node")

    with pytest.raises(AuthenticationError, match="bad signature"):
        client.verify(forged)
    with pytest.raises(AuthenticationError, match="bad signature"):
        client.verify(tampered)
    with pytest.raises(AuthenticationError, match="not from the hub to this node"):
        client.verify(misaddressed)
    assert client.verify(genuine)["id"] == "r1"
    with pytest.raises(AuthenticationError, match="replayed"):
        client.verify(genuine)

    old = sign_message({"type": "request", "id": "r3", "request": {}}, hub_key, iss="hub", aud="n")
    old["payload"]["iat"] -= 3600
    old["sig"] = b64url(hub_key.sign(canonical_json(old["payload"])))
    with pytest.raises(AuthenticationError, match="outside the allowed window"):
        client.verify(old)

    async def run_handle() -> list[Any]:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=client.node_app), base_url="http://n"
        ) as node:
            return [
                await client.handle(node, m) for m in (forged, genuine, _hub_request(hub_key, "n"))
            ]

    results = asyncio.run(run_handle())
    assert results[0] is None and results[1] is None  # forged, replayed: never executed
    assert results[2] is not None and results[2]["payload"]["status"] == 200
    assert client.executed == 1


def test_dialout__hub_refuses_forged_and_replayed_node_messages(
    hub: RunningHub, tmp_path: Path
) -> None:
    key = node_key(tmp_path)
    hub.register("dn", "dial-out", "AU", public_key=node_public_key_text(key))
    client = DialoutClient(
        standin_app("dn"), hub_url=hub.url, name="dn", key=key, hub_key=key.public_key()
    )
    impostor = DialoutClient(
        standin_app("dn"),
        hub_url=hub.url,
        name="dn",
        key=Ed25519PrivateKey.generate(),
        hub_key=key.public_key(),
    )
    with hub.client() as http:
        forged = http.post("/dialout/poll", json=impostor.sign({"type": "poll", "wait": 0}))
        poll = client.sign({"type": "poll", "wait": 0})
        first = http.post("/dialout/poll", json=poll)
        replay = http.post("/dialout/poll", json=poll)
        answer = client.sign({"type": "answer", "id": "nope", "status": 200, "body": {}})
        ok_answer = http.post("/dialout/answer", json=answer)
        replayed_answer = http.post("/dialout/answer", json=answer)
        unknown = http.post(
            "/dialout/poll",
            json=DialoutClient(
                standin_app("x"), hub_url=hub.url, name="ghost", key=key, hub_key=key.public_key()
            ).sign({"type": "poll", "wait": 0}),
        )
    assert forged.status_code == 401 and "bad signature" in forged.text
    assert first.status_code == 200 and first.json() == {"messages": []}
    assert replay.status_code == 401 and "replayed" in replay.text
    assert ok_answer.status_code == 200
    assert replayed_answer.status_code == 401
    assert unknown.status_code == 401 and "unknown node" in unknown.text


def test_dialout__node_that_hangs_up_is_reported_at_once(tmp_path: Path) -> None:
    """A node that closes its poll is "not connected" as soon as the hub sees the hang-up.

    The hub here keeps a node that merely stopped polling "connected" for its poll time plus
    5 s (35 s), so the node showing as disconnected well before that, and the next query
    being an error rather than a timeout, come from noticing the hang-up itself."""
    hub = start_hub(tmp_path, dialout_poll_seconds=30.0)
    try:
        client = _client(hub, tmp_path, "leaver", standin_app("leaver"))
        hub.register("leaver", "dial-out", "AU", public_key=node_public_key_text(client.key))
        with dialing_out(client), hub.client() as http:
            assert http.get("/individuals").json()["info"]["network"]["nodes"][0]["status"] == "ok"
        with hub.client() as http:
            # a wait for the hub to see the closed poll (checked every 0.5 s), well inside 35 s
            deadline = time.monotonic() + 15
            while _connected(http, "leaver") and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not _connected(http, "leaver"), "the hub never noticed the hang-up"
            [report] = http.get("/individuals").json()["info"]["network"]["nodes"]
    finally:
        hub.server.stop()
    assert report["status"] == "error" and "not connected" in report["reason"]


def _connected(http: httpx.Client, name: str) -> bool:
    return bool({n["name"]: n for n in http.get("/nodes").json()}[name]["info"]["connected"])


def test_dialout__large_answer_travels_in_signed_parts(
    hub: RunningHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # parts of 200 characters: the Beacon answer (about 1 kB) needs several; the hub
    # joins them and the answer equals a push node's
    monkeypatch.setattr("genomesh.node.dialout.ANSWER_PART_BYTES", 200)
    client = _client(hub, tmp_path, "au-parts", standin_app("twin"))
    hub.register("au-parts", "dial-out", "AU", public_key=node_public_key_text(client.key))
    sent: list[int] = []
    parts = client.parts
    monkeypatch.setattr(client, "parts", lambda answer: sent.append(len(p := parts(answer))) or p)
    with serving(standin_app("twin")) as push, dialing_out(client):
        hub.register("nl-twin", push.url, "NL")
        with hub.client() as http:
            body = http.get("/g_variants", params={"referenceName": "22", "start": "1"}).json()
    reports = {n["node"]: n for n in body["info"]["network"]["nodes"]}
    assert reports["au-parts"]["status"] == "ok", reports["au-parts"]
    same = ("status", "exists", "numTotalResults", "httpStatus")
    assert {k: reports["au-parts"][k] for k in same} == {k: reports["nl-twin"][k] for k in same}
    assert max(sent) > 2  # the answer really went in parts
