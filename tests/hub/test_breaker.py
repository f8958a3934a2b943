"""The hub's circuit breaker per node (issue 12 part 4): after repeated timeouts a hung node
is reported "not responding (circuit open)" at once, without being contacted; a background
probe finds it back and closes the circuit.

A real hub and real stand-in nodes over loopback HTTP; the hung node really holds every
request (its `/info` too) until it is released. No wall-clock assertions: what shows that
the hub did not wait is that the hung node received no query while the circuit was open.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from genomesh.hub.breaker import CircuitBreaker
from genomesh.hub.registry import NodePublic
from tests.hub.conftest import RunningHub, start_hub
from tests.hub.standin import serving, standin_app

QUERY = {"referenceName": "22", "start": "16050074", "alternateBases": "G"}


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    running = start_hub(tmp_path, breaker_failures=2, breaker_probe_seconds=0.2)
    try:
        yield running
    finally:
        running.server.stop()


def _nodes(hub: RunningHub) -> dict[str, dict[str, Any]]:
    with hub.client() as http:
        response = http.get("/g_variants", params=QUERY)
    assert response.status_code == 200, response.text
    return {n["node"]: n for n in response.json()["info"]["network"]["nodes"]}


def _queries(app: Any) -> list[str]:
    """The network queries a stand-in received (not the catalogue sync, not the probes)."""
    return [p for p in app.state.requests if p == "/g_variants"]


def _synced(hub: RunningHub, name: str) -> bool:
    return any(n.name == name and n.last_sync for n in hub.app.state.store.nodes())


def _wait_for(condition: Any, what: str, limit: float = 30.0) -> None:
    """Wait for a condition the background probe brings about (not a timing assertion)."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.05)


def test_breaker__hung_node_answered_at_once_then_closed_when_back(hub: RunningHub) -> None:
    hung, fine = standin_app("hung"), standin_app("fine")
    with serving(hung) as hung_node, serving(fine) as fine_node:
        hub.register("hung", hung_node.url)
        hub.register("fine", fine_node.url)
        breaker = hub.app.state.client.breaker
        assert isinstance(breaker, CircuitBreaker)
        # registration syncs the catalogue in the background; let it finish while answered
        _wait_for(lambda: _synced(hub, "hung") and _synced(hub, "fine"), "the catalogue sync")
        assert _nodes(hub)["hung"]["status"] == "ok"
        hung.state.hung = True
        try:
            # two timeouts in a row open the circuit
            for _ in range(2):
                nodes = _nodes(hub)
                assert nodes["hung"]["status"] == "timeout"
                assert nodes["fine"]["status"] == "ok"
            assert breaker.state("hung") == "open"
            assert breaker.state("fine") == "closed"
            asked = len(_queries(hung))
            assert asked == 3
            probed = len(hung.state.requests)

            # open: answered at once, the node not contacted
            for _ in range(3):
                nodes = _nodes(hub)
                assert nodes["hung"]["status"] == "error"
                assert nodes["hung"]["reason"].startswith("node not responding (circuit open)")
                assert "2 consecutive failures" in nodes["hung"]["reason"]
                assert nodes["fine"]["status"] == "ok"
            assert len(_queries(hung)) == asked  # no query reached the hung node

            # the probe keeps trying /info while the node hangs ...
            _wait_for(lambda: breaker.circuit("hung").probes >= 2, "two probes")
            assert breaker.state("hung") == "open"
            assert set(list(hung.state.requests)[probed:]) <= {"/info"}
        finally:
            hung.state.hung = False  # ... the node is back (also releases held requests)
        _wait_for(lambda: breaker.state("hung") == "closed", "the circuit closes")
        nodes = _nodes(hub)
        assert nodes["hung"]["status"] == "ok"
        assert len(_queries(hung)) == asked + 1


def test_breaker__an_answer_of_any_status_resets_the_count(hub: RunningHub) -> None:
    strict = standin_app("strict", require_auth=True)  # answers 403: responding, not hung
    with serving(strict) as node:
        hub.register("strict", node.url)
        for _ in range(4):
            assert _nodes(hub)["strict"]["status"] == "refused"
        assert hub.app.state.client.breaker.state("strict") == "closed"
        assert len(_queries(strict)) == 4


def test_breaker__connection_refused_counts_and_opens(hub: RunningHub) -> None:
    gone = standin_app("gone")
    with serving(gone) as node:
        url = node.url
    hub.register("gone", url)  # nothing listens there any more: connection refused
    replies = [_nodes(hub)["gone"] for _ in range(3)]  # (the catalogue sync fails too)
    assert all(r["status"] == "error" for r in replies)
    assert replies[-1]["reason"].startswith("node not responding (circuit open)")
    assert "not reachable" in (hub.app.state.client.breaker.circuit("gone").last_reason or "")


def test_breaker__changing_the_nodes_address_closes_its_circuit(tmp_path: Path) -> None:
    running = start_hub(tmp_path, breaker_failures=1, breaker_probe_seconds=600)
    try:
        with serving(standin_app("moved")) as old:
            url = old.url
        running.register("moved", url)  # nothing listens there: the circuit opens
        _wait_for(lambda: running.app.state.client.breaker.state("moved") == "open", "open")
        assert _nodes(running)["moved"]["reason"].startswith("node not responding")
        moved = standin_app("moved")
        with serving(moved) as new, running.client() as http:
            body = {"name": "moved", "base_url": new.url, "country": "NL"}
            response = http.put("/nodes/moved", json=body, headers=running.admin())
            assert response.status_code == 200, response.text
            assert _nodes(running)["moved"]["status"] == "ok"  # no probe needed (600 s)
            assert len(_queries(moved)) == 1
    finally:
        running.server.stop()


def test_breaker__settings_validated_and_off_switch(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="failures >= 1"):
        CircuitBreaker(failures=0)
    with pytest.raises(ValueError, match="probe_seconds"):
        CircuitBreaker(probe_seconds=0)
    node = NodePublic(
        name="n", base_url="http://127.0.0.1:9", dial_out=False, country="NL", contact="",
        public_key=None, created=datetime.now(UTC),
    )  # fmt: skip
    assert CircuitBreaker.unreachable(node, "timeout", None)
    assert CircuitBreaker.unreachable(node, "error", None)
    assert not CircuitBreaker.unreachable(node, "error", 500)  # it answered
    assert not CircuitBreaker.unreachable(node, "refused", 401)
    dial_out = node.model_copy(update={"dial_out": True, "base_url": None})
    assert not CircuitBreaker.unreachable(dial_out, "error", None)  # not connected: at once
    assert CircuitBreaker.unreachable(dial_out, "timeout", None)
    running = start_hub(tmp_path, breaker_failures=0)
    try:
        with running.client() as http:
            assert http.get("/info").status_code == 200
        assert running.app.state.client.breaker is None
    finally:
        running.server.stop()
