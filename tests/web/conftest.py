"""Browser tests of the portal: one real federation and one Chromium per test session.

- `federation`: a hub with its portal (genomesh.web.app.create_hub_app) and a node with its
  custodian portal (create_node_app), both uvicorn servers on 127.0.0.1, with two datasets of
  a small simulated cohort (consent mix: GRU, HMB, DS ...; cohort2 suppresses counts below
  100, so its counts are withheld), registered in the hub's catalogue
  and with the DAC; accounts: the hub admin, a committee member of cohort1. The node trusts
  the hub's passports and revocations and posts withdrawal notices to it.
- `browser`: Debian's Chromium driven by Playwright (never Playwright's own download).
- `page`: a fresh browser context per test (its own cookies) at desktop width.
- `shoot(page, name)`: saves a screenshot at desktop and at phone width into
  build/portal-screenshots/ (gitignored; GENOMESH_SCREENSHOTS overrides the folder).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from genomesh.core.consent import DataUseTerm
from genomesh.core.settings import DatasetPolicy, HubSettings, NodeSettings, TrustedIssuer
from genomesh.store import ingest_dataset, init_node, open_node
from genomesh.testing.cohorts import shared_cohort
from tests.dac.conftest import LiveServer, free_port, serve

CHROMIUM = "/usr/bin/chromium"
ADMIN_PASSWORD = "Federation-Keeper-4410"
MEMBER = ("mark", "Committee-Chair-Desk-31")
HMB = DataUseTerm(id="DUO:0000006")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
REPO = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("GENOMESH_SCREENSHOTS", REPO / "build" / "portal-screenshots"))


@dataclass
class WebFederation:
    hub: str
    node: str
    hub_app: Any
    node_app: Any
    node_dir: Path
    node_settings: NodeSettings
    hub_http: httpx.Client
    servers: list[LiveServer] = field(default_factory=list)

    def login(self, username: str, password: str) -> dict[str, str]:
        """API bearer headers for an account (for set-up steps that are not under test)."""
        response = self.hub_http.post(
            "/dac/login", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def participant_token(self, individual: str) -> str:
        """A participant token issued by the custodian (as `genomesh node participant-token`)."""
        from genomesh.gate import Gate
        from genomesh.node.state import NodeState

        gate = Gate(
            settings=self.node_settings,
            node=open_node(self.node_dir),
            state=NodeState.open(self.node_settings),
        )
        return str(gate.state.issue_participant_token(individual))


@pytest.fixture(scope="session")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebFederation]:
    from genomesh.web.app import create_hub_app, create_node_app

    root = tmp_path_factory.mktemp("web")
    cohort = shared_cohort()
    node_dir = root / "node"
    init_node(node_dir, name="nl-node", jurisdiction="NL")
    for dataset_id in ("cohort1", "cohort2"):
        ingest_dataset(
            node_dir, dataset_id, vcf=cohort.vcf, individuals=cohort.individuals,
            consent=cohort.consent, duo=[HMB], name=f"simulated {dataset_id}",
        )  # fmt: skip
    hub_port, node_port = free_port(), free_port()
    hub_url, node_url = f"http://127.0.0.1:{hub_port}", f"http://127.0.0.1:{node_port}"
    hub_settings = HubSettings(
        hub_dir=root / "hub", base_url=hub_url, issuer=hub_url, admin_password=ADMIN_PASSWORD,
        catalogue_sync_seconds=0,
    )  # fmt: skip
    hub_app = create_hub_app(hub_settings)
    servers = [serve(hub_app, port=hub_port)]
    hub_http = httpx.Client(base_url=hub_url, timeout=30)
    fed = WebFederation(hub_url, node_url, hub_app, None, node_dir, None, hub_http, servers)  # type: ignore[arg-type]
    try:
        admin = fed.login("admin", ADMIN_PASSWORD)
        secret = hub_http.post("/dac/nodes/nl-node/secret", headers=admin).json()["secret"]
        fed.node_settings = NodeSettings.load(
            node_dir,
            base_url=node_url,
            jurisdiction="NL",
            trusted_issuers=[
                TrustedIssuer(
                    iss=hub_url,
                    jwks_url=f"{hub_url}/.well-known/jwks.json",
                    revocations_url=f"{hub_url}/ga4gh/revocations",
                )
            ],
            passport_leeway_seconds=0,
            revocation_refresh_seconds=0,
            default_policy=DatasetPolicy(min_count=1),
            # cohort2 withholds every count below 100 (it has 60 people): suppressed answers
            dataset_policies={"cohort2": DatasetPolicy(min_count=100)},
            anti_differencing_answers=0,
            query_budget=1_000_000,
            hub_url=hub_url,
            hub_secret=secret,
            hub_key=_hub_key(hub_settings),  # the node accepts the hub's signed analysis rounds
        )
        fed.node_app = create_node_app(fed.node_settings)
        servers.append(serve(fed.node_app, port=node_port))
        _register(fed, admin)
        yield fed
    finally:
        hub_http.close()
        for server in reversed(servers):
            server.stop()


def _hub_key(settings: HubSettings) -> str:
    from genomesh.hub.signing import load_or_create_key, public_key_text

    return public_key_text(load_or_create_key(settings.hub_dir))


def _register(fed: WebFederation, admin: dict[str, str]) -> None:
    """The node joins, its catalogue is synced, the DAC records its datasets' DUO terms, and
    `mark` sits on cohort1's committee."""
    hub = fed.hub_http
    joined = hub.post(
        "/nodes", headers=admin, json={"name": "nl-node", "base_url": fed.node, "country": "NL"}
    )
    assert joined.status_code == 201, joined.text
    assert hub.post("/catalogue/sync", headers=admin).status_code == 200
    for dataset_id in ("cohort1", "cohort2"):
        info = open_node(fed.node_dir).dataset(dataset_id).info
        recorded = hub.put("/dac/datasets", headers=admin, json={
            "node": "nl-node", "dataset_id": dataset_id, "base_url": fed.node,
            "name": f"simulated {dataset_id}",
            "duo": [t.model_dump(mode="json") for t in info.duo],
        })  # fmt: skip
        assert recorded.status_code == 200, recorded.text
    made = hub.post("/dac/register", json={
        "username": MEMBER[0], "password": MEMBER[1], "institution": "uni.example.org",
        "country": "NL", "affiliation_role": "faculty", "accept_terms": True,
    })  # fmt: skip
    assert made.status_code == 201, made.text
    member = hub.post(
        "/dac/members", headers=admin,
        json={"username": MEMBER[0], "dataset": {"node": "nl-node", "dataset_id": "cohort1"}},
    )  # fmt: skip
    assert member.status_code == 200, member.text


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page in a fresh context (own cookies), desktop width; console errors collected."""
    context = browser.new_context(viewport=DESKTOP)
    tab = context.new_page()
    tab.console_errors = []  # CSP violations show up here
    tab.on("console", lambda m: tab.console_errors.append(m.text) if m.type == "error" else None)
    try:
        yield tab
    finally:
        context.close()


def _shoot(page: Any, name: str) -> list[Path]:
    """Screenshots of the current page at desktop and phone width (viewport restored)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size or DESKTOP
    paths = []
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        path = SHOTS / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        paths.append(path)
    page.set_viewport_size(before)
    return paths


@pytest.fixture
def shoot() -> Callable[[Any, str], list[Path]]:
    return _shoot


__all__ = ["ADMIN_PASSWORD", "MEMBER", "PHONE", "WebFederation"]
