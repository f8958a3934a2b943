"""In Chromium, against the real federation: run a GWAS from the form and explore its plot
(hover shows the variant, a click shows its row), and the custodian's audit search at the
node. Screenshots at desktop and phone width go to build/portal-screenshots/."""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
import pytest

from genomesh.node.admin import node_admin_token
from genomesh.web.sessions import COOKIE_NAME
from tests.web.conftest import ADMIN_PASSWORD, MEMBER
from tests.web.research import BMI, RESEARCHER, approved_researcher, portal_cookie

pytestmark = pytest.mark.slow
TOP_POINT = """() => {
  const gd = document.getElementById("manhattan");
  let best = null;
  gd.data.forEach((trace) => trace.y.forEach((y, i) => {
    if (!best || y > best.y) best = {x: trace.x[i], y: y, id: trace.customdata[i][0]};
  }));
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const box = gd.getBoundingClientRect();
  return {id: best.id, x: box.left + xa._offset + xa.l2p(best.x),
          y: box.top + ya._offset + ya.l2p(best.y)};
}"""


@pytest.fixture(scope="module")
def ana_token(federation: Any) -> str:
    """ana's DAC session (approved for cohort1), unless another test module made her."""
    made = federation.hub_http.post(
        "/dac/login", json={"username": RESEARCHER[0], "password": RESEARCHER[1]}
    )
    if made.status_code == 200:
        return str(made.json()["token"])
    return approved_researcher(federation, admin_password=ADMIN_PASSWORD, member=MEMBER)


def test_gwas_in_the_browser__hover_shows_the_variant_click_shows_its_row(
    federation: Any, ana_token: str, page: Any, shoot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    cookie = portal_cookie(federation, ana_token)[COOKIE_NAME]
    page.context.add_cookies([{"name": COOKIE_NAME, "value": cookie, "url": federation.hub}])
    page.goto(f"{federation.hub}/analysis")
    page.select_option("#type", "gwas")
    page.check("input[name=datasets][value='nl-node/cohort1']")
    page.fill("#trait", BMI)
    page.fill("#covariates", "sex")
    page.fill("#min_mac", "1")
    shoot(page, "analysis-form")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(re.compile(r"/analysis/[0-9a-f]{16}$"))
    # the page polls the progress and reloads itself when the result is ready
    page.wait_for_selector("#manhattan[data-ready=true]", timeout=90_000)
    page.wait_for_selector("#qq[data-ready=true]")
    assert "variants tested" in page.inner_text("#plot-summary")

    top = page.evaluate(TOP_POINT)
    page.mouse.move(top["x"], top["y"])
    hover = page.locator("#manhattan .hovertext")
    hover.first.wait_for(state="visible")
    assert top["id"] in (hover.first.text_content() or "")  # an SVG group: text, not inner_text

    page.mouse.click(top["x"], top["y"])
    page.wait_for_selector("#selected:not([hidden])")
    assert page.inner_text("#selected-title") == f"Selected variant {top['id']}"
    assert top["id"] in page.inner_text("#selected-row")
    highlighted = page.locator(f"#top-hits tr.selected[data-variant='{top['id']}']")
    assert highlighted.count() == 1  # the strongest hit is in the table of top hits
    shoot(page, "analysis-gwas")

    # the keyboard way to the same row: a "Show" button in the table
    second = page.locator("#top-hits button[data-show-variant]").nth(1)
    variant = second.get_attribute("data-show-variant")
    second.focus()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "v => document.getElementById('selected-title').textContent.endsWith(v)", arg=variant
    )
    assert page.console_errors == []  # no CSP violation, no script error
    # the passports the portal fetched for every call (JWTs) and the DAC session token are in
    # no URL the browser asked for and in no log line of hub or node (both in this process)
    jwt = re.compile(r"eyJ[\w-]{10,}\.[\w-]{10,}")
    assert len(urls) > 5 and not any(jwt.search(u) or ana_token in u for u in urls)
    for record in caplog.records:
        message = record.getMessage()
        assert ana_token not in message and not jwt.search(message), message


def test_custodian_audit_search_in_the_browser(federation: Any, page: Any, shoot: Any) -> None:
    asked = httpx.post(f"{federation.node}/individuals", json={
        "meta": {"apiVersion": "v2.0"}, "query": {"requestedGranularity": "boolean"}})  # fmt: skip
    assert asked.status_code == 200, asked.text
    page.goto(f"{federation.node}/portal/custodian")
    assert page.url.endswith("/portal/custodian/login")
    page.fill("#token", node_admin_token(federation.node_settings))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/portal/custodian$"))
    assert "simulated cohort1" in page.inner_text("main")
    shoot(page, "custodian-datasets")
    page.get_by_role("link", name="Audit log").click()
    page.fill("#dataset", "cohort1")
    page.select_option("#outcome", "answered")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"dataset=cohort1"))
    assert page.inner_text("#verdict").startswith("Verified: audit log intact")
    rows = page.locator("#audit-table tbody tr[data-seq]")
    assert rows.count() >= 1
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td")
        assert "cohort1" in cells.nth(5).inner_text()
        assert cells.nth(6).inner_text().startswith("answered")
        assert cells.nth(7).inner_text().startswith("verified")
    assert node_admin_token(federation.node_settings) not in page.url
    shoot(page, "custodian-audit")
    assert page.console_errors == []
