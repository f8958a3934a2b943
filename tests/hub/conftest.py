"""Fixtures for hub tests: a real hub on a loopback port, stand-in and real nodes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from genomesh.core.purpose import ResearchPurpose
from genomesh.core.settings import HubSettings, TrustedIssuer
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

    # -- passports the hub's DAC would issue (signed with the hub's own keys) ---------------
    def trusted(self) -> TrustedIssuer:
        """The hub as a node's trusted passport issuer (inline JWKS)."""
        broker = self.app.state.broker
        return TrustedIssuer(iss=broker.issuer, jwks=broker.keys.jwks())

    def passport(
        self,
        subject: str = "researcher-1",
        *,
        datasets: Sequence[str] = (),
        registered: bool = True,
        purpose: ResearchPurpose | None = None,
        audience: str | None = None,
        lifetime: int = 3600,
    ) -> str:
        """A hub-signed passport (default audience: the hub's own) with Registered Access
        visas, a ControlledAccessGrants visa per dataset URL, and the purpose if given."""
        issuer = self.app.state.broker.visa_issuer()
        visas: list[Any] = []
        if registered:
            visas += [issuer.researcher_status(subject), issuer.accepted_terms(subject)]
        visas += [issuer.controlled_access_grant(subject, dataset_url=url) for url in datasets]
        if purpose is not None:
            visas.append(issuer.research_purpose(subject, purpose=purpose))
        aud = audience or self.app.state.settings.hub_audience
        return str(issuer.passport(subject, visas, audience=aud, lifetime=lifetime))

    def bearer(self, **options: Any) -> str:
        return f"Bearer {self.passport(**options)}"

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
