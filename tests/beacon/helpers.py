"""Test helpers for the Beacon/node tests: run a node app on a free loopback port in a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from genomesh.core.settings import DatasetPolicy, NodeSettings, TierCaps
from genomesh.node.app import create_app

CINECA_ID = "CINECA_synthetic_cohort_EUROPE_UK1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def open_settings(node_dir: Path, **overrides: Any) -> NodeSettings:
    """Settings that disclose everything to anyone (to check results, not access control)."""
    values: dict[str, Any] = {
        "default_policy": DatasetPolicy(
            tiers=TierCaps(anonymous="record", registered="record", controlled="record"),
            min_count=1,
            exposure_budget=None,  # no per-participant narrowing: results are compared to VCFs
        ),
        "query_budget": 1_000_000,
        "anti_differencing_answers": 0,
        "jurisdiction": "ZZ",  # no national rule lowers the granularity
        **overrides,
    }
    return NodeSettings.load(node_dir, **values)


@contextmanager
def serve(settings: NodeSettings, *, keep_base_url: bool = False) -> Iterator[httpx.Client]:
    """A real uvicorn server for `create_app(settings)` on 127.0.0.1; yields a client for it.

    `base_url` is set to the real address unless `keep_base_url` (passport grants name
    datasets by `{base_url}/datasets/{id}`, and test issuers use the default base URL).
    """
    port = free_port()
    if not keep_base_url:
        settings = settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"})
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("node app did not start")
        time.sleep(0.02)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=10)
