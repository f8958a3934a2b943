"""Serving: `genomesh node serve` as a real uvicorn process; request size and budget limits."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from genomesh.beacon.schemas import validate_response
from tests.beacon.helpers import free_port, open_settings, serve


@pytest.mark.slow
def test_node_serve__uvicorn_subprocess_answers_info(cineca_node) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    env = {**os.environ, "GENOMESH_NAME": "served-by-test"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "genomesh.cli.main",
            "node",
            "serve",
            str(cineca_node.path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/info", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "node did not start"
                time.sleep(0.2)
        assert r.status_code == 200
        body = r.json()
        validate_response("info", body)
        assert body["response"]["name"] == "served-by-test"  # GENOMESH_* overrides the file
        assert body["response"]["welcomeUrl"] == f"http://127.0.0.1:{port}"
        assert httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5).json()["paths"][
            "/g_variants"
        ]
        # the custodian view is served too (genomesh.web.app.create_node_app)
        custodian = httpx.get(f"http://127.0.0.1:{port}/portal/custodian/login", timeout=10)
        assert custodian.status_code == 200 and "Operator token" in custodian.text
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_oversized_body__413_beacon_error(cineca_node) -> None:  # type: ignore[no-untyped-def]
    with serve(open_settings(cineca_node.path, max_request_bytes=2_000)) as client:
        big = {"query": {"filters": [{"id": "NCIT:C16576"}] * 200}}
        r = client.post("/individuals", json=big)
        assert r.status_code == 413
        validate_response("error", r.json())
        assert "2000 bytes" in r.json()["error"]["errorMessage"]
        ok = client.post("/individuals", json={"query": {"filters": [{"id": "NCIT:C16576"}]}})
        assert ok.status_code == 200


def test_query_budget__429_beacon_error(cineca_node, tmp_path) -> None:  # type: ignore[no-untyped-def]
    state = f"sqlite:///{tmp_path / 'state.sqlite'}"  # a fresh ledger: budget starts at zero
    with serve(open_settings(cineca_node.path, query_budget=3, state_url=state)) as client:
        statuses = [client.get("/individuals").status_code for _ in range(5)]
        assert statuses[:3] == [200, 200, 200]
        r = client.get("/individuals")
        assert r.status_code == 429
        validate_response("error", r.json())
        assert "budget" in r.json()["error"]["errorMessage"]


def test_node_serve__bad_config_is_one_line_error(cineca_node, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "GENOMESH_JURISDICTION_PROFILES": str(tmp_path / "missing.toml")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "genomesh.cli.main",
            "node",
            "serve",
            str(cineca_node.path),
            "--port",
            str(free_port()),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "missing.toml" in proc.stderr
    assert "Traceback" not in proc.stderr and "serving" not in proc.stdout
