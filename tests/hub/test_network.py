"""Beacon network fan-out over real HTTP: ok, slow, refusing and killed nodes."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from genomesh.beacon.schemas import validate_response
from genomesh.testing.passports import decode_part
from tests.hub.conftest import RunningHub
from tests.hub.standin import free_port, serving, standin_app

STANDIN = Path(__file__).with_name("standin.py")


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, "stand-in node exited"
        try:
            httpx.get(f"http://127.0.0.1:{port}/info", timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise AssertionError("stand-in node did not start")


def _statuses(body: dict) -> dict[str, str]:
    return {n["node"]: n["status"] for n in body["info"]["network"]["nodes"]}


def _kill_mid_request(doomed: subprocess.Popen[str], fast: FastAPI) -> None:
    """Once both `doomed` (another process, which prints each path it receives) and `fast`
    (held unanswered) have received the network query: kill `doomed`, then let `fast` answer.

    So `doomed` dies while the hub waits for it, and `fast` answers only if the hub asked both
    at the same time: asked one after the other, the first of them would time out."""
    assert doomed.stdout is not None
    if not any(line.strip() == "/g_variants" for line in doomed.stdout):
        return  # it exited without being asked; the statuses will say so
    deadline = time.monotonic() + 20  # a wait for the hub, not a timing assertion
    while "/g_variants" not in fast.state.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    doomed.send_signal(signal.SIGKILL)
    fast.state.hung = False


def test_fan_out__killed_slow_and_refusing_nodes_do_not_hold_the_answer(hub: RunningHub) -> None:
    """Nodes are asked concurrently: a node that is killed mid-request is an error, one
    slower than the 1.5 s node timeout is cut off (its answer would have made it "ok"),
    and neither holds back the answer of the others."""
    port = free_port()
    doomed = subprocess.Popen(
        [sys.executable, str(STANDIN), "--port", str(port), "--name", "doomed", "--delays", "5",
         "--announce"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    fast_app = standin_app("fast")
    killer = threading.Thread(target=_kill_mid_request, args=(doomed, fast_app), daemon=True)
    try:
        _wait_port(port, doomed)
        with (
            serving(fast_app) as fast,
            serving(standin_app("slow", delay=2.5)) as slow,
            serving(standin_app("strict", require_auth=True)) as strict,
        ):
            hub.register("fast", fast.url, "NL")
            hub.register("slow", slow.url, "GB")
            hub.register("strict", strict.url, "AU")
            hub.register("doomed", f"http://127.0.0.1:{port}", "DE")
            fast_app.state.hung = True  # until the doomed node has been asked and killed
            killer.start()
            with hub.client() as client:
                response = client.get(
                    "/g_variants",
                    params={"referenceName": "22", "start": "16050074", "alternateBases": "G"},
                )
            fast_app.state.hung = False
    finally:
        doomed.kill()
        doomed.wait()
        if killer.ident is not None:
            killer.join(timeout=10)

    assert response.status_code == 200, response.text
    body = response.json()
    assert _statuses(body) == {
        "fast": "ok",
        "slow": "timeout",
        "strict": "refused",
        "doomed": "error",
    }
    reports = {n["node"]: n for n in body["info"]["network"]["nodes"]}
    assert "visa" in reports["strict"]["reason"]
    assert reports["strict"]["httpStatus"] == 403
    assert "1.5" in reports["slow"]["reason"]
    assert body["responseSummary"] == {"exists": True, "numTotalResults": 7}
    assert body["meta"]["returnedGranularity"] == "count"
    [result_set] = body["response"]["resultSets"]
    assert result_set["id"] == "fast-ds1"
    assert result_set["beaconId"] == "org.example.fast"
    assert result_set["info"]["node"] == "fast"
    validate_response("count", body)


def test_fan_out__passport_is_carried_and_chosen_nodes_only(hub: RunningHub) -> None:
    """Each node gets a passport of its own for the caller (QA F23), never the caller's."""
    bearer = hub.bearer()
    original = decode_part(bearer.split(".")[1])
    a_app, strict_app = standin_app("a"), standin_app("strict", require_auth=True)
    with serving(a_app) as a, serving(strict_app) as s:
        hub.register("a", a.url)
        hub.register("strict", s.url)
        with hub.client() as client:
            both = client.get("/individuals", headers={"authorization": bearer}).json()
            only_a = client.get("/individuals", params={"nodes": "a"}).json()
            twice = client.get("/individuals", params={"nodes": "a,a"}).json()
            twice_repeated = client.get("/individuals?nodes=a&nodes=a").json()
            unknown = client.get("/individuals", params={"nodes": "a,nope"})
    assert _statuses(both) == {"a": "ok", "strict": "ok"}
    assert both["responseSummary"]["numTotalResults"] == 14
    assert {rs["beaconId"] for rs in both["response"]["resultSets"]} == {
        "org.example.a",
        "org.example.strict",
    }
    assert {rs["info"]["forwardedFor"] for rs in both["response"]["resultSets"]} == {"127.0.0.1"}
    for app, url in ((a_app, a.url), (strict_app, s.url)):
        sent = app.state.authorizations[0]
        assert sent is not None and sent != bearer
        claims = decode_part(sent.split(".")[1])
        assert claims["aud"] == url and claims["orig_jti"] == original["jti"]
        assert claims["sub"] == original["sub"] and claims["jti"] != original["jti"]
        assert claims["ga4gh_passport_v1"] == original["ga4gh_passport_v1"]
    assert a_app.state.authorizations[1:] == [None, None, None]  # anonymous: nothing sent
    assert _statuses(only_a) == {"a": "ok"}
    for repeated in (twice, twice_repeated):  # a node named twice is asked once (QA F24)
        assert len(repeated["info"]["network"]["nodes"]) == 1
        assert (
            repeated["responseSummary"]["numTotalResults"]
            == only_a["responseSummary"]["numTotalResults"]
        )
    assert unknown.status_code == 400
    assert "nope" in unknown.json()["error"]["errorMessage"]
    validate_response("error", unknown.json())


