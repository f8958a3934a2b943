"""Fixtures for the DAC tests: a hub settings folder, a DAC service with a movable clock,
the DAC mounted on the real hub app, and a loopback HTTP server for CLI tests."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher

from genomesh.access.keys import KeyStore
from genomesh.core.consent import DataUseTerm
from genomesh.core.settings import HubSettings
from genomesh.hub.dac import DacService
from genomesh.hub.dac.schemas import DatasetIn
from tests.audit.pg import create_database, postgres_server, require_postgres

# argon2id with small parameters: tests hash dozens of passwords on a busy machine
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
ADMIN_PASSWORD = "Hub-Operator-7731!"
PASSWORDS = {
    "alice": "Wonderland-Research-42",
    "bob": "Committee-Seat-8812",
    "carol": "Other-Committee-5561",
}
NODE_URL = "http://127.0.0.1:8100"
HMB_URL = f"{NODE_URL}/datasets/hmb1"
DS_URL = f"{NODE_URL}/datasets/cancer1"


class Clock:
    """A settable clock (timezone-aware UTC) to move the hub through time."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def hub_settings(tmp_path: Path) -> HubSettings:
    return HubSettings(
        hub_dir=tmp_path / "hub",
        admin_password=ADMIN_PASSWORD,
        base_url="http://127.0.0.1:8000",
        issuer="http://127.0.0.1:8000",
        catalogue_sync_seconds=0,
    )


@pytest.fixture
def service(hub_settings: HubSettings, clock: Clock) -> DacService:
    """A DAC with an admin, two datasets (HMB; DS cancer), alice (researcher), bob (DAC of both)."""
    svc = DacService(
        hub_settings, keys=KeyStore.ephemeral(), clock=clock, password_hasher=FAST_HASHER
    )
    svc.register_dataset(
        "admin",
        DatasetIn(
            node="n1", dataset_id="hmb1", base_url=NODE_URL, duo=[DataUseTerm(id="DUO:0000006")]
        ),
    )
    svc.register_dataset(
        "admin",
        DatasetIn(
            node="n1", dataset_id="cancer1", base_url=NODE_URL, committee="onco",
            duo=[DataUseTerm(id="DUO:0000007", diseases=("ICD10:C50",))],
        ),
    )  # fmt: skip
    svc.register(
        username="alice", password=PASSWORDS["alice"], institution="uni.example.org", country="DE"
    )
    svc.register(username="bob", password=PASSWORDS["bob"])
    svc.register(username="carol", password=PASSWORDS["carol"])
    from genomesh.hub.dac.datasets import DatasetRef

    svc.add_member("admin", "bob", dataset=DatasetRef(url=HMB_URL), committee=None)
    svc.add_member("admin", "bob", dataset=None, committee="onco")
    return svc


@pytest.fixture
def hub_app(hub_settings: HubSettings, service: DacService) -> Any:
    """The real hub app (genomesh.hub.app.create_app) with this DAC service installed."""
    from genomesh.hub.app import create_app
    from genomesh.hub.dac.datasets import HubCatalogue

    app = create_app(hub_settings)
    service.node_keys = HubCatalogue(app.state.store, hub_url=hub_settings.base_url).public_key
    app.state.dac = service
    return app


@pytest.fixture
def client(live_hub: str) -> Iterator[httpx.Client]:
    """An HTTP client on the live hub (real HTTP on loopback)."""
    with httpx.Client(base_url=live_hub, timeout=30.0) as http:
        yield http


def login(client: Any, username: str, password: str | None = None) -> dict[str, str]:
    """Bearer headers for `username`."""
    pw = password or (ADMIN_PASSWORD if username == "admin" else PASSWORDS[username])
    response = client.post("/dac/login", json={"username": username, "password": pw})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(app: Any, *, port: int | None = None) -> LiveServer:
    """Run `app` with uvicorn on a loopback port in a thread."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    return LiveServer(f"http://127.0.0.1:{port}", server, thread)


@pytest.fixture
def live_hub(hub_app: Any) -> Iterator[str]:
    """The hub app served over real HTTP on loopback; yields its URL."""
    live = serve(hub_app)
    try:
        yield live.url
    finally:
        live.stop()


def broker_app(service: DacService) -> Any:
    """The passport broker endpoints (JWKS, revocation list) for this DAC's keys and list."""
    from fastapi import FastAPI

    from genomesh.hub.broker import build_broker_router

    app = FastAPI()
    app.include_router(
        build_broker_router(
            service.keys, service.revocations, issuer=service.settings.issuer, refresh_seconds=0
        )
    )
    return app


@pytest.fixture(scope="module")
def postgres_server_url() -> Iterator[str]:
    """One throwaway PostgreSQL server per test module (skipped without the binaries)."""
    require_postgres()
    with postgres_server() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server_url: str) -> str:
    """A fresh database on that server for each test (engines of earlier tests may stay open)."""
    return create_database(postgres_server_url, f"genomesh_dac_{next(_DATABASES)}")


_DATABASES = itertools.count(1)


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.slow])]
)
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The DAC's database URL: a SQLite file, then a PostgreSQL database (same contract)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))
