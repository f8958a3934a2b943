"""The portal end to end in Chromium against a real federation (hub + node on loopback):

1. discover -> register -> apply (with the consent pre-check) -> a committee member approves
   -> the researcher sees record-level results for the granted dataset only;
2. a participant signs in with their token, sees who used their data, withdraws -> the
   researcher finds the notice in their inbox;
3. the committee member revokes -> the researcher's next query gets no records.

Along the way: no participant token or passport in any URL the browser asked for, in any page,
or in any log line; no CSP violation in the console; screenshots at desktop and phone width.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.web.conftest import ADMIN_PASSWORD, MEMBER, WebFederation

pytestmark = pytest.mark.slow
RITA = ("rita", "Sequencing-Lab-Bench-77")


def _login(page: Any, hub: str, username: str, password: str) -> None:
    page.goto(f"{hub}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{hub}/account")


def _records(page: Any) -> list[str]:
    """The dataset of every record row on a Discover answer."""
    rows = page.locator("#records tbody tr")
    return [rows.nth(i).get_attribute("data-dataset") for i in range(rows.count())]


def _answer(page: Any, dataset: str) -> str:
    """The answer cell of one dataset's row in the per-node table ("12 (count)", ...)."""
    return str(page.locator(f"#nodes tr[data-dataset={dataset}] td").nth(3).inner_text())


def _ask(page: Any, hub: str) -> None:
    page.goto(f"{hub}/discover")
    page.get_by_label("Looking for").select_option("individuals")
    page.get_by_label("Answer as").select_option("record")
    page.get_by_role("button", name="Ask the network").click()
    page.wait_for_selector("#nodes")