def test_fan_out__all_nodes_down_is_an_answer_not_an_error(hub: RunningHub) -> None:
    hub.register("gone", f"http://127.0.0.1:{free_port()}")
    with hub.client() as client:
        response = client.post("/g_variants", json={"meta": {"apiVersion": "v2.0.0"}, "query": {}})
    assert response.status_code == 200
    body = response.json()
    assert body["responseSummary"] == {"exists": False}
    assert _statuses(body) == {"gone": "error"}
    validate_response("boolean", body)


@pytest.mark.parametrize(
    ("params", "field"),
    [({"requestedGranularity": "everything"}, "requestedGranularity"), ({"limit": "ten"}, "limit")],
)
def test_fan_out__bad_request_is_a_beacon_error_naming_the_field(
    hub: RunningHub, params: dict[str, str], field: str
) -> None:
    with hub.client() as client:
        response = client.get("/g_variants", params=params)
    assert response.status_code == 400
    assert field in response.json()["error"]["errorMessage"]
    validate_response("error", response.json())


def test_hub_info__informational_endpoints_validate(hub: RunningHub) -> None:
    with hub.client() as client:
        for path, kind in [
            ("/", "info"),
            ("/info", "info"),
            ("/service-info", "service-info"),
            ("/configuration", "configuration"),
            ("/map", "map"),
            ("/entry_types", "entry_types"),
            ("/filtering_terms", "filtering_terms"),
        ]:
            response = client.get(path)
            assert response.status_code == 200, path
            validate_response(kind, response.json())


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (b"[1, 2]", 400, "JSON object"),
        (b"{not json", 400, "not JSON"),
        (b'{"query": {"filters": "HP:0001250"}}', 400, "filters"),
        (b'{"query": []}', 400, "query must be an object"),
        (b'{"query": {"pagination": {"skip": "a"}}}', 400, "skip"),
        (
            b'{"query": {"requestParameters": {}}, "pad": "' + b"x" * 1_100_000 + b'"}',
            413,
            "at most",
        ),
    ],
)
def test_fan_out__malformed_or_oversized_body_is_refused_before_any_node_is_asked(
    hub: RunningHub, body: bytes, status: int, needle: str
) -> None:
    with serving(standin_app("n")) as node:
        hub.register("n", node.url)
        with hub.client() as client:
            response = client.post(
                "/individuals", content=body, headers={"content-type": "application/json"}
            )
    assert response.status_code == status
    assert needle in response.json()["error"]["errorMessage"]
    validate_response("error", response.json())
