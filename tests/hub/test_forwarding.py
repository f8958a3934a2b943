"""The hub forwards only the Beacon routes of the beaconMap, ids as one encoded path segment.

QA issue 12 part 2: `GET /individuals/..%2F..%2Fparticipants%2Fme%2Fexport?nodes=nl-umc`
reached the node's participant export, and control characters in ids gave 500. Run against
a real genomesh node (push) whose every received request path is recorded.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from genomesh.core.settings import NodeSettings
from genomesh.node.app import create_app as create_node_app
from genomesh.testing.cohorts import requires_msprime
from tests.hub.conftest import RunningHub, start_hub
from tests.hub.standin import free_port, serving
from tests.hub.test_real_nodes import node_dirs  # noqa: F401  (module fixture: two nodes' data)

pytestmark = [requires_msprime(), pytest.mark.slow]


class PathRecorder:
    """ASGI wrapper around the real node app: records the raw path of every HTTP request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


@pytest.fixture
def recorded(
    tmp_path: Path,
    node_dirs: dict[str, Path],  # noqa: F811
) -> Iterator[tuple[RunningHub, PathRecorder]]:
    hub = start_hub(tmp_path, node_timeout_seconds=10.0)
    try:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        settings = NodeSettings.load(
            node_dirs["nl-umc"], base_url=url, trusted_issuers=[hub.trusted()]
        )
        recorder = PathRecorder(create_node_app(settings))
        with serving(recorder, port=port):
            hub.register("nl-umc", url, "NL")
            # registering starts a catalogue sync; its last request is the dataset's terms
            deadline = time.monotonic() + 20
            while "/datasets/nl-umc-cohort/filtering_terms" not in recorder.paths:
                assert time.monotonic() < deadline, recorder.paths
                time.sleep(0.05)
            recorder.paths.clear()
            yield hub, recorder
    finally:
        hub.server.stop()


def raw_request(base_url: str, method: str, path: str) -> tuple[int, str]:
    """Send `path` exactly as written (httpx would resolve `..` itself, before sending)."""
    parsed = urlsplit(base_url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        connection.request(method, path, headers={"accept": "application/json"})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


TRAVERSALS = [
    "/individuals/..%2F..%2Fparticipants%2Fme%2Fexport",
    "/individuals/..%2F..%2Fopenapi.json",
    "/datasets/..%2Fparticipants%2Fme%2Faccess-report",
    "/individuals/x%2F..%2F..%2Fopenapi.json",
    "/individuals/..",
    "/individuals/%2E%2E",
    "/g_variants/a/..%2F..%2Fparticipants%2Fme%2Fexport",
    "/cohorts/c1/..%2F..%2F..%2Fopenapi.json",
    "/individuals/a%5C..%5C..%5Copenapi.json",
    "/runs/..%2F..%2Fparticipants/me/export",
    "/datasets/d1/participants",
    "/individuals/%00",
    "/cohorts/%1EB",
    "/biosamples/a%0D%0AX-Injected:%201",
    "/individuals/%7F",
]


def test_forwarding__traversal_never_reaches_other_node_endpoints(
    recorded: tuple[RunningHub, PathRecorder],
) -> None:
    hub, recorder = recorded
    answers = {
        (method, path): raw_request(hub.url, method, path + "?nodes=nl-umc")
        for path in TRAVERSALS
        for method in ("GET", "POST")
    }
    reached = [p for p in recorder.paths if not p.startswith(("/individuals", "/datasets"))]
    assert reached == [], reached
    assert recorder.paths == [], "no traversal attempt is forwarded at all"
    for (method, path), (status, body) in answers.items():
        assert status in (400, 404), (method, path, status, body)
        error = json.loads(body)["error"]
        assert error["errorCode"] == status
        if status == 400:
            assert "field 'id'" in error["errorMessage"], (path, error)
    # the id-shaped attempts are refused as bad ids, not merely as unknown paths
    assert answers[("GET", TRAVERSALS[0])][0] == 400
    assert answers[("GET", "/individuals/%2E%2E")][0] == 400


def test_forwarding__control_characters_in_ids_give_400_naming_the_field(
    recorded: tuple[RunningHub, PathRecorder],
) -> None:
    hub, _ = recorded
    with hub.client() as http:
        for path in ("/individuals/%00", "/cohorts/%1EB", "/datasets/a%09b/individuals"):
            response = http.get(path)
            assert response.status_code == 400, (path, response.text)
            message = response.json()["error"]["errorMessage"]
            assert "id" in message and "control character" in message, message


def test_forwarding__ids_reach_the_node_as_one_encoded_segment(
    recorded: tuple[RunningHub, PathRecorder],
) -> None:
    hub, recorder = recorded
    with hub.client() as http:
        held = http.get("/datasets/nl-umc-cohort", params={"nodes": "nl-umc"})
        odd = http.get("/individuals/a%20b%3Fc%23d%25e", params={"nodes": "nl-umc"})
        cross = http.get("/datasets/nl-umc-cohort/individuals", params={"nodes": "nl-umc"})
        terms = http.get("/datasets/nl-umc-cohort/filtering_terms", params={"nodes": "nl-umc"})
    assert held.status_code == 200, held.text
    [node] = held.json()["info"]["network"]["nodes"]
    assert node["status"] == "ok"
    assert odd.status_code == 200, odd.text
    assert odd.json()["info"]["network"]["nodes"][0]["status"] in ("ok", "absent")
    assert (
        cross.status_code == 200 and cross.json()["info"]["network"]["nodes"][0]["status"] == "ok"
    )
    assert terms.status_code == 200, terms.text
    assert terms.json()["response"]["filteringTerms"], terms.json()
    # the node received exactly the id the caller sent, as one segment (decoded by the node)
    assert recorder.paths == [
        "/datasets/nl-umc-cohort",
        "/individuals/a b?c#d%e",
        "/datasets/nl-umc-cohort/individuals",
        "/datasets/nl-umc-cohort/filtering_terms",
    ]