def test_portal__apply_approve_records_withdraw_revoke(
    federation: WebFederation, browser: Any, shoot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hub = federation.hub
    researcher = browser.new_context(viewport={"width": 1280, "height": 900})
    committee = browser.new_context(viewport={"width": 1280, "height": 900})
    someone = browser.new_context(viewport={"width": 1280, "height": 900})
    urls: list[str] = []
    console: list[str] = []
    for context in (researcher, committee, someone):
        context.set_default_timeout(10_000)
        context.on("request", lambda r: urls.append(r.url))
    rita, mark, participant = researcher.new_page(), committee.new_page(), someone.new_page()
    for tab in (rita, mark, participant):
        tab.on("console", lambda m: console.append(m.text) if m.type == "error" else None)

    # 1. discover: both datasets in the catalogue, with their use conditions
    rita.goto(f"{hub}/discover")
    catalogue = rita.locator("#catalogue tbody")
    assert catalogue.locator("tr").count() == 2
    assert "DUO:0000006" in catalogue.inner_text()
    rita.wait_for_selector("#filters[data-terms-loaded]")  # autocomplete from /filtering_terms
    assert int(rita.locator("#filters").get_attribute("data-terms-loaded")) > 0
    shoot(rita, "discover")

    # register (a mistake first: the error is next to its field), log in
    rita.get_by_role("link", name="Register").click()
    rita.get_by_label("Username").fill(RITA[0])
    rita.get_by_label("Password (required)", exact=True).fill("short")
    rita.get_by_label("Password again").fill("short")
    rita.get_by_role("button", name="Create account").click()
    assert "too short" in rita.locator("#password-error").inner_text()
    shoot(rita, "register-error")
    rita.get_by_label("Password (required)", exact=True).fill(RITA[1])
    rita.get_by_label("Password again").fill(RITA[1])
    rita.get_by_label("Institution").fill("uni.example.org")
    rita.get_by_label("Country (two letters, e.g. NL)").fill("NL")
    rita.get_by_label("Your role").select_option("faculty")
    rita.get_by_label("I accept the GA4GH Registered Access terms").check()
    rita.get_by_role("button", name="Create account").click()
    assert "Account created" in rita.locator(".flash").inner_text()
    _login(rita, hub, *RITA)
    admin = federation.login("admin", ADMIN_PASSWORD)  # the hub admin vouches (not a page)
    assert federation.hub_http.post(
        "/dac/researchers/rita/verify", headers=admin, json={}
    ).is_success

    # apply for cohort1 from its catalogue row; the pre-check says it fits, in words
    rita.goto(f"{hub}/discover")
    rita.locator("#catalogue tbody tr", has_text="cohort1").get_by_role(
        "link", name="Apply"
    ).click()
    assert rita.get_by_label(re.compile(r"simulated cohort1")).is_checked()
    rita.get_by_label("Project title").fill("Cardiometabolic genetics")
    rita.get_by_label("Kind of research").select_option("health_medical")
    rita.get_by_label("Ethics approval reference").fill("METC-2026-031")
    rita.get_by_role("button", name="Check against the consent terms").click()
    assert "fits the consent" in rita.locator(".precheck").inner_text()
    shoot(rita, "apply-precheck")
    rita.get_by_label("I accept the data access terms of these datasets").check()
    rita.get_by_role("button", name="Submit the application").click()
    assert rita.locator("#state").inner_text() == "submitted"
    application = rita.url.rsplit("/", 1)[-1]

    # the committee member approves, with an expiry
    _login(mark, hub, *MEMBER)
    mark.get_by_role("link", name="Committee").click()
    mark.get_by_role("link", name="Cardiometabolic genetics").click()
    assert "fits the consent" in mark.locator(".precheck").inner_text()
    shoot(mark, "committee-review")
    until = (datetime.now(UTC).date() + timedelta(days=90)).isoformat()
    mark.get_by_label("Last day of access (for an approval)").fill(until)
    mark.get_by_role("button", name="Approve").click()
    assert "approved" in mark.locator(".flash").inner_text()
    assert mark.locator("#state").inner_text() == "approved"

    # the researcher now gets records of cohort1, and of cohort1 only
    _ask(rita, hub)
    datasets = _records(rita)
    assert datasets and set(datasets) == {"cohort1"}
    assert "(record)" in _answer(rita, "cohort1")
    assert "(record)" not in _answer(rita, "cohort2")
    assert "suppressed" in _answer(rita, "cohort2")  # a withheld count says so, not "0"
    shoot(rita, "discover-records")
    individual = rita.locator("#records tbody tr").first.locator("td").nth(2).inner_text()

    # 2. the participant signs in with their token and withdraws
    token = federation.participant_token(individual)
    participant.goto(f"{hub}/participant")
    participant.get_by_label("Organisation that holds your data").select_option("nl-node")
    participant.get_by_label("Your personal token").fill(token)
    participant.get_by_role("button", name="Continue").click()
    report = participant.locator(".dataset-report", has_text="cohort1")
    assert "rita" in report.inner_text() and "records about you" in report.inner_text()
    shoot(participant, "participant")
    participant.get_by_role("link", name="Withdraw from the studies…").click()
    assert "does not undo" in participant.locator("main").inner_text()
    participant.get_by_role("button", name="Withdraw").click()  # not confirmed: refused
    assert "tick the box" in participant.locator("#confirm-error").inner_text()
    participant.get_by_label(re.compile("I understand")).check()
    participant.get_by_role("button", name="Withdraw").click()
    assert "You have withdrawn" in participant.locator(".flash").inner_text()
    assert token not in participant.content()
    assert all(token not in c["value"] for c in someone.cookies())  # kept on the server

    rita.goto(f"{hub}/account")
    notice = rita.locator("tr.notification")
    texts = [notice.nth(i).inner_text() for i in range(notice.count())]
    # one notice per dataset whose answers to rita the participant shaped: cohort1's records,
    # and cohort2's counts (same people; withheld below its threshold, still recorded as
    # shaped by them in the disclosure ledger, so the notice errs on the side of telling)
    assert sum("nl-node/cohort1" in t for t in texts) == 1
    assert all("nl-node/cohort1" in t or "nl-node/cohort2" in t for t in texts)
    assert all("withdr" in t for t in texts)
    shoot(rita, "account-inbox")
    _ask(rita, hub)
    assert individual not in rita.locator("#records").inner_text()

    # 3. the committee member revokes; the researcher's next query gets no records
    mark.goto(f"{hub}/committee/applications/{application}")
    mark.get_by_label("Reason for revoking").fill("audit finding")
    mark.get_by_role("button", name="Revoke access").click()
    assert mark.locator("#state").inner_text() == "revoked"
    mark.goto(f"{hub}/committee")  # the grant history keeps it, as revoked
    assert "revoked" in mark.locator("tr", has_text="Cardiometabolic genetics").inner_text()
    _ask(rita, hub)
    assert _records(rita) == []
    assert "(record)" not in _answer(rita, "cohort1")

    # no participant token or passport (a JWT) in any URL the browsers asked for, or in any
    # log line of the hub and node (both run in this process); no CSP violation
    jwt = re.compile(r"eyJ[\w-]{10,}\.[\w-]{10,}")
    assert urls and all(token not in url and not jwt.search(url) for url in urls)
    for record in caplog.records:
        message = record.getMessage()
        assert token not in message and not jwt.search(message), message
    assert [m for m in console if "Content Security Policy" in m] == []
    for context in (researcher, committee, someone):
        context.close()
