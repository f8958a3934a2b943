"""Matchmaking from the portal against the real federation: the node enrols a patient and
takes matches from the hub (peer `hub`); a clinician submits a patient through the form, in
Chromium (HPO type-ahead, errors next to the field), and sees the match ranked, its score
explained, the contact, and the HPO release acknowledged.

Needs the hub's network matchmaker (`genomesh.hub.matchmaker`, the rare-disease work):
skipped where this hub has none."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from genomesh.web.sessions import COOKIE_NAME
from tests.web.conftest import ADMIN_PASSWORD, MEMBER
from tests.web.research import RESEARCHER, approved_researcher, portal_cookie

pytest.importorskip("genomesh.hub.matchmaker.network", reason="the hub has no network matchmaker")
pytestmark = pytest.mark.slow
PATIENT = {
    "id": "NL-KCNQ2-1",
    "contact": {"name": "Dr Node", "institution": "UMC Utrecht",
                "href": "mailto:genetics@umc.example.org"},
    "features": [{"id": "HP:0001250"}, {"id": "HP:0001263"}],
    "genomicFeatures": [{"gene": {"id": "KCNQ2"}}],
}  # fmt: skip


@pytest.fixture(scope="module")
def enrolled(federation: Any) -> Iterator[str]:
    """The node's custodian takes matches from the hub and enrols one patient of cohort2.

    cohort2's count threshold (100 in this federation) is lowered to 1 while the module runs.
    The per-participant exposure budget stays on: matchmaking answers are charged but never
    narrowed (genomesh.disclosure.budget.NARROWED_TIERS), so a single patient is found."""
    from genomesh.core.settings import DatasetPolicy
    from genomesh.matchmaker.registry import CONSENT_STATEMENT, MatchmakerRegistry
    from genomesh.store import open_node

    registry = MatchmakerRegistry(federation.node_dir)
    if "hub" not in registry.peers():
        registry.add_peer("hub")
    people = sorted(open_node(federation.node_dir).dataset("cohort2").consents())
    individual = people[-1]
    registry.enrol([PATIENT], dataset_id="cohort2", known_individuals=frozenset(people),
                   individual_of={PATIENT["id"]: individual}, consent=CONSENT_STATEMENT)  # fmt: skip
    policies = federation.node_settings.dataset_policies
    before = policies.get("cohort2")
    policies["cohort2"] = DatasetPolicy(min_count=1)
    try:
        yield individual
    finally:
        registry.remove(PATIENT["id"])
        if before is None:
            policies.pop("cohort2", None)
        else:
            policies["cohort2"] = before


@pytest.fixture(scope="module")
def ana_token(federation: Any) -> str:
    made = federation.hub_http.post(
        "/dac/login", json={"username": RESEARCHER[0], "password": RESEARCHER[1]}
    )
    if made.status_code == 200:
        return str(made.json()["token"])
    return approved_researcher(federation, admin_password=ADMIN_PASSWORD, member=MEMBER)


def test_match_form__errors_next_to_the_field(federation: Any, ana_token: str) -> None:
    with httpx.Client(base_url=federation.hub, cookies=portal_cookie(federation, ana_token)) as c:
        form = c.get("/matchmaking")
        assert form.status_code == 200 and "Human Phenotype Ontology (version" in form.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        bad = c.post("/matchmaking", data={"csrf_token": csrf, "label": "p1", "features": "fits"})
        assert bad.status_code == 400
        assert re.search(r"id=\"features-error\">&#39;fits&#39; is not an HPO term", bad.text)
        assert c.post("/matchmaking", data={"label": "p1", "genes": "KCNQ2"}).status_code == 403
        hints = c.get("/matchmaking/hpo.json", params={"q": "seizure"}).json()
        assert hints["terms"][0] == {"id": "HP:0001250", "label": "Seizure"}
        assert hints["version"] and "Human Phenotype Ontology" in hints["acknowledgement"]


def test_match_in_the_browser__ranked_explained_with_contact(
    federation: Any, enrolled: str, ana_token: str, page: Any, shoot: Any
) -> None:
    cookie = portal_cookie(federation, ana_token)[COOKIE_NAME]
    page.context.add_cookies([{"name": COOKIE_NAME, "value": cookie, "url": federation.hub}])
    page.goto(f"{federation.hub}/matchmaking")
    page.fill("#label", "my-patient-7")
    search = page.locator("#hpo-search")
    search.fill("seizu")
    page.wait_for_function("() => document.querySelectorAll('#hpo-options option').length > 0")
    first = page.locator("#hpo-options option").first.get_attribute("value")
    assert first == "HP:0001250 Seizure"
    search.fill(first)
    search.press("Enter")  # adds the term, does not send the form
    assert page.input_value("#features").strip() == "HP:0001250 Seizure"
    page.fill("#genes", "KCNQ2")
    shoot(page, "match-form")
    page.get_by_role("button", name="Find matches").click()
    page.wait_for_selector("#results")
    match = page.locator(".match").first
    assert PATIENT["id"] in match.locator("h3").inner_text()
    text = match.inner_text()
    assert "shared gene: KCNQ2" in text and "Seizure (HP:0001250)" in text
    assert re.search(r"Score (0\.\d{3}|1\.000)", text)
    contact = match.locator(".contact a")
    assert contact.get_attribute("href") == "mailto:genetics@umc.example.org"
    assert "Human Phenotype Ontology (version" in page.inner_text("#hpo-ack")
    shoot(page, "match-results")
    assert page.console_errors == []


def test_match_from_the_portal__notice_in_the_account_inbox(
    federation: Any, enrolled: str, ana_token: str
) -> None:
    """The hub notifies both submitters of a new pair; the portal submitter's notice (the
    account's own mailto: contact) shows in its inbox as a match, with score and contact."""
    with httpx.Client(base_url=federation.hub, cookies=portal_cookie(federation, ana_token)) as c:
        form = c.get("/matchmaking")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        sent = c.post(
            "/matchmaking",
            data={"csrf_token": csrf, "label": "ana-inbox-1", "features": "HP:0001250",
                  "genes": "KCNQ2"},
        )  # fmt: skip
        assert sent.status_code == 200 and PATIENT["id"] in sent.text
        page = c.get("/account")
    assert page.status_code == 200
    rows = re.findall(r'<tr class="notification match">(.*?)</tr>', page.text, re.S)
    mine = [r for r in rows if "ana-inbox-1" in r]
    assert len(mine) == 1, rows
    row = mine[0]
    assert "<td>match</td>" in row and PATIENT["id"] in row
    assert re.search(r"Score (0\.\d{3}|1\.000)\.", row)
    assert "shared genes KCNQ2" in row
    assert "mailto:genetics@umc.example.org" in row and "Dr Node" in row
