"""The portal's quality rules on the real hub pages (served by the session's federation):
a label on every field, a CSRF token in every form that changes something, errors in words
next to their field, the participant token only in a POST body, keyboard-only use, and
readable at phone width. Each test fails when its rule is broken on any page it visits."""

from __future__ import annotations

import re
from contextlib import closing
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from tests.web.conftest import MEMBER, PHONE, WebFederation

pytestmark = pytest.mark.slow
PUBLIC = ["/", "/discover", "/discover?ask=1&entry=individuals&granularity=count", "/register",
          "/login", "/participant", "/data-use-register/nl-node/cohort1", "/transparency-report"]  # fmt: skip
SIGNED_IN = ["/account", "/apply", "/committee"]


class Forms(HTMLParser):
    """Fields, labels and forms of one HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[dict[str, str]] = []
        self.labels: set[str] = set()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"method": a.get("method", "get").lower(), "inputs": []})
        elif tag == "label" and a.get("for"):
            self.labels.add(a["for"])
        if tag in ("input", "select", "textarea"):
            if self.forms:
                self.forms[-1]["inputs"].append(a)
            if a.get("type") not in ("hidden", "submit", "button"):
                self.fields.append(a)


def _parse(html: str) -> Forms:
    parser = Forms()
    parser.feed(html)
    return parser


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def _client(fed: WebFederation, user: tuple[str, str] | None = None) -> httpx.Client:
    client = httpx.Client(base_url=fed.hub, timeout=30, headers={"Accept": "text/html"})
    if user is not None:
        token = _csrf(client.get("/login").text)
        done = client.post(
            "/login", data={"username": user[0], "password": user[1], "csrf_token": token}
        )
        assert done.status_code == 303, done.text
    return client


def test_pages__every_field_labelled_every_post_form_has_csrf(federation: WebFederation) -> None:
    checked = 0
    for user, paths in ((None, PUBLIC), (MEMBER, SIGNED_IN)):
        with closing(_client(federation, user)) as client:
            for path in paths:
                response = client.get(path)
                assert response.status_code == 200, (path, response.text[:300])
                page = _parse(response.text)
                for field in page.fields:
                    assert field.get("id") in page.labels, f"{path}: no <label> for {field}"
                    checked += 1
                for form in page.forms:
                    if form["method"] == "post":
                        names = {i.get("name") for i in form["inputs"]}
                        assert "csrf_token" in names, f"{path}: a POST form without CSRF token"
    assert checked > 30


def test_login__without_csrf_token_refused(federation: WebFederation) -> None:
    with closing(_client(federation)) as client:
        client.get("/login")
        refused = client.post("/login", data={"username": MEMBER[0], "password": MEMBER[1]})
        assert refused.status_code == 403
        assert client.get("/account").status_code == 303  # still not signed in


def test_register__error_in_words_next_to_its_field(federation: WebFederation) -> None:
    with closing(_client(federation)) as client:
        token = _csrf(client.get("/register").text)
        response = client.post("/register", data={
            "username": "newcomer", "password": "tiny", "password_again": "tiny",
            "csrf_token": token,
        })  # fmt: skip
    assert response.status_code == 400
    error = re.search(r'<p class="field-error" id="password-error">([^<]+)</p>', response.text)
    assert error and "too short" in error.group(1)
    field = re.search(r'<input id="password"[^>]*>', response.text)
    assert field and 'aria-describedby="password-error"' in field.group(0)
    assert 'aria-invalid="true"' in field.group(0)


def test_participant__token_only_in_a_post_body(federation: WebFederation) -> None:
    token = federation.participant_token("SIM000003")
    with closing(_client(federation)) as client:
        page = client.get("/participant")
        forms = _parse(page.text).forms
        [sign_in] = [f for f in forms if any(i.get("name") == "token" for i in f["inputs"])]
        assert sign_in["method"] == "post"
        [field] = [i for i in sign_in["inputs"] if i.get("name") == "token"]
        assert field.get("type") == "password"
        # a token in the URL is ignored: still the sign-in form
        via_url = client.get("/participant", params={"token": token, "node": "nl-node"})
        assert 'name="token"' in via_url.text and "Your data at" not in via_url.text
        signed = client.post("/participant/sign-in", data={
            "node": "nl-node", "token": token, "csrf_token": _csrf(page.text),
        })  # fmt: skip
        assert signed.status_code == 303 and signed.headers["location"] == "/participant"
        assert token not in signed.headers.get("set-cookie", "")
        shown = client.get("/participant")
        assert "Your data at nl-node" in shown.text and token not in shown.text
        copy = client.get("/participant/export")  # "download my data"
        assert copy.headers["content-disposition"].startswith("attachment;")
        assert copy.json()["individual_id"] == "SIM000003" and copy.json()["datasets"]


def test_keyboard__log_in_without_a_mouse(federation: WebFederation, page: Any) -> None:
    page.goto(f"{federation.hub}/login")
    for _ in range(25):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "username":
            break
    else:
        pytest.fail("the username field cannot be reached with Tab")
    page.keyboard.type(MEMBER[0])
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(MEMBER[1])
    page.keyboard.press("Enter")
    page.wait_for_url(f"{federation.hub}/account")
    # the skip link is the first stop and moves focus to the content
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"


def test_phone_width__no_sideways_scrolling(federation: WebFederation, browser: Any) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, device_scale_factor=2)
    try:
        tab = context.new_page()
        pages = ["/", "/discover", "/register", "/login", "/participant"]
        pat = ("pat", "Flow-Cytometer-Desk-2291")
        made = federation.hub_http.post("/dac/register", json={
            "username": pat[0], "password": pat[1], "country": "NL", "accept_terms": True,
        })  # fmt: skip
        assert made.status_code == 201, made.text
        applied = federation.hub_http.post("/dac/applications", headers=federation.login(*pat), json={
            "title": "Phone width", "datasets": [{"node": "nl-node", "dataset_id": "cohort1"}],
            "purpose": {"category": "health_medical", "country": "NL"}, "accepted_terms": True,
            "submit": True,
        })  # fmt: skip
        review = f"/committee/applications/{applied.json()['id']}"  # shows long dataset URLs
        for path in [*pages, "signed in", "/account", "/committee", review]:
            if path == "signed in":
                tab.goto(f"{federation.hub}/login")
                tab.get_by_label("Username").fill(MEMBER[0])
                tab.get_by_label("Password").fill(MEMBER[1])
                tab.get_by_role("button", name="Log in").click()
                continue
            tab.goto(f"{federation.hub}{path}")
            width = tab.evaluate("document.documentElement.clientWidth")
            scroll = tab.evaluate("document.documentElement.scrollWidth")
            font = tab.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
            assert width == PHONE["width"], f"{path}: laid out {width} px wide on a phone"
            assert scroll <= width, f"{path}: {scroll} px of content in {width} px"
            assert font >= 16
    finally:
        context.close()


def test_account__passport_downloaded_as_an_uncached_file(federation: WebFederation) -> None:
    with closing(_client(federation, MEMBER)) as client:
        response = client.get("/account/passport")
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["cache-control"] == "no-store"
    assert response.text.count(".") == 2 and response.text.startswith("eyJ")  # a JWT


def test_discover__bad_search_and_query_errors_next_to_their_fields(
    federation: WebFederation,
) -> None:
    with closing(_client(federation)) as client:
        bad_duo = client.get("/discover", params={"duo": "DUO:9999999"})
        position = client.get("/discover", params={"ask": "1", "start": "100"})
        letters = client.get("/discover", params={"min_size": "many"})
    assert bad_duo.status_code == 400
    assert re.search(r'<p class="field-error" id="duo-error">[^<]*DUO:9999999', bad_duo.text)
    assert position.status_code == 400
    assert 'id="reference-error">name the chromosome' in position.text
    assert 'id="min_size-error">give the smallest number' in letters.text


def test_committee__deny_needs_a_reason_approval_a_future_date(federation: WebFederation) -> None:
    hub = federation.hub_http
    made = hub.post("/dac/register", json={
        "username": "sam", "password": "Plate-Reader-Lamp-5150", "institution": "uni.example.org",
        "country": "NL", "accept_terms": True,
    })  # fmt: skip
    assert made.status_code == 201, made.text
    applied = hub.post("/dac/applications", headers=federation.login("sam", "Plate-Reader-Lamp-5150"), json={
        "title": "Rules test", "datasets": [{"node": "nl-node", "dataset_id": "cohort1"}],
        "purpose": {"category": "health_medical", "country": "NL"}, "accepted_terms": True,
        "submit": True,
    })  # fmt: skip
    assert applied.status_code == 201, applied.text
    path = f"/committee/applications/{applied.json()['id']}"
    with closing(_client(federation, MEMBER)) as client:
        token = _csrf(client.get(path).text)
        no_reason = client.post(
            f"{path}/decision", data={"decision": "reject", "csrf_token": token}
        )
        assert no_reason.status_code == 400
        assert 'id="comment-error">say why' in no_reason.text
        past = client.post(f"{path}/decision", data={
            "decision": "approve", "until": "2001-01-01", "csrf_token": token,
        })  # fmt: skip
        assert 'id="until-error">the last day of access must not be in the past' in past.text
        denied = client.post(f"{path}/decision", data={
            "decision": "reject", "comment": "no ethics approval given", "csrf_token": token,
        })  # fmt: skip
        assert denied.status_code == 303
        shown = client.get(path).text
    assert 'id="state">rejected' in shown and "no ethics approval given" in shown


def test_application__changes_requested_then_sent_again(federation: WebFederation) -> None:
    sam = ("sam2", "Gel-Imager-Bench-8620")
    hub = federation.hub_http
    made = hub.post("/dac/register", json={
        "username": sam[0], "password": sam[1], "country": "NL", "accept_terms": True,
    })  # fmt: skip
    assert made.status_code == 201, made.text
    applied = hub.post("/dac/applications", headers=federation.login(*sam), json={
        "title": "First go", "datasets": [{"node": "nl-node", "dataset_id": "cohort1"}],
        "purpose": {"category": "health_medical", "country": "NL"}, "accepted_terms": True,
        "submit": True,
    })  # fmt: skip
    number = applied.json()["id"]
    with closing(_client(federation, MEMBER)) as member:
        path = f"/committee/applications/{number}"
        token = _csrf(member.get(path).text)
        asked = member.post(f"{path}/decision", data={
            "decision": "request_changes", "comment": "name your ethics committee",
            "csrf_token": token,
        })  # fmt: skip
        assert asked.status_code == 303
    with closing(_client(federation, sam)) as client:
        page = client.get(f"/applications/{number}").text
        assert "name your ethics committee" in page and 'id="state">changes requested' in page
        token = _csrf(page)
        missing = client.post(f"/applications/{number}/resubmit", data={
            "title": "Second go", "csrf_token": token,
        })  # fmt: skip
        assert (
            missing.status_code == 400 and 'id="comment-error">tell the committee' in missing.text
        )
        sent = client.post(f"/applications/{number}/resubmit", data={
            "title": "Second go", "summary": "", "comment": "METC Utrecht", "csrf_token": token,
        })  # fmt: skip
        assert sent.status_code == 303
        again = client.get(f"/applications/{number}").text
    assert 'id="state">submitted' in again and "Second go" in again


def test_errors__html_pages_in_words_for_bad_or_unknown_ids(federation: WebFederation) -> None:
    with closing(_client(federation, MEMBER)) as client:
        unknown = client.get("/applications/987654")
        bad = client.get("/applications/not-a-number")
        huge = client.get(f"/applications/{2**70}")
    assert unknown.status_code == 404 and "no application 987654" in unknown.text
    for response in (unknown, bad, huge):
        assert response.headers["content-type"].startswith("text/html")
        assert "Traceback" not in response.text and "<h1>" in response.text
    assert bad.status_code == 400 and huge.status_code == 400


def test_discover__catalogue_filters(federation: WebFederation) -> None:
    def rows(**params: str) -> int:
        with closing(_client(federation)) as client:
            response = client.get("/discover", params=params)
        assert response.status_code == 200, response.text[:500]
        table = response.text.split('<table id="catalogue">')[1].split("</table>")[0]
        return table.count("<tr>") - 1  # less the header row

    assert rows() == 2
    assert rows(duo="DUO:0000006 HMB (DUO:0000006, health or medical)") == 2  # a suggestion
    assert rows(duo="DUO:0000007") == 0  # disease-specific: not these datasets' terms
    assert rows(country="NL") == 2 and rows(country="GB") == 0
    assert rows(data_type="genotypes", min_size="60") == 2
    assert rows(min_size="61") == 0
    with closing(_client(federation)) as client:
        page = client.get("/discover").text
    assert '<option value="DUO:0000006">HMB (DUO:0000006' in page  # DUO suggestions
