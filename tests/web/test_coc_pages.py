"""The code-of-conduct parts in the hub's portal, over real HTTP against the session's
federation: the lay summary on the Apply form, the review route and the community's decision
on the application and committee pages, the public data-use register page and the catalogue's
register link, count and Local Contexts labels."""

from __future__ import annotations

import re
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.web.conftest import ADMIN_PASSWORD, MEMBER, WebFederation
from tests.web.research import PURPOSE

pytestmark = pytest.mark.slow
CORA = ("cora", "Community-Minded-Lab-27")
LAY = "We look for genes that change body weight, to understand obesity better."
COMMUNITY = "kaitiaki-example"


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def _client(fed: WebFederation, user: tuple[str, str] | None = None) -> httpx.Client:
    client = httpx.Client(base_url=fed.hub, timeout=30, headers={"Accept": "text/html"})
    if user is not None:
        token = _csrf(client.get("/login").text)
        done = client.post(
            "/login", data={"username": user[0], "password": user[1], "csrf_token": token}
        )
        assert done.status_code == 303, done.text
    return client


@pytest.fixture(scope="module")
def coc(federation: WebFederation) -> dict[str, Any]:
    """A community governing a participant group of cohort1 (BC labels), and `cora`, a
    vouched-for researcher, signed in to the portal."""
    hub, admin = federation.hub_http, federation.login("admin", ADMIN_PASSWORD)
    made = hub.post("/dac/communities", headers=admin, json={
        "slug": COMMUNITY, "name": "Kaitiaki Example", "governance_body": "Example board",
    })  # fmt: skip
    assert made.status_code == 201, made.text
    marked = hub.post(f"/dac/communities/{COMMUNITY}/data", headers=admin, json={
        "dataset": {"node": "nl-node", "dataset_id": "cohort1"}, "group": "whanau-1",
        "labels": ["BC Provenance", "BC Non-Commercial"],
    })  # fmt: skip
    assert marked.status_code == 200, marked.text
    registered = hub.post("/dac/register", json={
        "username": CORA[0], "password": CORA[1], "full_name": "Cora Munity",
        "email": "cora@uni.example.org", "institution": "uni.example.org", "country": "NL",
        "affiliation_role": "faculty", "accept_terms": True,
    })  # fmt: skip
    assert registered.status_code == 201, registered.text
    verified = hub.post(f"/dac/researchers/{CORA[0]}/verify", headers=admin, json={})
    assert verified.status_code == 200, verified.text
    client = _client(federation, CORA)
    yield {"client": client}
    client.close()


def _apply(client: httpx.Client, **fields: str) -> httpx.Response:
    form = client.get("/apply")
    assert form.status_code == 200, form.text[:300]
    data = {
        "csrf_token": _csrf(form.text), "datasets": "nl-node/cohort1", "title": "Weight genes",
        "category": "health_medical", "institution": PURPOSE["institution"], "country": "NL",
        "ethics_approval": "METC-2026-031", "will_publish": "yes", "accepted_terms": "yes",
        "action": "submit", **fields,
    }  # fmt: skip
    return client.post("/apply", data=data)


def test_apply__lay_summary_too_long_is_an_error_next_to_the_field(
    federation: WebFederation, coc: dict[str, Any]
) -> None:
    form = coc["client"].get("/apply").text
    assert '<label for="lay_summary">' in form and 'name="lay_summary"' in form
    refused = _apply(coc["client"], lay_summary="x" * 5001)
    assert refused.status_code == 400
    field = refused.text.split('id="lay_summary"')[1].split("</div>")[0]
    assert 'aria-invalid="true"' in refused.text.split('id="lay_summary"')[1][:200]
    assert "5000 characters" in field or "5,000" in field, field


