"""A real hub and three real nodes on loopback for the hub's /match, plus stand-in MME peers.

Nodes: `mm-a` (push) and `mm-c` (dial-out) opted in to hub matches (peer `hub`), `mm-b`
(push) did not. Each holds a third of the MME benchmark patients as real (not test)
patients, each node's with its own contact address. External matchmakers are small FastAPI
apps (outside the system, so stand-ins): one that answers, one that sleeps past the hub's
time limit (registered only while a test waits for it); a third peer's URL has nothing
listening.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from genomesh.core.settings import HubSettings, NodeSettings
from genomesh.hub.signing import load_or_create_key, public_key_text
from genomesh.matchmaker.registry import CONSENT_STATEMENT, MatchmakerRegistry
from genomesh.node.dialout import DialoutClient, node_key, pinned_hub_key
from genomesh.node.dialout import public_key_text as node_public_key_text
from genomesh.store import ingest_dataset, init_node
from tests.dac.conftest import LiveServer, free_port, serve
from tests.matchmaker.conftest import MME, NO_START, _vcf, benchmark

NODES = ("mm-a", "mm-b", "mm-c")
DIAL_OUT = "mm-c"
OPTED_IN = ("mm-a", "mm-c")
ADMIN = {"Authorization": "Bearer admin-token-for-tests"}
PEER_TOKEN = "token-the-external-peer-issued-to-the-hub"
EXTERNAL_PATIENT = {
    "id": "EXT-1",
    "contact": {"name": "Dr Ext", "href": "mailto:ext@peer.example", "institution": "Peer MM"},
    "features": [{"id": "HP:0001250", "observed": "yes"}],
}


def contact_of(node: str) -> dict[str, str]:
    return {"name": f"Genetics {node}", "href": f"mailto:genetics@{node}.example"}


def node_patients() -> dict[str, list[dict[str, Any]]]:
    """The valid benchmark patients, real (not test), dealt round-robin to the nodes."""
    valid = [p for p in benchmark() if p["id"] not in NO_START]
    out: dict[str, list[dict[str, Any]]] = {n: [] for n in NODES}
    for i, patient in enumerate(valid):
        node = NODES[i % len(NODES)]
        clean = {k: v for k, v in patient.items() if k != "test"}
        out[node].append({**clean, "contact": contact_of(node)})
    return out


def external_peer(release: threading.Event, *, slow: bool) -> FastAPI:
    """A stand-in external matchmaker: checks the hub's token, answers one patient (or
    holds the request until `release` when slow)."""
    app = FastAPI()
    app.state.seen = []

    @app.post("/match")
    async def match(request: Request) -> JSONResponse:
        if request.headers.get("x-auth-token") != PEER_TOKEN:
            return JSONResponse({"message": "bad token"}, status_code=401)
        app.state.seen.append(await request.json())
        if slow:
            while not release.is_set():
                await asyncio.sleep(0.05)
        body = {"results": [{"score": {"patient": 0.5}, "patient": EXTERNAL_PATIENT}]}
        return JSONResponse(body, media_type=MME)

    return app


@dataclass
class MatchNet:
    url: str
    hub_app: Any
    node_apps: dict[str, Any]
    servers: list[LiveServer]
    peers: dict[str, Any]
    patients: dict[str, list[dict[str, Any]]]
    clinic_token: str = ""
    peer_urls: dict[str, str] = field(default_factory=dict)
    stops: list[Any] = field(default_factory=list)

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60)

    def match(self, patient: dict[str, Any], token: str | None = None) -> httpx.Response:
        with self.http() as http:
            return http.post(
                "/match",
                content=json.dumps({"patient": patient}),
                headers={"Content-Type": MME, "X-Auth-Token": token or self.clinic_token},
            )


def _dial_out(net: MatchNet, node_dir: Path) -> None:
    client = DialoutClient(
        net.node_apps[DIAL_OUT], hub_url=net.url, name=DIAL_OUT, key=node_key(node_dir),
        hub_key=pinned_hub_key(node_dir, net.url), poll_seconds=1.0,
    )  # fmt: skip
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    connected = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(client.run(stop=stop, on_connect=connected.set))
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    net.stops.append(lambda: (loop.call_soon_threadsafe(stop.set), thread.join(timeout=10)))
    assert connected.wait(15), "dial-out node never reached the hub"


def start_matchnet(root: Path) -> MatchNet:
    from genomesh.hub.app import create_app as create_hub
    from genomesh.node.app import create_app as create_node

    hub_port = free_port()
    hub_url = f"http://127.0.0.1:{hub_port}"
    settings = HubSettings(
        hub_dir=root / "hub", base_url=hub_url, issuer=hub_url,
        admin_token=ADMIN["Authorization"].split()[1], catalogue_sync_seconds=0,
        node_timeout_seconds=10.0, dialout_poll_seconds=1.0, breaker_failures=0,
    )  # fmt: skip
    hub_app = create_hub(settings)
    release = threading.Event()
    peers = {"ext": external_peer(release, slow=False), "slow": external_peer(release, slow=True)}
    net = MatchNet(hub_url, hub_app, {}, [serve(hub_app, port=hub_port)], peers, node_patients())
    net.stops.append(release.set)
    hub_key = public_key_text(load_or_create_key(settings.hub_dir))
    for name in NODES:
        node_dir = root / name
        patients = net.patients[name]
        ids = [p["id"] for p in patients]
        (root / f"{name}.vcf").write_text(_vcf(ids))
        (root / f"{name}.tsv").write_text(
            "individual_id\tsex\n" + "".join(f"{i}\tunknown\n" for i in ids)
        )
        init_node(node_dir, name=name, jurisdiction="NL")
        ingest_dataset(
            node_dir, "rare", vcf=root / f"{name}.vcf", individuals=root / f"{name}.tsv",
            assembly="GRCh37",
        )  # fmt: skip
        registry = MatchmakerRegistry(node_dir)
        registry.enrol(
            patients, dataset_id="rare", known_individuals=frozenset(ids),
            consent=CONSENT_STATEMENT,
        )  # fmt: skip
        if name in OPTED_IN:
            registry.add_peer("hub")
        port = free_port()
        base = f"{hub_url}/nodes/{name}" if name == DIAL_OUT else f"http://127.0.0.1:{port}"
        if name == DIAL_OUT:
            pinned_hub_key(node_dir, hub_url, hub_key=hub_key)
        node_settings = NodeSettings.load(
            node_dir, name=name, base_url=base, jurisdiction="NL", query_budget=1_000_000,
            hub_key=None if name == DIAL_OUT else hub_key,
        )  # fmt: skip
        net.node_apps[name] = create_node(node_settings, warm=False)
        if name == DIAL_OUT:
            key = node_public_key_text(node_key(node_dir))
            body = {"name": name, "base_url": "dial-out", "country": "NL", "public_key": key}
        else:
            net.servers.append(serve(net.node_apps[name], port=port))
            body = {"name": name, "base_url": base, "country": "NL"}
        with net.http() as http:
            assert http.post("/nodes", json=body, headers=ADMIN).status_code == 201
        if name == DIAL_OUT:
            _dial_out(net, node_dir)
    with net.http() as http:
        for peer_name, app in peers.items():
            live = serve(app)
            net.servers.append(live)
            net.peer_urls[peer_name] = live.url
            if peer_name != "slow":  # added by the one test that waits for it
                body = {"name": peer_name, "baseUrl": live.url, "token": PEER_TOKEN,
                        "inbound": False}  # fmt: skip
                assert http.post("/match/peers", json=body, headers=ADMIN).status_code == 201
        dead = {"name": "dead", "baseUrl": f"http://127.0.0.1:{free_port()}",
                "token": PEER_TOKEN, "inbound": False}  # fmt: skip
        assert http.post("/match/peers", json=dead, headers=ADMIN).status_code == 201
        added = http.post("/match/peers", json={"name": "clinic"}, headers=ADMIN)
        assert added.status_code == 201, added.text
        net.clinic_token = added.json()["token"]
    return net


def stop_matchnet(net: MatchNet) -> None:
    for stop in reversed(net.stops):
        stop()
    for server in reversed(net.servers):
        server.stop()


@pytest.fixture(scope="module", name="matchnet")
def matchnet_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MatchNet]:
    net = start_matchnet(tmp_path_factory.mktemp("matchnet"))
    try:
        yield net
    finally:
        stop_matchnet(net)
