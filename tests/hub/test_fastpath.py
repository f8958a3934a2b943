"""The network fast path answers exactly as FastAPI's routes do (genomesh.hub.fastpath).

Two hubs over the same two stand-in nodes: the hub as built, and the same hub with the fast
path taken out of its middleware, so every request goes through FastAPI's routing. Each
request is sent to both; status, content type, error bodies and merged answers (without the
per-node elapsed times) must be the same, for network queries, bad input, oversized bodies,
refused paths and routes the fast path leaves to FastAPI.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from genomesh.core.settings import HubSettings
from genomesh.hub import beacon_routes
from genomesh.hub.app import create_app
from genomesh.hub.fastpath import NetworkFastPath
from tests.hub.standin import ThreadServer, standin_app

ADMIN = "test-admin-token"


def _app(tmp: Path, *, fast: bool) -> Any:
    settings = HubSettings(
        hub_dir=tmp,
        admin_token=ADMIN,
        catalogue_sync_seconds=0,
        node_timeout_seconds=5.0,
        max_request_bytes=2000,
    )
    app = create_app(settings)
    if not fast:
        app.user_middleware = [m for m in app.user_middleware if m.cls is not NetworkFastPath]
    return app


@pytest.fixture(scope="module")
def hubs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ThreadServer]]:
    nodes = [ThreadServer(standin_app(name)).start() for name in ("alpha", "beta")]
    servers: dict[str, ThreadServer] = {}
    try:
        for kind in ("fast", "plain"):
            server = ThreadServer(_app(tmp_path_factory.mktemp(kind), fast=kind == "fast"))
            servers[kind] = server.start()
            for name, node in zip(("alpha", "beta"), nodes, strict=True):
                status, _, body = _send(
                    server.url,
                    "POST",
                    "/nodes",
                    json.dumps({"name": name, "base_url": node.url, "country": "NL"}).encode(),
                    {"authorization": f"Bearer {ADMIN}", "content-type": "application/json"},
                )
                assert status == 201, body
        yield servers
    finally:
        for server in [*servers.values(), *nodes]:
            server.stop()


def _send(
    base_url: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str, str]:
    """The request exactly as written (no client-side path normalisation)."""
    parsed = urlsplit(base_url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("content-type") or "", response.read().decode()
    finally:
        connection.close()


def _normal(text: str) -> Any:
    """The answer without what differs between two runs (per-node elapsed times)."""
    try:
        body = json.loads(text)
    except ValueError:
        return text
    network = body.get("info", {}).get("network") if isinstance(body, dict) else None
    if isinstance(network, dict):
        for node in network.get("nodes", []):
            node.pop("elapsedMs", None)
    return body


CASES: list[tuple[str, str, bytes | None, dict[str, str]]] = [
    ("GET", "/g_variants?referenceName=22&start=100&alternateBases=G", None, {}),
    ("GET", "/g_variants?requestedGranularity=count&nodes=beta", None, {}),
    ("GET", "/g_variants?nodes=alpha,alpha", None, {}),
    ("GET", "/g_variants?nodes=nope", None, {}),
    ("GET", "/g_variants?requestedGranularity=everything", None, {}),
    ("GET", "/g_variants?skip=-1", None, {}),
    ("GET", "/g_variants?includeResultsetResponses=ALL&limit=0", None, {}),
    ("POST", "/individuals", b'{"query": {"requestedGranularity": "count"}}', {}),
    ("POST", "/individuals", b'{"query": [1]}', {}),
    ("POST", "/individuals", b"{not json", {"content-type": "application/json"}),
    ("POST", "/individuals", b"[1, 2]", {}),
    ("POST", "/individuals", b"\xff\xfe", {}),
    ("POST", "/individuals", b"{}" + b" " * 3000, {}),  # over the 2000-byte limit: 413
    ("POST", "/biosamples", b"", {}),
    ("GET", "/individuals/", None, {}),
    ("GET", "/individuals/ind-1", None, {}),
    ("GET", "/datasets/alpha-ds1/individuals", None, {}),
    ("GET", "/individuals/%00", None, {}),
    ("GET", "/cohorts/%1EB", None, {}),
    ("GET", "/individuals/..%2F..%2Fopenapi.json", None, {}),
    ("GET", "/datasets/d1/participants", None, {}),
    ("GET", "/filtering_terms", None, {}),
    ("GET", "/datasets/alpha-ds1/filtering_terms", None, {}),
    ("POST", "/filtering_terms", b"{}", {}),  # 405, from FastAPI
    ("PUT", "/g_variants", b"{}", {}),  # 405, from FastAPI
    ("HEAD", "/g_variants", None, {}),  # FastAPI's GET route answers HEAD
    ("GET", "/g_variants", None, {"authorization": "Bearer not-a-passport"}),
    ("GET", "/service-info", None, {}),  # not a network route: FastAPI
    ("GET", "/map", None, {}),
]


@pytest.mark.parametrize(("method", "path", "body", "headers"), CASES)
def test_fastpath__answers_as_fastapi_does(
    hubs: dict[str, ThreadServer],
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
) -> None:
    fast = _send(hubs["fast"].url, method, path, body, headers)
    plain = _send(hubs["plain"].url, method, path, body, headers)
    assert fast[:2] == plain[:2], (fast, plain)
    assert _normal(fast[2]) == _normal(plain[2])
    assert fast[0] < 500, fast


def test_fastpath__serves_the_network_routes_and_only_those(tmp_path: Path) -> None:
    """Which requests the fast path takes: every beaconMap route, GET and POST, and the
    refused paths under an entry type; never another route, method or a non-network path
    (HEAD never reaches `match`: only GET and POST are looked up)."""
    app = _app(tmp_path, fast=True)
    fast = NetworkFastPath(
        app.router, hub=app, router=beacon_routes.router, fast=beacon_routes.is_fast
    )
    taken = {
        ("GET", "/g_variants"),
        ("POST", "/g_variants"),
        ("GET", "/individuals/ind-1"),
        ("POST", "/datasets/d1/individuals"),
        ("GET", "/individuals/"),
        ("GET", "/individuals/a/b/c"),
        ("GET", "/filtering_terms"),
        ("GET", "/datasets/d1/filtering_terms"),
    }
    left = {
        ("POST", "/filtering_terms"),
        ("PUT", "/g_variants"),
        ("GET", "/service-info"),
        ("GET", "/"),
        ("GET", "/info"),
        ("GET", "/nodes"),
        ("GET", "/openapi.json"),
        ("GET", "/g_variantsX"),
    }
    for method, path in taken:
        assert fast.match(method, path) is not None, (method, path)
    for method, path in left:
        assert fast.match(method, path) is None, (method, path)