def test_apply_review_register__route_community_and_public_register(
    federation: WebFederation, coc: dict[str, Any]
) -> None:
    client = coc["client"]
    sent = _apply(client, lay_summary=LAY)
    assert sent.status_code == 303, sent.text[:500]
    app_id = int(sent.headers["location"].rsplit("/", 1)[-1])
    page = client.get(f"/applications/{app_id}").text
    assert LAY in page
    assert "Reviewed by the data access committee." in page.split('id="review-route"')[1]
    reasons = page.split('id="review-reasons"')[1].split("</ul>")[0]
    assert "policy has every application reviewed by the committee" in reasons
    decisions = page.split('id="community-decisions"')[1].split("</ul>")[0]
    assert COMMUNITY in decisions and "waiting for the community" in decisions

    with closing(_client(federation, MEMBER)) as member:
        queue = member.get("/committee").text
        row = queue.split(f"/committee/applications/{app_id}")[1].split("</tr>")[0]
        assert "reviewed by the data access committee" in row
        assert f"{COMMUNITY}: waiting for the community" in row
        review = member.get(f"/committee/applications/{app_id}").text
        assert "waiting for the community" in review.split('id="community-decisions"')[1]
        form = _csrf(review)
        until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
        done = member.post(f"/committee/applications/{app_id}/decision",
                           data={"csrf_token": form, "decision": "approve", "until": until})  # fmt: skip
        assert done.status_code == 303, done.text[:500]

    # the applicant reports the publication on the application's page (a bad DOI first)
    page = client.get(f"/applications/{app_id}").text
    assert '<label for="doi">' in page.split('id="publication-form"')[1]
    action = f"/applications/{app_id}/publications"
    bad = client.post(action, data={"csrf_token": _csrf(page), "title": "Weight loci",
                                    "doi": "not-a-doi", "year": "2026"})  # fmt: skip
    assert bad.status_code == 400
    assert 'aria-invalid="true"' in bad.text.split('id="doi"')[1][:300]
    assert "Weight loci" in bad.text.split('id="title"')[1][:200]  # what was typed stays
    reported = client.post(action, data={
        "csrf_token": _csrf(page), "title": "Weight loci in Dutch cohorts",
        "doi": "10.1234/wg.2026.1", "url": "", "year": "2026",
    })  # fmt: skip
    assert reported.status_code == 303, reported.text[:500]
    shown = client.get(f"/applications/{app_id}").text.split('id="publications"')[1]
    assert "Weight loci in Dutch cohorts (2026)" in shown.split("</ul>")[0]
    with closing(_client(federation)) as anyone:  # public: no login
        catalogue = anyone.get("/discover").text.split('<table id="catalogue">')[1]
        row = catalogue.split("(cohort1)")[1].split("</tr>")[0]
        assert "BC Provenance" in row and "BC Non-Commercial" in row and "Kaitiaki Example" in row
        link = re.search(
            r'href="(/data-use-register/nl-node/cohort1)">(\d+) approved projects?<', row
        )
        assert link and int(link.group(2)) >= 1
        register = anyone.get(link.group(1))
        assert register.status_code == 200
        project = register.text.split(f'id="project-{app_id}"')[1].split("</article>")[0]
        assert "Weight genes" in project and LAY in project and "uni.example.org" in project
        assert "health or medical or biomedical research" in project
        assert "non-commercial use only" in project and "access now" in project
        assert "reviewed by the data access committee" in project
        assert (
            '<a href="https://doi.org/10.1234/wg.2026.1">Weight loci in Dutch cohorts</a>'
            in project
        )
        assert "(2026)" in project
        assert "BC Provenance" in register.text.split('id="communities"')[1]
        missing = anyone.get("/data-use-register/nl-node/nope")
        assert missing.status_code == 404 and "unknown dataset nl-node/nope" in missing.text
        assert "Traceback" not in missing.text


def _participant(fed: WebFederation, individual: str) -> httpx.Client:
    client = _client(fed)
    token = fed.participant_token(individual)
    signed = client.post("/participant/sign-in", data={
        "node": "nl-node", "token": token, "csrf_token": _csrf(client.get("/participant").text),
    })  # fmt: skip
    assert signed.status_code == 303, signed.text[:300]
    return client


