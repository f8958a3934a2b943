"""The code of conduct end to end over real HTTP on loopback (issue #14 parts 2, 5, 6, 7):
return of findings, the public data-use register, proportionate review, community data
sovereignty, each with its refusal paths.

One hub (registry, catalogue, DAC, passport broker) and one Swedish node (its jurisdiction
profile needs ethics approval for individual-level data) run as uvicorn servers. The node
holds two datasets from the small simulated cohort: `biobank` (HMB), part of whose
participants are governed by a community (BC Provenance, BC Non-Commercial), and `open1`
(GRU), whose review policy auto-approves aggregate-only analyses by registered researchers
from a recognised institution.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from genomesh.access.purpose_match import match_purpose
from genomesh.core.consent import DataUseTerm
from genomesh.core.purpose import ResearchPurpose
from genomesh.core.settings import (
    CommunityGroup,
    DatasetPolicy,
    HubSettings,
    NodeSettings,
    TrustedIssuer,
)
from genomesh.hub.signing import load_or_create_key, public_key_text, sign_message
from genomesh.store import ingest_dataset, init_node, open_node
from genomesh.testing.cohorts import shared_cohort
from tests.dac.conftest import LiveServer, free_port, serve

pytestmark = pytest.mark.slow

ADMIN_PASSWORD = "Federation-Keeper-4410"
REGISTRY_TOKEN = "registry-admin-token-for-tests"
NODE_ADMIN = {"Authorization": "Bearer node-admin-token-for-tests"}
PASSWORD = "Long-Enough-Passphrase-90"
PURPOSE = {
    "category": "health_medical", "institution": "uni.example.org", "country": "SE",
    "ethics_approval": "EPM-2026-0117",
}  # fmt: skip
COMMUNITY = "saami-council"


@dataclass
class Fed:
    hub: httpx.Client
    node: httpx.Client
    node_url: str
    node_app: Any
    node_dir: Path
    group: list[str]
    servers: list[LiveServer]

    def login(self, username: str, password: str = PASSWORD) -> dict[str, str]:
        response = self.hub.post("/dac/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def passport(self, headers: dict[str, str], application: int) -> str:
        response = self.hub.get(
            "/dac/passport", headers=headers,
            params={"application": application, "audience": self.node_url},
        )  # fmt: skip
        assert response.status_code == 200, response.text
        return str(response.json()["passport"])

    def records(self, passport: str | None, dataset: str) -> tuple[str, set[str]]:
        headers = {"Authorization": f"Bearer {passport}"} if passport else {}
        response = self.node.get(
            "/individuals", headers=headers,
            params={"requestedGranularity": "record", "datasets": dataset, "limit": 1000},
        )  # fmt: skip
        assert response.status_code == 200, response.text
        body = response.json()
        ids = {
            r["id"]
            for rs in (body.get("response") or {}).get("resultSets", [])
            for r in rs.get("results") or []
        }
        return body["meta"]["returnedGranularity"], ids

    def researcher(self, username: str, *, verify: bool = True) -> dict[str, str]:
        made = self.hub.post("/dac/register", json={
            "username": username, "password": PASSWORD, "institution": "uni.example.org",
            "country": "SE", "affiliation_role": "faculty", "accept_terms": True,
        })  # fmt: skip
        assert made.status_code == 201, made.text
        if verify:
            admin = self.login("admin", ADMIN_PASSWORD)
            done = self.hub.post(f"/dac/researchers/{username}/verify", headers=admin, json={})
            assert done.status_code == 200, done.text
        return self.login(username)

    def apply(self, headers: dict[str, str], dataset: str, purpose: dict[str, Any],
              **extra: Any) -> dict[str, Any]:  # fmt: skip
        response = self.hub.post("/dac/applications", headers=headers, json={
            "title": extra.pop("title", "A study"), "datasets": [f"se-node/{dataset}"],
            "purpose": purpose, "accepted_terms": True, "submit": True, **extra,
        })  # fmt: skip
        assert response.status_code == 201, response.text
        return dict(response.json())

    def approve(self, application: int) -> dict[str, Any]:
        until = (datetime.now(UTC) + timedelta(days=90)).isoformat()
        response = self.hub.post(
            f"/dac/applications/{application}/decision", headers=self.login("mark"),
            json={"decision": "approve", "until": until, "comment": "fits"},
        )  # fmt: skip
        assert response.status_code == 200, response.text
        return dict(response.json())


def fitting(node_dir: Path, dataset: str, purpose: dict[str, Any]) -> set[str]:
    """Individuals whose own consent approves `purpose` (the policy engine is the oracle)."""
    consents = open_node(node_dir).dataset(dataset).consents()
    wanted = ResearchPurpose.model_validate(purpose)
    today = datetime.now(UTC).date()
    return {
        i for i, terms in consents.items()
        if match_purpose(wanted, terms, today=today).decision == "approve"
    }  # fmt: skip


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fed]:
    from genomesh.hub.app import create_app as create_hub
    from genomesh.node.app import create_app as create_node

    root = tmp_path_factory.mktemp("coc")
    cohort = shared_cohort()
    node_dir = root / "node"
    init_node(node_dir, name="se-node", jurisdiction="SE")
    duo = {"biobank": DataUseTerm(id="DUO:0000006"), "open1": DataUseTerm(id="DUO:0000042")}
    for dataset_id, term in duo.items():
        ingest_dataset(
            node_dir, dataset_id, vcf=cohort.vcf, individuals=cohort.individuals,
            consent=cohort.consent, duo=[term], name=f"simulated {dataset_id}",
        )  # fmt: skip
    group = sorted(fitting(node_dir, "biobank", PURPOSE))[:6]

    hub_port, node_port = free_port(), free_port()
    hub_url, node_url = f"http://127.0.0.1:{hub_port}", f"http://127.0.0.1:{node_port}"
    hub_settings = HubSettings(
        hub_dir=root / "hub", base_url=hub_url, issuer=hub_url, admin_password=ADMIN_PASSWORD,
        admin_token=REGISTRY_TOKEN, catalogue_sync_seconds=0,
    )  # fmt: skip
    servers = [serve(create_hub(hub_settings), port=hub_port)]
    hub = httpx.Client(base_url=hub_url, timeout=30)
    community = CommunityGroup(
        community=COMMUNITY, group="reindeer-herders", individuals=group,
        labels=["BC Provenance", "BC Non-Commercial"],
    )  # fmt: skip
    node_settings = NodeSettings.load(
        node_dir, base_url=node_url, jurisdiction="SE", name="se-node",
        trusted_issuers=[TrustedIssuer(
            iss=hub_url, jwks_url=f"{hub_url}/.well-known/jwks.json",
            revocations_url=f"{hub_url}/ga4gh/revocations",
        )],
        passport_leeway_seconds=0, revocation_refresh_seconds=0,
        default_policy=DatasetPolicy(min_count=1),
        dataset_policies={"biobank": DatasetPolicy(min_count=1, communities=[community])},
        anti_differencing_answers=0, query_budget=1_000_000,
        hub_key=public_key_text(load_or_create_key(hub_settings.hub_dir)),
        admin_token="node-admin-token-for-tests",
        custodian_contact="Biobank Sweden, data office: +46 8 000 00 00",
        genetic_counselling="Free genetic counselling at Karolinska: book via the data office",
    )  # fmt: skip
    node_app = create_node(node_settings)
    servers.append(serve(node_app, port=node_port))
    node = httpx.Client(base_url=node_url, timeout=60)
    fed = Fed(hub, node, node_url, node_app, node_dir, group, servers)
    try:
        registry = {"Authorization": f"Bearer {REGISTRY_TOKEN}"}
        joined = hub.post(
            "/nodes", headers=registry,
            json={"name": "se-node", "base_url": node_url, "country": "SE"},
        )  # fmt: skip
        assert joined.status_code == 201, joined.text
        assert hub.post("/catalogue/sync", headers=registry).status_code == 200
        admin = fed.login("admin", ADMIN_PASSWORD)
        automatic = {"automatic": {"institutions": ["uni.example.org"], "days": 30}}
        for dataset_id, term in duo.items():
            recorded = hub.put("/dac/datasets", headers=admin, json={
                "node": "se-node", "dataset_id": dataset_id, "base_url": node_url,
                "duo": [term.model_dump(mode="json")], "jurisdiction": "SE",
                "review_policy": automatic if dataset_id == "open1" else None,
            })  # fmt: skip
            assert recorded.status_code == 200, recorded.text
        assert hub.post("/dac/register", json={"username": "mark", "password": PASSWORD}).is_success
        for dataset_id in duo:
            made = hub.post("/dac/members", headers=admin, json={
                "username": "mark", "dataset": {"node": "se-node", "dataset_id": dataset_id},
            })  # fmt: skip
            assert made.status_code == 200, made.text
        yield fed
    finally:
        hub.close()
        node.close()
        for server in reversed(servers):
            server.stop()


def participant(fed: Fed, individual: str) -> dict[str, str]:
    token = fed.node_app.state.node_state.issue_participant_token(individual)
    return {"Authorization": f"Bearer {token}"}


def findings_audit(fed: Fed) -> list[dict[str, Any]]:
    return [
        e.body for e in fed.node_app.state.node_state.audit_entries()
        if e.body.get("what", {}).get("surface") == "findings"
    ]  # fmt: skip


# -- part 2: return of individual findings ----------------------------------------------
def test_findings__flag_review_deliver_with_every_refusal(fed: Fed) -> None:
    fiona = fed.researcher("fiona")
    app = fed.apply(fiona, "open1", PURPOSE, title="Hereditary cancer panel")
    assert app["review_route"] == "committee"  # not aggregate-only
    fed.approve(app["id"])
    people = sorted(set(open_node(fed.node_dir).dataset("open1").consents()) - set(fed.group))
    opted_in, silent, leaver = people[:3]

    # the participant opts in to two categories, through a genetic counsellor
    me = participant(fed, opted_in)
    prefs = {"categories": ["medically_actionable", "carrier_status"], "via": "genetic_counsellor",
             "contact": "Dr. A. Lind"}  # fmt: skip
    assert fed.node.put("/participants/me/findings-preferences", headers=me, json=prefs).is_success
    # the custodian records another's preferences from the enrolment form; then they withdraw
    recorded = fed.node.put(
        f"/admin/participants/{leaver}/findings-preferences", headers=NODE_ADMIN,
        json={"categories": ["medically_actionable"]},
    )  # fmt: skip
    assert recorded.status_code == 200, recorded.text
    gone = fed.node.post(
        "/participants/me/withdraw", headers=participant(fed, leaver), json={"dataset_id": "open1"}
    )
    assert gone.status_code == 200, gone.text

    def flag(individual: str, category: str, headers: dict[str, str] = fiona) -> httpx.Response:
        return fed.hub.post("/dac/findings", headers=headers, json={
            "application": app["id"], "dataset": "se-node/open1", "individual_id": individual,
            "category": category, "summary": "pathogenic BRCA2 variant", "gene": "BRCA2",
            "variant": "13-32340300-C-T", "evidence": "ClinVar: pathogenic (4 stars)",
        })  # fmt: skip

    flagged = flag(opted_in, "medically_actionable")
    assert flagged.status_code == 202, flagged.text
    finding = flagged.json()
    assert finding["node"] == "se-node" and finding["state"] == "pending_review"

    # refusals, each with its reason: a category not opted in to, no preferences, withdrawn
    refused = flag(opted_in, "vus")
    assert refused.status_code == 403
    assert "did not opt in to the return of vus findings" in refused.text
    refused = flag(silent, "medically_actionable")
    assert refused.status_code == 403 and "not opted in to the return of any" in refused.text
    refused = flag(leaver, "medically_actionable")
    assert refused.status_code == 409 and "has withdrawn from dataset open1" in refused.text
    # never directly to the node, nor from someone without the approval
    forged = fed.node.post("/findings", json={"payload": {"type": "finding"}, "sig": "AAAA"})
    assert forged.status_code == 401
    stranger = flag(opted_in, "medically_actionable", headers=fed.researcher("sam"))
    assert stranger.status_code == 404 and "no application" in stranger.text

    # the custodian's queue: ask for confirmation, then accept, then deliver
    queue = fed.node.get("/admin/findings", headers=NODE_ADMIN, params={"state": "pending_review"})
    assert [f["id"] for f in queue.json()] == [finding["id"]]
    assert queue.json()[0]["sender"]["username"] == "fiona"
    assert fed.node.get("/admin/findings").status_code == 401
    fid = finding["id"]
    asked = fed.node.post(
        f"/admin/findings/{fid}/review",
        headers=NODE_ADMIN,
        json={"decision": "ask_confirmation", "comment": "Sanger please"},
    )
    assert asked.json()["state"] == "confirmation_requested", asked.text
    early = fed.node.post(f"/admin/findings/{fid}/deliver", headers=NODE_ADMIN)
    assert early.status_code == 409 and "only accepted findings" in early.text
    # the researcher sees the request through the hub, and confirms: back in the queue
    seen = fed.hub.get(f"/dac/findings/se-node/{fid}", headers=fiona)
    assert seen.json()["state"] == "confirmation_requested", seen.text
    assert seen.json()["history"][-1]["comment"] == "Sanger please"
    assert "individual_id" not in seen.json()
    assert fed.hub.get(f"/dac/findings/se-node/{fid}", headers=fed.login("sam")).status_code == 404
    confirmed = fed.hub.post(
        f"/dac/findings/se-node/{fid}/confirmation",
        headers=fiona,
        json={"evidence": "Sanger-confirmed in an accredited lab"},
    )
    assert confirmed.json()["state"] == "pending_review", confirmed.text
    again = fed.hub.post(
        f"/dac/findings/se-node/{fid}/confirmation", headers=fiona, json={"evidence": "twice"}
    )
    assert again.status_code == 409
    accepted = fed.node.post(
        f"/admin/findings/{fid}/review", headers=NODE_ADMIN, json={"decision": "accept"}
    )
    assert accepted.json()["state"] == "accepted", accepted.text
    assert fed.node.get("/participants/me/findings", headers=me).json()["findings"] == []
    delivered = fed.node.post(
        f"/admin/findings/{fid}/deliver",
        headers=NODE_ADMIN,
        json={"message": "Please book a counselling session."},
    )
    assert delivered.json()["state"] == "delivered", delivered.text

    page = fed.node.get("/participants/me/findings", headers=me)
    assert page.status_code == 200, page.text
    [shown] = page.json()["findings"]
    assert shown["gene"] == "BRCA2" and shown["category"] == "medically_actionable"
    assert "genetic counselling" in shown["genetic_counselling"].lower()
    assert shown["custodian_contact"].startswith("Biobank Sweden")
    assert shown["via"] == "genetic_counsellor" and "Dr. A. Lind" in shown["via_text"]
    # nobody else sees it
    assert fed.node.get("/participants/me/findings", headers=participant(fed, silent)).json()[
        "findings"] == []  # fmt: skip

    # every step is in the hash-chained audit log, refusals with their reasons
    steps = [(e["what"]["operation"], e["outcome"]) for e in findings_audit(fed)]
    assert steps.count(("flag", "refused")) == 3
    for step in [("preferences", "recorded"), ("flag", "recorded"), ("review", "recorded"),
                 ("confirm", "recorded"), ("deliver", "recorded")]:  # fmt: skip
        assert step in steps
    reasons = [e["refused"]["open1"] for e in findings_audit(fed) if e["outcome"] == "refused"]
    assert any("withdrawn" in r for r in reasons)
    assert all(opted_in not in str(e) for e in findings_audit(fed))  # pseudonyms only
    assert fed.node_app.state.node_state.verify().ok


def test_findings__opting_out_before_delivery_cancels_it(fed: Fed) -> None:
    gina = fed.researcher("gina")
    app = fed.apply(gina, "open1", PURPOSE, title="Carrier screening")
    fed.approve(app["id"])
    person = sorted(set(open_node(fed.node_dir).dataset("open1").consents()) - set(fed.group))[5]
    me = participant(fed, person)
    fed.node.put("/participants/me/findings-preferences", headers=me,
                 json={"categories": ["carrier_status"]})  # fmt: skip
    flagged = fed.hub.post("/dac/findings", headers=gina, json={
        "application": app["id"], "dataset": "se-node/open1", "individual_id": person,
        "category": "carrier_status", "summary": "CFTR F508del carrier",
    })  # fmt: skip
    assert flagged.status_code == 202, flagged.text
    fid = flagged.json()["id"]
    fed.node.post(f"/admin/findings/{fid}/review", headers=NODE_ADMIN, json={"decision": "accept"})
    fed.node.put("/participants/me/findings-preferences", headers=me, json={"categories": []})
    refused = fed.node.post(f"/admin/findings/{fid}/deliver", headers=NODE_ADMIN)
    assert refused.status_code == 409
    assert "no longer wants carrier_status findings" in refused.text
    assert fed.node.get("/participants/me/findings", headers=me).json()["findings"] == []


def test_findings__each_review_is_a_notice_in_the_flagging_researchers_inbox(fed: Fed) -> None:
    settings = fed.node_app.state.gate.settings
    admin = fed.login("admin", ADMIN_PASSWORD)
    secret = fed.hub.post("/dac/nodes/se-node/secret", headers=admin).json()["secret"]
    hana = fed.researcher("hana")
    app = fed.apply(hana, "open1", PURPOSE, title="Cardiomyopathy panel")
    fed.approve(app["id"])
    person = sorted(set(open_node(fed.node_dir).dataset("open1").consents()) - set(fed.group))[6]
    me = participant(fed, person)
    fed.node.put("/participants/me/findings-preferences", headers=me,
                 json={"categories": ["medically_actionable"]})  # fmt: skip
    flagged = fed.hub.post("/dac/findings", headers=hana, json={
        "application": app["id"], "dataset": "se-node/open1", "individual_id": person,
        "category": "medically_actionable", "summary": "MYBPC3 truncating variant",
    })  # fmt: skip
    assert flagged.status_code == 202, flagged.text
    fid = flagged.json()["id"]

    def inbox(headers: dict[str, str]) -> list[dict[str, Any]]:
        return [
            n for n in fed.hub.get("/dac/me/notifications", headers=headers).json()
            if n["individual_pseudonym"].startswith(f"finding {fid} ")
        ]  # fmt: skip

    settings.hub_url, settings.hub_secret = str(fed.hub.base_url).rstrip("/"), secret
    try:
        asked = fed.node.post(
            f"/admin/findings/{fid}/review",
            headers=NODE_ADMIN,
            json={"decision": "ask_confirmation", "comment": "Sanger first"},
        )
        assert asked.json()["hub_notice"] == "delivered", asked.text
        [told] = inbox(hana)
        assert told["node"] == "se-node" and told["dataset_id"] == "open1" and not told["read"]
        assert f"your finding {fid} (medically_actionable)" in told["message"]
        assert "now confirmation_requested" in told["message"]
        assert "comment: Sanger first" in told["message"]
        assert person not in str(told)  # never the participant's id
        confirmed = fed.hub.post(f"/dac/findings/se-node/{fid}/confirmation", headers=hana,
                                 json={"evidence": "Sanger-confirmed"})  # fmt: skip
        assert confirmed.status_code == 200, confirmed.text
        fed.node.post(
            f"/admin/findings/{fid}/review",
            headers=NODE_ADMIN,
            json={"decision": "accept", "comment": "clinically actionable"},
        )
        delivered = fed.node.post(
            f"/admin/findings/{fid}/deliver",
            headers=NODE_ADMIN,
            json={"message": "private note for the participant"},
        )
        assert delivered.json()["hub_notice"] == "delivered", delivered.text
        newest, accepted, _asked = inbox(hana)
        assert "now accepted; comment: clinically actionable" in accepted["message"]
        assert "delivered to the participant" in newest["message"]
        assert "private note" not in newest["message"]  # the participant's note stays theirs
        # only the researcher who flagged it is told
        assert inbox(fed.researcher("ivan")) == []
        # a notice without the node's credentials is refused, and stores nothing
        forged = {
            "kind": "finding",
            "node": "se-node",
            "finding": fid,
            "state": "declined",
            "dataset_id": "open1",
            "recipient": "x",
            "at": "2026-12-01T00:00:00Z",
        }
        assert fed.hub.post("/notifications", json=forged).status_code == 401
        bad = fed.hub.post("/notifications", json={**forged, "state": "lost"},
                           headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
        assert bad.status_code == 400 and "unknown finding state" in bad.text
    finally:
        settings.hub_url, settings.hub_secret = None, None
    # with no hub configured the review stands, and says the hub was not told
    other = fed.hub.post("/dac/findings", headers=hana, json={
        "application": app["id"], "dataset": "se-node/open1", "individual_id": person,
        "category": "medically_actionable", "summary": "second look",
    })  # fmt: skip
    declined = fed.node.post(f"/admin/findings/{other.json()['id']}/review", headers=NODE_ADMIN,
                             json={"decision": "decline", "comment": "benign"})  # fmt: skip
    assert declined.json()["state"] == "declined"
    assert declined.json()["hub_notice"] == "local_only"


# -- parts 5 and 6: proportionate review and the public data-use register ---------------
def test_review__aggregate_only_gru_auto_approved_with_record_and_register(fed: Fed) -> None:
    vera = fed.researcher("vera")
    aggregate = {**PURPOSE, "category": "general", "aggregates_only": True}
    app = fed.apply(
        vera,
        "open1",
        aggregate,
        title="Allele frequencies in Sweden",
        lay_summary="We count how common some gene variants are in Sweden.",
    )
    assert app["state"] == "approved", app
    assert app["review_route"] == "automatic"
    assert any("recognised institution uni.example.org" in r for r in app["review_reasons"])
    [auto] = [e for e in app["events"] if e["action"] == "auto_approve"]
    assert auto["actor"] == "system" and auto["data"]["route"] == "automatic"

    # the node holds the auto-approval to aggregates: counts, never records
    granularity, ids = fed.records(fed.passport(vera, app["id"]), "open1")
    assert granularity == "count" and ids == set()

    # refusals of the automatic route, each saying why
    no_ethics = {k: v for k, v in aggregate.items() if k != "ethics_approval"}
    routed = fed.apply(vera, "open1", no_ethics)
    assert routed["state"] == "submitted" and routed["review_route"] == "committee"
    assert any(
        "jurisdiction SE requires ethics approval (rule se-ethics-approval)" in r
        for r in routed["review_reasons"]
    ), routed["review_reasons"]
    records = fed.apply(vera, "open1", {**aggregate, "aggregates_only": False})
    assert records["review_route"] == "committee"
    assert any("aggregate-only" in r for r in records["review_reasons"])
    unvetted = fed.apply(fed.researcher("uma", verify=False), "open1", aggregate)
    assert unvetted["state"] == "submitted"
    assert any("not a registered researcher" in r for r in unvetted["review_reasons"])
    elsewhere = fed.apply(vera, "biobank", {**aggregate, "category": "health_medical"})
    assert any("reviewed by the committee" in r for r in elsewhere["review_reasons"])

    # the public register: no login; the project, its lay summary, purpose, route, dates
    published = fed.hub.post(
        f"/dac/applications/{app['id']}/publications", headers=vera,
        json={"title": "Variant frequencies in a Swedish biobank", "doi": "10.1234/sweden.2026"},
    )  # fmt: skip
    assert published.status_code == 201, published.text
    bad = fed.hub.post(f"/dac/applications/{app['id']}/publications", headers=vera,
                       json={"title": "no link"})  # fmt: skip
    assert bad.status_code == 400 and "doi or url" in bad.text
    register = fed.hub.get("/dac/data-use-register/se-node/open1")
    assert register.status_code == 200, register.text
    projects = {p["application"]: p for p in register.json()["projects"]}
    assert routed["id"] not in projects  # not approved: not in the register
    project = projects[app["id"]]
    assert project["lay_summary"].startswith("We count how common")
    assert project["institution"] == "uni.example.org"
    assert project["purpose"][0]["id"] == "DUO:0000042"
    assert {"id": "DUO:0000046", "label": "non-commercial use only"} in project["purpose"]
    assert project["review"] == "automatic" and project["approved_at"] and project["approved_until"]
    assert project["publications"][0]["doi"] == "10.1234/sweden.2026"
    assert "applicant" not in project and "summary" not in project
    missing = fed.hub.get("/dac/data-use-register/se-node/no-such-dataset")
    assert missing.status_code == 404 and "unknown dataset" in missing.text
    # ... and in the catalogue
    entry = fed.hub.get("/catalogue/se-node/open1").json()
    assert entry["dataUseRegister"]["approvedProjects"] >= 1
    assert entry["dataUseRegister"]["url"] == "/dac/data-use-register/se-node/open1"


# -- part 7: community data sovereignty ---------------------------------------------------
def test_community__committee_approval_alone_leaves_the_community_out(fed: Fed) -> None:
    admin = fed.login("admin", ADMIN_PASSWORD)
    made = fed.hub.post("/dac/communities", headers=admin, json={
        "slug": COMMUNITY, "name": "Saami Council", "governance_body": "Research ethics board",
    })  # fmt: skip
    assert made.status_code == 201, made.text
    fed.hub.post("/dac/register", json={"username": "aili", "password": PASSWORD})
    assert fed.hub.post(f"/dac/communities/{COMMUNITY}/members", headers=admin,
                        json={"username": "aili"}).status_code == 200  # fmt: skip
    bad = fed.hub.post(f"/dac/communities/{COMMUNITY}/data", headers=admin, json={
        "dataset": "se-node/biobank", "labels": ["BC Whatever"]})  # fmt: skip
    assert bad.status_code == 400 and "not a Local Contexts" in bad.text
    marked = fed.hub.post(f"/dac/communities/{COMMUNITY}/data", headers=admin, json={
        "dataset": "se-node/biobank", "group": "reindeer-herders",
        "labels": ["BC Provenance", "BC Non-Commercial"],
    })  # fmt: skip
    assert marked.status_code == 200, marked.text
    # the catalogue shows the labels, with the machine-readable condition
    entry = fed.hub.get("/catalogue/se-node/biobank").json()
    [shown] = entry["communities"]
    assert shown["community"] == COMMUNITY and shown["group"] == "reindeer-herders"
    assert {"label": "BC Non-Commercial", "condition": "non_commercial"} in shown["labels"]

    rita = fed.researcher("rita")
    app = fed.apply(
        rita,
        "biobank",
        PURPOSE,
        title="Cardiometabolic genetics",
        lay_summary="How genes shape heart health.",
    )
    assert app["communities"] == [{"community": COMMUNITY, "state": "pending", "decided_by": None,
                                  "decided_at": None, "comment": ""}]  # fmt: skip
    approved = fed.approve(app["id"])
    assert approved["state"] == "approved"
    assert "genomesh.CommunityApproval" not in {v["type"] for v in approved["visas"]}

    # committee approval only: the community's participants count in no answer
    everyone = fitting(fed.node_dir, "biobank", PURPOSE)
    granularity, ids = fed.records(fed.passport(rita, app["id"]), "biobank")
    assert granularity == "record"
    assert ids == everyone - set(fed.group) and ids

    # the governance body sees the application and decides; a decline needs a reason
    aili = fed.login("aili")
    listed = fed.hub.get(f"/dac/communities/{COMMUNITY}/applications", headers=aili).json()
    assert [a["application"] for a in listed] == [app["id"]]
    assert listed[0]["lay_summary"] == "How genes shape heart health."
    outsider = fed.hub.get(f"/dac/communities/{COMMUNITY}/applications", headers=rita)
    assert outsider.status_code == 403
    decide = f"/dac/communities/{COMMUNITY}/applications/{app['id']}/decision"
    assert fed.hub.post(decide, headers=rita, json={"decision": "approve"}).status_code == 403
    assert fed.hub.post(decide, headers=aili, json={"decision": "decline"}).status_code == 400
    ok = fed.hub.post(decide, headers=aili, json={"decision": "approve", "comment": "agreed"})
    assert ok.status_code == 200, ok.text
    again = fed.hub.post(decide, headers=aili, json={"decision": "decline", "comment": "no"})
    assert again.status_code == 409

    # with the community's approval too, its members count
    granularity, ids = fed.records(fed.passport(rita, app["id"]), "biobank")
    assert ids == everyone

    # BC Non-Commercial is enforced like a DUO modifier, even with the community's approval
    cora = fed.researcher("cora")
    commercial = {**PURPOSE, "commercial": True, "for_profit": True}
    capp = fed.apply(cora, "biobank", commercial)
    fed.approve(capp["id"])
    assert fed.hub.post(f"/dac/communities/{COMMUNITY}/applications/{capp['id']}/decision",
                        headers=aili, json={"decision": "approve"}).status_code == 200  # fmt: skip
    _, ids = fed.records(fed.passport(cora, capp["id"]), "biobank")
    assert not ids & set(fed.group)
    assert ids == fitting(fed.node_dir, "biobank", commercial) - set(fed.group)

    # without any passport the community's participants do not count either
    response = fed.node.get("/individuals", params={"datasets": "biobank",
                                                    "requestedGranularity": "count"})  # fmt: skip
    assert response.status_code == 200

    # reported back to the community: who, what, when, publications
    fed.hub.post(f"/dac/applications/{app['id']}/publications", headers=rita,
                 json={"title": "Heart genes", "url": "https://example.org/paper"})  # fmt: skip
    report = fed.hub.get(f"/dac/communities/{COMMUNITY}/report", headers=aili)
    assert report.status_code == 200, report.text
    body = report.json()
    mine = {a["application"]: a for a in body["applications"]}
    assert mine[app["id"]]["applicant"] == "rita"
    assert mine[app["id"]]["community_decision"]["state"] == "approved"
    assert mine[app["id"]]["approved_at"]
    assert body["publications"] == [
        {**body["publications"][0], "title": "Heart genes", "application": app["id"]}
    ]
    # every answer the node gave from the community's data, per recipient: only rita's
    # record query after the community approved (cora's and the anonymous ones left them out)
    [node] = body["nodes"]
    assert node["status"] == "ok" and node["node"] == "se-node"
    [group] = node["groups"]
    assert group["group"] == "reindeer-herders" and group["participants"] == len(fed.group)
    [used] = group["results"]
    assert used["answers"] == 1 and used["participants"] == len(fed.group)
    assert used["what"] == ["beacon/individuals"]
    assert mine[app["id"]]["results"] == [
        {"node": "se-node", "dataset_id": "biobank", "group": "reindeer-herders", **used}
    ]
    assert mine[capp["id"]]["results"] == []
    custodian = fed.node.get(f"/admin/communities/{COMMUNITY}/report", headers=NODE_ADMIN)
    assert custodian.json()["groups"] == node["groups"]
    outsider = fed.hub.get(f"/dac/communities/{COMMUNITY}/report", headers=rita)
    assert outsider.status_code == 403

    # the community withdraws its approval (a reason is required; only an approval can be
    # withdrawn): the community visa is revoked and its participants count no more
    withdraw = {"decision": "withdraw", "comment": "the board reviewed the use again"}
    assert fed.hub.post(decide, headers=aili, json={"decision": "withdraw"}).status_code == 400
    assert fed.hub.post(decide, headers=rita, json=withdraw).status_code == 403
    granted = {v["type"]: v for v in fed.hub.get(f"/dac/applications/{app['id']}",
                                                 headers=rita).json()["visas"]}  # fmt: skip
    assert "genomesh.CommunityApproval" in granted
    before = fed.passport(rita, app["id"])
    done = fed.hub.post(decide, headers=aili, json=withdraw)
    assert done.status_code == 200, done.text
    assert done.json()["community_decision"]["state"] == "withdrawn"
    twice = fed.hub.post(decide, headers=aili, json=withdraw)
    assert twice.status_code == 409 and "only an approval can be withdrawn" in twice.text
    _, ids = fed.records(fed.passport(rita, app["id"]), "biobank")
    assert ids == everyone - set(fed.group) and ids
    revoked = fed.hub.get("/ga4gh/revocations").json()["revoked"]
    assert granted["genomesh.CommunityApproval"]["jti"] in revoked
    _, ids = fed.records(before, "biobank")  # a passport issued before: its visa is revoked
    assert ids == everyone - set(fed.group)
    history = fed.hub.get(f"/dac/applications/{app['id']}", headers=rita).json()["events"]
    assert history[-1]["action"] == "community_withdraw"
    assert history[-1]["comment"] == "the board reviewed the use again"


def test_node__forged_or_misaddressed_flags_are_refused(fed: Fed, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    payload = {"type": "finding", "flag": {}, "sender": {}}
    other = sign_message(payload, Ed25519PrivateKey.generate(), iss="hub", aud="se-node")
    assert fed.node.post("/findings", json=other).status_code == 401
    hub_key = load_or_create_key(Path(fed.node_dir).parent / "hub")
    misaddressed = sign_message(payload, hub_key, iss="hub", aud="other-node")
    assert fed.node.post("/findings", json=misaddressed).status_code == 401
    malformed = sign_message(payload, hub_key, iss="hub", aud="se-node")
    response = fed.node.post("/findings", json=malformed)
    assert response.status_code == 400, response.text


def test_cli__auto_approval_register_flag_review_deliver(
    fed: Fed, capsys: pytest.CaptureFixture[str]
) -> None:
    from genomesh.cli.main import main

    hub = str(fed.hub.base_url).rstrip("/")
    hank = fed.researcher("hank")["Authorization"].removeprefix("Bearer ")
    capsys.readouterr()
    assert main(["dac", "apply", "--hub", hub, "--token", hank, "--title", "Frequencies",
                 "--dataset", "se-node/open1", "--category", "general", "--aggregates-only",
                 "--ethics", "EPM-2026-0200", "--institution", "uni.example.org",
                 "--lay-summary", "Counting variants for a Nordic reference panel.",
                 "--accept-terms", "--will-publish"]) == 0  # fmt: skip
    shown = capsys.readouterr().out
    assert "review: automatic" in shown and "approved" in shown
    app_id = int(shown.split("application ", 1)[1].split(":", 1)[0])
    assert main(["dac", "data-use", "se-node/open1", "--hub", hub]) == 0
    assert "Counting variants for a Nordic reference panel." in capsys.readouterr().out

    person = sorted(set(open_node(fed.node_dir).dataset("open1").consents()) - set(fed.group))[9]
    node_dir = str(fed.node_dir)
    assert main(["node", "findings-preferences", node_dir, "--individual", person,
                 "--category", "everything"]) != 0  # fmt: skip
    assert "--category" in capsys.readouterr().err
    assert main(["node", "findings-preferences", node_dir, "--individual", person,
                 "--category", "pharmacogenomic", "--via", "clinician"]) == 0  # fmt: skip
    assert "return pharmacogenomic, through the clinician" in capsys.readouterr().out
    assert main(["dac", "flag-finding", "--hub", hub, "--token", hank, "--application",
                 str(app_id), "--dataset", "se-node/open1", "--individual", person,
                 "--category", "pharmacogenomic", "--summary", "CYP2C19 poor metaboliser",
                 "--json"]) == 0  # fmt: skip
    finding = json.loads(capsys.readouterr().out)
    assert finding["state"] == "pending_review"
    assert main(["node", "findings", node_dir, "--state", "pending_review", "--json"]) == 0
    assert finding["id"] in [f["id"] for f in json.loads(capsys.readouterr().out)]
    assert (
        main(["node", "finding-review", node_dir, str(finding["id"]), "--decision", "decline"]) != 0
    )
    assert "say why" in capsys.readouterr().err
    assert main(["node", "finding-review", node_dir, str(finding["id"]), "--decision",
                 "ask_confirmation", "--comment", "genotype again"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["dac", "finding-status", "se-node", str(finding["id"]), "--hub", hub,
                 "--token", hank]) == 0  # fmt: skip
    assert "confirmation_requested" in capsys.readouterr().out
    assert main(["dac", "finding-confirm", "se-node", str(finding["id"]), "--hub", hub,
                 "--token", hank, "--evidence", "repeat genotyping agrees"]) == 0  # fmt: skip
    assert "pending_review" in capsys.readouterr().out
    assert main(["node", "finding-review", node_dir, str(finding["id"]),
                 "--decision", "accept"]) == 0  # fmt: skip
    assert main(["node", "finding-deliver", node_dir, str(finding["id"])]) == 0
    assert "delivered" in capsys.readouterr().out
    page = fed.node.get("/participants/me/findings", headers=participant(fed, person)).json()
    assert [f["summary"] for f in page["findings"]] == ["CYP2C19 poor metaboliser"]
    assert page["findings"][0]["via"] == "clinician"
