"""/docs and /redoc at the node and the hub work with no internet: every asset the pages
load is served by genomesh itself (issue 10: they came from a CDN, blank in a TRE)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from genomesh.core.settings import HubSettings, NodeSettings
from genomesh.hub.app import create_app as create_hub
from genomesh.node.app import create_app as create_node
from genomesh.store import init_node
from tests.hub.standin import serving

# every URL a page refers to: src/href attributes, ReDoc's spec-url, Swagger UI's `url:`
_URLS = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|\burl:\s*['"]([^'"]+)['"]""")


def _apps(tmp_path: Path) -> dict[str, FastAPI]:
    init_node(tmp_path / "node", name="docs-node", jurisdiction="NL")
    node = create_node(NodeSettings.load(tmp_path / "node"), warm=False)
    hub = create_hub(HubSettings(hub_dir=tmp_path / "hub", admin_token="docs-test-admin-token"))
    return {"node": node, "hub": hub}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_docs__every_asset_is_served_by_genomesh(tmp_path: Path, page: str) -> None:
    for name, app in _apps(tmp_path).items():
        with serving(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
            _check_page(client, name, page)


def _check_page(client: httpx.Client, name: str, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200, (name, response.text[:300])
    html = response.text
    urls = [a or b for a, b in _URLS.findall(html)]
    assert urls, html
    assert "openapi.json" in " ".join(urls)
    for url in urls:
        assert url.startswith("/"), (name, page, url)  # never another host
        fetched = client.get(url)
        assert fetched.status_code == 200, (name, url)
        assert fetched.content, (name, url)
    assert "cdn." not in html and "fonts.googleapis" not in html
