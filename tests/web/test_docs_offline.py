"""/docs and /redoc render in a real browser with no network: every request that does not go
to the federation's own loopback servers is blocked and counted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import WebFederation

pytestmark = pytest.mark.slow


def _offline(page: Any) -> list[str]:
    blocked: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith("http://127.0.0.1:"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return blocked


# the two pages come from one function (genomesh.core.apidocs) at hub and node alike: Swagger
# UI is checked at the hub and ReDoc at the node, to keep the browser run short
def test_api_docs__swagger_ui_offline_at_the_hub(federation: WebFederation, page: Any) -> None:
    blocked = _offline(page)
    page.goto(f"{federation.hub}/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)  # operations listed
    assert page.locator(".swagger-ui .opblock").count() > 5
    assert blocked == []


def test_api_docs__redoc_offline_at_the_node(federation: WebFederation, page: Any) -> None:
    blocked = _offline(page)
    page.goto(f"{federation.node}/redoc")
    page.wait_for_selector("[role=menuitem], .menu-content li", timeout=30_000)
    assert page.locator("h1, h2").count() > 3
    # ReDoc's "powered by" footer logo is the one thing it asks a CDN for (a decorative
    # image; the page is complete without it)
    assert [u for u in blocked if u != "https://cdn.redoc.ly/redoc/logo-mini.svg"] == []


def test_home__portal_at_the_hub_root(federation: WebFederation, page: Any, shoot: Any) -> None:
    page.goto(federation.hub + "/")
    assert page.locator("h1").first.inner_text() == "genomesh-hub"
    shoot(page, "hub-home")
    assert page.console_errors == []  # no CSP violation