def test_participant__findings_preferences_and_a_returned_finding(
    federation: WebFederation,
) -> None:
    """The participant opts in through the form (PUT to the node); the custodian accepts and
    delivers a flagged finding (their queue at the node); the page shows it with the
    counselling offer and the custodian's contact."""
    from genomesh.core.findings import FindingFlag, FindingSender
    from genomesh.node.state import NodeState
    from genomesh.participants.findings import Findings

    person = "SIM000021"
    with closing(_participant(federation, person)) as me:
        page = me.get("/participant").text
        assert "No finding has been returned to you." in page
        form = page.split('id="findings-preferences"')[1]
        for code in ("medically_actionable", "carrier_status", "pharmacogenomic", "vus", "other"):
            assert f'<label for="cat-{code}">' in form
        assert not re.search(r'name="categories" type="checkbox" value="\w+" checked', form)
        csrf = _csrf(page)
        refused = me.post("/participant/findings-preferences", data={
            "csrf_token": csrf, "categories": "medically_actionable", "via": "genetic_counsellor",
        })  # fmt: skip
        assert refused.status_code == 400
        assert re.search(r'id="contact-error">name your clinician or counsellor', refused.text)
        assert (
            me.post(
                "/participant/findings-preferences",
                data={"categories": "medically_actionable", "via": "custodian"},
            ).status_code
            == 403
        )
        saved = me.post("/participant/findings-preferences", data={
            "csrf_token": csrf, "categories": ["medically_actionable", "pharmacogenomic"],
            "via": "genetic_counsellor", "contact": "Dr Vos, clinical genetics, UMC",
        })  # fmt: skip
        assert saved.status_code == 303, saved.text[:300]
        state = NodeState.open(federation.node_settings)
        queue = Findings(state, custodian_contact="custodian@nl-node.example.org",
                         genetic_counselling="Free counselling: call 020 555 0101.")  # fmt: skip
        prefs = queue.preferences(person)
        assert prefs is not None and set(prefs.categories) == {"medically_actionable",
                                                               "pharmacogenomic"}  # fmt: skip
        flagged = queue.flag(
            FindingFlag(dataset_id="cohort1", individual_id=person,
                        category="medically_actionable", summary="A BRCA2 variant that "
                        "raises the risk of breast cancer", gene="BRCA2",
                        variant="13-32338000-C-T"),
            FindingSender(subject="sub-cora", username="cora", institution="uni.example.org",
                          application=1),
            individuals=frozenset({person}), withdrawn=False,
        )  # fmt: skip
        queue.review(flagged["id"], "accept", by="custodian")
        queue.deliver(flagged["id"], by="custodian", withdrawn=False, message="Please call us.")
        page = me.get("/participant").text
    card = page.split(f'id="finding-{flagged["id"]}"')[1].split("</article>")[0]
    assert "Findings a doctor can act on" in card and "BRCA2" in card
    assert "Free counselling: call 020 555 0101." in card
    assert "custodian@nl-node.example.org" in card and "Please call us." in card
    assert "a genetic counsellor (Dr Vos, clinical genetics, UMC)" in card
    assert "uni.example.org" in card
    form = page.split('id="findings-preferences"')[1]
    assert 'value="medically_actionable" checked' in form and 'value="vus" checked' not in form


def test_transparency__network_report_public_page(federation: WebFederation) -> None:
    """A custodian records a police demand and refuses it; the public page shows it in the
    network's counts and the node's row; a bad year is an error next to the field."""
    from genomesh.gate import Gate
    from genomesh.node.state import NodeState
    from genomesh.participants.compelled import decide, record_request
    from genomesh.store import open_node

    gate = Gate(settings=federation.node_settings, node=open_node(federation.node_dir),
                state=NodeState.open(federation.node_settings))  # fmt: skip
    year = datetime.now(UTC).year
    made = record_request(
        gate, requester="Regional police", requester_kind="police", legal_basis="Art. 126nf Sv",
        dataset_id="cohort2", individual_ids=["SIM000041"], purpose="an investigation",
        received=datetime.now(UTC).date(),
    )  # fmt: skip
    decide(gate, made.request_id, decision="refused", reason="no legal basis for research data")
    with closing(_client(federation)) as anyone:
        page = anyone.get("/transparency-report", params={"year": str(year)})
        assert page.status_code == 200, page.text[:300]
        police = page.text.split('<th scope="row">Police</th>')[1].split("</tr>")[0]
        cells = re.findall(r"<td>(\d+)</td>", police)
        assert cells[0] == "1" and cells[2] == "1"  # one demand; refused (after "not decided")
        assert "1 of 1 organisation reported" in page.text
        row = page.text.split('class="node-reported"')[1].split("</tr>")[0]
        assert "nl-node" in row
        bad = anyone.get("/transparency-report", params={"year": "last year"})
        assert bad.status_code == 400
        assert re.search(r'id="year-error">give the year as four digits', bad.text)
        assert "Transparency" in anyone.get("/").text  # in the navigation
