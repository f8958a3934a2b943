"""End to end over real HTTP on loopback: DAC approval → passport → node answers → revoke,
expire, withdraw (issue #4's test).

One hub (genomesh.hub.app.create_app, with the DAC and passport broker) and one node
(genomesh.node.app.create_app) run as uvicorn servers on 127.0.0.1
(tests/loopback_federation.py). The node holds two datasets ingested from a small simulated
cohort with a consent mix (GRU, HMB, HMB+NPU, HMB+IRB+PUB, DS[type 2 diabetes], ...). The
node trusts the hub's JWKS and polls its revocation list; it posts withdrawal notices to
the hub with the secret the hub issued.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from genomesh.access.purpose_match import match_purpose
from genomesh.core.purpose import ResearchPurpose
from genomesh.store import open_node
from tests.loopback_federation import (
    ADMIN_PASSWORD,
    LoopbackFederation,
    login,
    loopback_federation,
)

pytestmark = pytest.mark.slow

RESEARCHER = ("rita", "Sequencing-Lab-Bench-77")
MEMBER = ("mark", "Committee-Chair-Desk-31")
PURPOSE = {
    "category": "health_medical",
    "institution": "uni.example.org",
    "country": "NL",
    "ethics_approval": "METC-2026-031",
    "will_publish": True,
}


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackFederation]:
    from genomesh.hub.app import create_app as create_hub
    from genomesh.node.app import create_app as create_node

    with loopback_federation(
        tmp_path_factory.mktemp("e2e"), create_hub=create_hub, create_node=create_node
    ) as fed:
        yield fed


def records(fed: LoopbackFederation, passport: str | None, dataset: str) -> tuple[str, set[str]]:
    """(returned granularity, individual ids) of a record-level /individuals query."""
    headers = {"Authorization": f"Bearer {passport}"} if passport else {}
    response = fed.node_http.get(
        "/individuals",
        params={"requestedGranularity": "record", "datasets": dataset, "limit": 1000},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    ids = set()
    for result_set in (body.get("response") or {}).get("resultSets", []):
        ids |= {r["id"] for r in result_set.get("results") or []}
    return body["meta"]["returnedGranularity"], ids


def fitting_individuals(node_dir: Path, dataset: str, purpose: ResearchPurpose) -> set[str]:
    """Individuals whose own consent approves `purpose` (the policy engine is the oracle)."""
    consents = open_node(node_dir).dataset(dataset).consents()
    today = datetime.now(UTC).date()
    return {
        ind for ind, terms in consents.items()
        if match_purpose(purpose, terms, today=today).decision == "approve"
    }  # fmt: skip


def passport(fed: LoopbackFederation, headers: dict[str, str], **params: Any) -> str:
    """A DAC passport for the node's own audience (its base URL): this test talks to the
    node directly, and a node accepts no other audience (QA F23)."""
    params.setdefault("audience", fed.node)
    response = fed.hub_http.get("/dac/passport", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()["passport"]


def hub_records(fed: LoopbackFederation, passport: str, dataset: str) -> tuple[str, set[str]]:
    """Like `records`, through the hub's Beacon network (which sends the node its own passport)."""
    response = fed.hub_http.get(
        "/individuals",
        params={"requestedGranularity": "record", "datasets": dataset, "limit": 1000,
                "nodes": "nl-node"},
        headers={"Authorization": f"Bearer {passport}"},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    [node] = body["info"]["network"]["nodes"]
    assert node["status"] == "ok", node
    ids = {
        r["id"]
        for result_set in (body.get("response") or {}).get("resultSets", [])
        for r in result_set.get("results") or []
    }
    return node["returnedGranularity"], ids


def test_access_flow__apply_approve_query_revoke_expire_withdraw(
    federation: LoopbackFederation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from genomesh.cli.main import main
    from genomesh.testing.passports import decode_part

    fed, hub = federation, federation.hub_http
    admin = login(hub, "admin", ADMIN_PASSWORD)

    # the node joins the hub's registry; its catalogue (with the datasets' DUO terms) is synced
    joined = hub.post(
        "/nodes", headers=admin, json={"name": "nl-node", "base_url": fed.node, "country": "NL"}
    )
    assert joined.status_code == 201, joined.text
    synced = hub.post("/catalogue/sync", headers=admin)
    assert synced.status_code == 200, synced.text
    # the node's anonymous /datasets answer carries no DUO terms, so the hub admin records the
    # custodian's dataset-level terms with the DAC (the DAC's record wins over the catalogue)
    for dataset_id in ("cohort1", "cohort2"):
        info = open_node(fed.node_dir).dataset(dataset_id).info
        recorded = hub.put("/dac/datasets", headers=admin, json={
            "node": "nl-node", "dataset_id": dataset_id, "base_url": fed.node,
            "duo": [t.model_dump(mode="json") for t in info.duo],
        })  # fmt: skip
        assert recorded.status_code == 200, recorded.text

    # a researcher registers; a committee member is appointed for cohort1
    for username, password in (RESEARCHER, MEMBER):
        made = hub.post("/dac/register", json={
            "username": username, "password": password, "institution": "uni.example.org",
            "country": "NL", "affiliation_role": "faculty", "accept_terms": True,
        })  # fmt: skip
        assert made.status_code == 201, made.text
    member = hub.post(
        "/dac/members", headers=admin,
        json={"username": MEMBER[0], "dataset": {"node": "nl-node", "dataset_id": "cohort1"}},
    )  # fmt: skip
    assert member.status_code == 200, member.text
    rita, mark = login(hub, *RESEARCHER), login(hub, *MEMBER)

    # the researcher applies with a purpose; the pre-check against the catalogue's DUO is right
    applied = hub.post("/dac/applications", headers=rita, json={
        "title": "Cardiometabolic genetics", "datasets": [{"node": "nl-node", "dataset_id": "cohort1"}],
        "purpose": PURPOSE, "documents": [{"kind": "ethics", "reference": "METC-2026-031"}],
        "accepted_terms": True, "submit": True,
    })  # fmt: skip
    assert applied.status_code == 201, applied.text
    app = applied.json()
    assert app["datasets"] == [f"{fed.node}/datasets/cohort1"]
    assert app["precheck"]["decision"] == "approve", app["precheck"]
    assert app["precheck"]["datasets"][0]["reasons"][0]["decision"] == "approve"

    # tiers before approval: no passport → boolean; a hub-verified researcher (Registered
    # Access visas) → counts; neither gets records
    granularity, ids = records(fed, None, "cohort1")
    assert granularity == "boolean" and ids == set()
    granularity, ids = records(fed, passport(fed, rita), "cohort1")
    assert granularity == "boolean" and ids == set()  # registered, but not yet vouched for
    verified = hub.post(f"/dac/researchers/{RESEARCHER[0]}/verify", headers=admin, json={})
    assert verified.status_code == 200, verified.text
    granularity, ids = records(fed, passport(fed, rita), "cohort1")
    assert granularity == "count" and ids == set()

    # a DAC member approves
    until = (datetime.now(UTC) + timedelta(days=90)).isoformat()
    decided = hub.post(
        f"/dac/applications/{app['id']}/decision", headers=mark,
        json={"decision": "approve", "until": until, "comment": "fits the consent"},
    )  # fmt: skip
    assert decided.json()["state"] == "approved", decided.text

    # the passport works at the node for the granted dataset only ...
    token = passport(fed, rita)
    purpose = ResearchPurpose.model_validate(decided.json()["purpose"])
    expected = fitting_individuals(fed.node_dir, "cohort1", purpose)
    everyone = set(open_node(fed.node_dir).dataset("cohort1").consents())
    granularity, ids = records(fed, token, "cohort1")
    assert granularity == "record"
    # ... and only for participants whose own consent fits the purpose
    assert ids == expected
    assert 0 < len(ids) < len(everyone)
    consents = open_node(fed.node_dir).dataset("cohort1").consents()
    ds_only = {
        i
        for i, terms in consents.items()
        if "DUO:0000007" in {t.id for t in terms}
        and not {t.id for t in terms} & {"DUO:0000004", "DUO:0000042", "DUO:0000006"}
    }
    assert ds_only and not (ids & ds_only)  # disease-specific consents do not cover HMB research
    granularity, other = records(fed, token, "cohort2")
    assert granularity != "record" and other == set()

    # through the hub (QA F23): the DAC's default passport is for the hub's audience; the hub
    # sends the node a passport for the node alone and the researcher gets the same records
    hub_token = hub.get("/dac/passport", headers=rita).json()["passport"]
    assert decode_part(hub_token.split(".")[1])["aud"] == fed.hub
    granularity, via_hub = hub_records(fed, hub_token, "cohort1")
    assert granularity == "record" and via_hub == ids
    # the node itself refuses the hub's passport: not its audience
    refused = fed.node_http.get("/individuals", headers={"Authorization": f"Bearer {hub_token}"})
    assert refused.status_code == 401, refused.text
    assert "audience" in refused.json()["error"]["errorMessage"]
    # `genomesh dac passport --node NAME`: a passport for that node alone, used directly ...
    rita_session = rita["Authorization"].removeprefix("Bearer ")
    jwt_file = tmp_path / "nl-node.jwt"
    assert main(["dac", "passport", "--node", "nl-node", "--hub", fed.hub,
                 "--token", rita_session, "-o", str(jwt_file)]) == 0  # fmt: skip
    direct = jwt_file.read_text()
    assert decode_part(direct.split(".")[1])["aud"] == fed.node
    granularity, direct_ids = records(fed, direct, "cohort1")
    assert granularity == "record" and direct_ids == ids
    # ... and refused by the hub, which forwards only passports for its own audience
    capsys.readouterr()
    assert main(["query", "individuals", "--hub", fed.hub, "--passport", str(jwt_file)]) == 3
    assert "own audience" in capsys.readouterr().err

    # withdraw a participant at the node: the same query no longer includes them, and the
    # researcher (a recipient of their records) is notified at the hub
    from genomesh.participants.withdrawal import withdraw

    leaving = sorted(ids)[0]
    report = withdraw(  # delivery authenticates with node_settings.hub_secret
        fed.node_app.state.node_state, settings=fed.node_settings, node=fed.node_app.state.node,
        dataset_id="cohort1", individual_id=leaving, reason="participant request",
    )  # fmt: skip
    assert report.hub_delivery == "delivered", report
    granularity, after = records(fed, token, "cohort1")
    assert granularity == "record"
    assert after == ids - {leaving}
    notes = hub.get("/dac/me/notifications", headers=rita).json()
    assert len(notes) == 1
    assert notes[0]["dataset_id"] == "cohort1" and notes[0]["node"] == "nl-node"
    assert notes[0]["individual_pseudonym"] == report.individual_pseudonym
    assert hub.get("/dac/me/notifications", headers=mark).json() == []

    # revoke: the node refuses the very same passport (revocation list polled)
    revoked = hub.post(
        f"/dac/applications/{app['id']}/revoke", headers=mark, json={"reason": "audit"}
    )
    assert revoked.json()["state"] == "revoked"
    granularity, ids = records(fed, token, "cohort1")
    assert granularity != "record" and ids == set()
    granularity, ids = records(fed, passport(fed, rita), "cohort1")
    assert granularity != "record" and ids == set()
    # through the hub too: the hub leaves revoked visas out of the node's passport
    granularity, ids = hub_records(fed, hub_token, "cohort1")
    assert granularity != "record" and ids == set()

    # expire: a renewed approval ending in 3 s works, then is refused once it has ended
    second = hub.post("/dac/applications", headers=rita, json={
        "title": "Cardiometabolic genetics, year 2",
        "datasets": [{"url": f"{fed.node}/datasets/cohort1"}], "purpose": PURPOSE,
        "accepted_terms": True, "submit": True,
    }).json()  # fmt: skip
    end = datetime.now(UTC) + timedelta(seconds=3)
    hub.post(
        f"/dac/applications/{second['id']}/decision", headers=mark,
        json={"decision": "approve", "until": end.isoformat()},
    )  # fmt: skip
    short = passport(fed, rita)
    granularity, ids = records(fed, short, "cohort1")
    assert granularity == "record" and ids == expected - {leaving}
    time.sleep(max(0.0, (end - datetime.now(UTC)).total_seconds()) + 1.5)
    granularity, ids = records(fed, short, "cohort1")
    assert granularity != "record" and ids == set()
    shown = hub.get(f"/dac/applications/{second['id']}", headers=rita).json()
    assert shown["state"] == "expired"
    left = {v["type"] for v in hub.get("/dac/passport", headers=rita).json()["visas"]}
    assert left == {"ResearcherStatus", "AcceptedTermsAndPolicies"}  # registered access stays
