"""The portal's rules on the analysis, matchmaking and custodian pages: a label on every
field, a CSRF token in every POST form, no sideways scrolling at phone width, and the
node admin token never in a URL, a link or a cookie. Each assertion fails when a page breaks
its rule."""

from __future__ import annotations

import re
from contextlib import closing
from typing import Any

import httpx
import pytest

from genomesh.node.admin import node_admin_token
from genomesh.web.sessions import COOKIE_NAME
from tests.web.conftest import ADMIN_PASSWORD, MEMBER, PHONE
from tests.web.research import RESEARCHER, approved_researcher, portal_cookie
from tests.web.test_rules import _parse

pytestmark = pytest.mark.slow
HUB_PAGES = ["/analysis", "/matchmaking"]
NODE_PAGES = ["/portal/custodian", "/portal/custodian/audit", "/portal/custodian/recipients",
              "/portal/custodian/withdrawals", "/portal/custodian/audit?surface=beacon"]  # fmt: skip


@pytest.fixture(scope="module")
def ana_cookie(federation: Any) -> dict[str, str]:
    made = federation.hub_http.post(
        "/dac/login", json={"username": RESEARCHER[0], "password": RESEARCHER[1]}
    )
    token = (
        str(made.json()["token"])
        if made.status_code == 200
        else approved_researcher(federation, admin_password=ADMIN_PASSWORD, member=MEMBER)
    )
    return portal_cookie(federation, token)


def _operator(fed: Any) -> httpx.Client:
    client = httpx.Client(base_url=fed.node, timeout=30)
    form = client.get("/portal/custodian/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    token = node_admin_token(fed.node_settings)
    done = client.post("/portal/custodian/login", data={"token": token, "csrf_token": csrf})
    assert done.status_code == 303
    assert token not in done.headers.get("set-cookie", "") and token not in done.headers["location"]
    return client


def _check(path: str, html: str) -> int:
    page = _parse(html)
    for field in page.fields:
        assert field.get("id") in page.labels, f"{path}: no <label> for {field}"
    for form in page.forms:
        if form["method"] == "post":
            names = {i.get("name") for i in form["inputs"]}
            assert "csrf_token" in names, f"{path}: a POST form without CSRF token"
    return len(page.fields)


def test_pages__labels_csrf_and_no_operator_token_in_links(
    federation: Any, ana_cookie: dict[str, str]
) -> None:
    checked = 0
    with closing(httpx.Client(base_url=federation.hub, cookies=ana_cookie)) as hub:
        for path in HUB_PAGES:
            response = hub.get(path)
            assert response.status_code == 200, (path, response.text[:300])
            checked += _check(path, response.text)
    token = node_admin_token(federation.node_settings)
    with closing(_operator(federation)) as node:
        for path in ["/portal/custodian/login", *NODE_PAGES]:
            response = node.get(path)
            assert response.status_code == 200, (path, response.text[:300])
            checked += _check(path, response.text)
            assert token not in response.text
    assert checked >= 15


def test_phone_width__no_sideways_scrolling(
    federation: Any, browser: Any, ana_cookie: dict[str, str]
) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, device_scale_factor=2)
    context.add_cookies([{"name": COOKIE_NAME, "value": ana_cookie[COOKIE_NAME],
                          "url": federation.hub}])  # fmt: skip
    try:
        tab = context.new_page()
        tab.goto(f"{federation.node}/portal/custodian/login")
        tab.fill("#token", node_admin_token(federation.node_settings))
        tab.keyboard.press("Enter")
        tab.wait_for_url(re.compile(r"/portal/custodian$"))
        urls = [f"{federation.hub}{p}" for p in HUB_PAGES]
        urls += [f"{federation.node}{p}" for p in NODE_PAGES[:4]]
        for url in urls:
            tab.goto(url)
            width = tab.evaluate("document.documentElement.clientWidth")
            scroll = tab.evaluate("document.documentElement.scrollWidth")
            assert width == PHONE["width"], f"{url}: laid out {width} px wide on a phone"
            assert scroll <= width, f"{url}: {scroll} px of content in {width} px"
    finally:
        context.close()
