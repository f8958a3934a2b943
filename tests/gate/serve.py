"""Run the real node app with uvicorn on a free loopback port (for gate/participant tests)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from fastapi import FastAPI

from genomesh.cli.serving import UVICORN_OPTIONS
from genomesh.core.settings import NodeSettings
from genomesh.gate import Gate
from genomesh.node.app import create_app

# How genomesh serves apps, as far as client addresses go (genomesh.cli.serving).
PROXY_OPTIONS = {k: v for k, v in UVICORN_OPTIONS.items() if k.startswith(("proxy", "forwarded"))}


@contextmanager
def serve_node(settings: NodeSettings) -> Iterator[tuple[httpx.Client, FastAPI]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    app = create_app(settings, warm=False)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **PROXY_OPTIONS)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "node app did not start"
        time.sleep(0.02)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client, app
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def app_gate(app: FastAPI) -> Gate:
    gate: Gate = app.state.gate
    return gate
