"""Browser tests of the portal: one real federation and one Chromium per test session.

- `federation`: a hub with its portal (genomesh.web.app.create_hub_app) and a node with its
  custodian portal (create_node_app), both uvicorn servers on 127.0.0.1, with two datasets of
  a small simulated cohort (tests/loopback_federation.py; here cohort2 suppresses counts
  below 100, so its counts are withheld, and the node runs the hub's signed analysis rounds),
  registered in the hub's catalogue and with the DAC; accounts: the hub admin, a committee
  member of cohort1. The node trusts the hub's passports and revocations and posts
  withdrawal notices to it.
- `browser`: Debian's Chromium driven by Playwright (never Playwright's own download).
- `page`: a fresh browser context per test (its own cookies) at desktop width.
- `shoot(page, name)`: saves a screenshot at desktop and at phone width into
  build/portal-screenshots/ (gitignored; GENOMESH_SCREENSHOTS overrides the folder).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from genomesh.core.settings import DatasetPolicy
from genomesh.store import open_node
from tests.loopback_federation import (
    ADMIN_PASSWORD,
    DATASETS,
    NODE_NAME,
    LoopbackFederation,
    loopback_federation,
)

CHROMIUM = "/usr/bin/chromium"
MEMBER = ("mark", "Committee-Chair-Desk-31")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
REPO = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("GENOMESH_SCREENSHOTS", REPO / "build" / "portal-screenshots"))


WebFederation = LoopbackFederation  # the name the portal tests annotate with


@pytest.fixture(scope="session")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebFederation]:
    from genomesh.web.app import create_hub_app, create_node_app

    with loopback_federation(
        tmp_path_factory.mktemp("web"),
        create_hub=create_hub_app,
        create_node=create_node_app,
        accept_hub_rounds=True,  # the node accepts the hub's signed analysis rounds
        # cohort2 withholds every count below 100 (it has 60 people): suppressed answers
        dataset_policies={"cohort2": DatasetPolicy(min_count=100)},
    ) as fed:
        _register(fed, fed.login("admin", ADMIN_PASSWORD))
        yield fed


def _register(fed: WebFederation, admin: dict[str, str]) -> None:
    """The node joins, its catalogue is synced, the DAC records its datasets' DUO terms, and
    `mark` sits on cohort1's committee."""
    hub = fed.hub_http
    joined = hub.post(
        "/nodes", headers=admin, json={"name": NODE_NAME, "base_url": fed.node, "country": "NL"}
    )
    assert joined.status_code == 201, joined.text
    assert hub.post("/catalogue/sync", headers=admin).status_code == 200
    for dataset_id in DATASETS:
        info = open_node(fed.node_dir).dataset(dataset_id).info
        recorded = hub.put("/dac/datasets", headers=admin, json={
            "node": NODE_NAME, "dataset_id": dataset_id, "base_url": fed.node,
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
        json={"username": MEMBER[0], "dataset": {"node": NODE_NAME, "dataset_id": "cohort1"}},
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
