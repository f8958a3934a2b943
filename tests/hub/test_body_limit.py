"""One request body limit on every route of the hub and the node (issue 12 part 4).

A 50 MB login or registration is refused with 413 and a JSON error body, without the body
being read whole: by its Content-Length before a byte of it is read, or, streamed, after at
most the limit plus one chunk. Real hub app (in-process ASGI and a real uvicorn server on
loopback), the real node app factory's middleware, real FastAPI body parsing behind it.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from genomesh.core.body_limit import BodySizeLimit
from genomesh.core.settings import HubSettings, NodeSettings
from genomesh.hub.app import create_app
from genomesh.node.limits import BodySizeLimit as NodeBodySizeLimit
from tests.hub.conftest import RunningHub

FIFTY_MB = 50_000_000
CHUNK = 64 * 1024


class Streamed:
    """A streamed JSON body of `total` bytes that counts how much of it was pulled."""

    def __init__(self, total: int = FIFTY_MB) -> None:
        self.total = total
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        head = b'{"username": "alice", "password": "'
        self.sent += len(head)
        yield head
        while self.sent < self.total:
            self.sent += CHUNK
            yield b"x" * CHUNK


def hub_app(tmp_path: Path, **overrides: Any) -> FastAPI:
    settings = HubSettings(
        hub_dir=tmp_path / "hub", admin_password="Hub-Operator-7731!",
        catalogue_sync_seconds=0, **overrides,
    )  # fmt: skip
    return create_app(settings)


async def _post(app: Any, path: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        return await client.post(path, **kwargs)


@pytest.mark.parametrize("path", ["/dac/login", "/dac/register", "/nodes", "/individuals"])
def test_body_limit__streamed_50mb_refused_after_reading_at_most_the_limit(
    tmp_path: Path, path: str
) -> None:
    app = hub_app(tmp_path)
    body = Streamed()
    response = asyncio.run(
        _post(app, path, content=body, headers={"content-type": "application/json"})
    )
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["errorCode"] == 413
    assert "this hub accepts at most 1000000 bytes (max_request_bytes)" in error["errorMessage"]
    assert body.sent <= 1_000_000 + 2 * CHUNK  # stopped at the limit, not read whole


def test_body_limit__declared_50mb_refused_before_any_byte_is_read(tmp_path: Path) -> None:
    app = hub_app(tmp_path)
    body = Streamed()
    response = asyncio.run(
        _post(
            app, "/dac/login", content=body,
            headers={"content-type": "application/json", "content-length": str(FIFTY_MB)},
        )
    )  # fmt: skip
    assert response.status_code == 413
    assert f"request body is {FIFTY_MB} bytes" in response.json()["error"]["errorMessage"]
    assert body.sent == 0


def test_body_limit__real_server_answers_413_without_waiting_for_the_body(
    hub: RunningHub,
) -> None:
    """Over a real socket: headers announcing 50 MB and a few bytes of body get 413 at once,
    though the other 49.99 MB never arrive (the server could not have read them)."""
    host, port = hub.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(
            b"POST /dac/register HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {FIFTY_MB}\r\n\r\n".encode()
            + b'{"username": "mallory", "password": "'
        )
        raw = b""
        while b"\r\n\r\n" not in raw or not raw.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    head, _, payload = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert json.loads(payload)["error"]["errorCode"] == 413


def test_body_limit__small_bodies_and_dialout_answers_pass(tmp_path: Path) -> None:
    app = hub_app(tmp_path, max_request_bytes=2_000, max_answer_bytes=50_000)
    login = asyncio.run(_post(app, "/dac/login", json={"username": "admin", "password": "no"}))
    assert login.status_code == 401  # parsed and answered by the route
    padded = {"payload": "x" * 10_000, "sig": "y"}
    answer = asyncio.run(_post(app, "/dialout/answer", json=padded))
    assert answer.status_code != 413  # over max_request_bytes, within max_answer_bytes
    too_big = asyncio.run(_post(app, "/dialout/answer", json={"payload": "x" * 60_000}))
    assert too_big.status_code == 413
    assert "at most 50000 bytes" in too_big.json()["error"]["errorMessage"]


class Login(BaseModel):
    username: str
    password: str


def test_body_limit__node_middleware_answers_413_not_fastapis_400(tmp_path: Path) -> None:
    """Behind the limit, FastAPI would turn a cut-off body into 400 'error parsing the body';
    the node's limit (the same middleware, Beacon error body) answers 413 instead."""
    app = FastAPI()

    @app.post("/login")
    def login(body: Login) -> dict[str, str]:
        return {"user": body.username}

    settings = NodeSettings(node_dir=tmp_path, max_request_bytes=100_000)
    app.add_middleware(NodeBodySizeLimit, settings=settings)
    body = Streamed(total=5_000_000)
    response = asyncio.run(
        _post(app, "/login", content=body, headers={"content-type": "application/json"})
    )
    assert response.status_code == 413, response.text
    payload = response.json()
    assert payload["meta"]["beaconId"] == settings.beacon_id  # a Beacon error body
    assert "this node accepts at most 100000 bytes" in payload["error"]["errorMessage"]
    assert body.sent <= 100_000 + 2 * CHUNK
    ok = asyncio.run(_post(app, "/login", json={"username": "a", "password": "b"}))
    assert ok.json() == {"user": "a"}


def test_body_limit__path_prefix_limits_choose_the_longest_match() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:  # never reached in this test
        raise AssertionError

    limit = BodySizeLimit(app, limit=10, larger={"/dialout/": 100, "/dialout/answer": 1000})
    assert limit.limit_for("/dac/login") == 10
    assert limit.limit_for("/dialout/poll") == 100
    assert limit.limit_for("/dialout/answer") == 1000
    with pytest.raises(ValueError, match="at least 1 byte"):
        BodySizeLimit(app, limit=0)
