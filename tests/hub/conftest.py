"""Fixtures for hub tests: a real hub on a loopback port, stand-in and real nodes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from genomesh.core.settings import HubSettings
from genomesh.hub.app import create_app
from tests.hub.standin import ThreadServer


@dataclass
class RunningHub:
    server: ThreadServer
    app: Any
    token: str
    hub_dir: Path

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)

    def admin(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}

    def register(
        self, name: str, base_url: str, country: str = "NL", **extra: Any
    ) -> dict[str, Any]:
        with self.client() as client:
            response = client.post(
                "/nodes",
                json={"name": name, "base_url": base_url, "country": country, **extra},
                headers=self.admin(),
            )
        assert response.status_code == 201, response.text
        return response.json()


def start_hub(tmp_path: Path, **overrides: Any) -> RunningHub:
    settings = HubSettings(
        hub_dir=tmp_path / "hub",
        admin_token="test-admin-token",
        catalogue_sync_seconds=overrides.pop("catalogue_sync_seconds", 0),
        node_timeout_seconds=overrides.pop("node_timeout_seconds", 1.5),
        dialout_poll_seconds=overrides.pop("dialout_poll_seconds", 2.0),
        **overrides,
    )
    app = create_app(settings)
    server = ThreadServer(app).start()
    settings.base_url = server.url
    return RunningHub(server, app, "test-admin-token", settings.hub_dir)


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    running = start_hub(tmp_path)
    try:
        yield running
    finally:
        running.server.stop()
