"""The hub's /match: a real hub, three real nodes (two push, one dial-out) and stand-in
external matchmakers, all on loopback (fixture: tests.matchmaker.hubnet)."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest

from genomesh.hub.signing import sign_message
from genomesh.matchmaker.schema import validate_response
from tests.matchmaker.conftest import MME
from tests.matchmaker.hubnet import (
    ADMIN,
    PEER_TOKEN,
    MatchNet,
    matchnet_fixture,  # noqa: F401 (the `matchnet` fixture)
)

pytestmark = pytest.mark.slow
QUERY_CONTACT = {"name": "Dr Query", "href": "mailto:Dr.Query@clinic.example"}


def query_like(net: MatchNet, node: str, n: int = 0, *, new_id: str) -> dict[str, Any]:
    """A node's enrolled patient, re-submitted by the clinic under another id."""
    patient = copy.deepcopy(net.patients[node][n])
    return {**patient, "id": new_id, "contact": QUERY_CONTACT}


def sources(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["source"]: s for s in body["_genomesh"]["sources"]}


def test_hub_match__merges_every_source_ranked_with_provenance_and_status(
    matchnet: MatchNet,
) -> None:
    target = matchnet.patients["mm-a"][1]
    slow = {"name": "slow", "baseUrl": matchnet.peer_urls["slow"], "token": PEER_TOKEN,
            "inbound": False}  # fmt: skip
    with matchnet.http() as http:
        assert http.post("/match/peers", json=slow, headers=ADMIN).status_code == 201
        try:
            response = matchnet.match(query_like(matchnet, "mm-a", 1, new_id="Q-A1"))
        finally:
            http.delete("/match/peers/slow", headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(MME)
    body = validate_response(response.json())
    results = body["results"]
    # the same patient, enrolled at mm-a, comes first, tagged with its node
    assert results[0]["patient"]["id"] == target["id"]
    assert results[0]["_source"] == {"kind": "node", "name": "mm-a", "country": "NL"}
    assert results[0]["patient"]["contact"]["href"] == "mailto:genetics@mm-a.example"
    scores = [r["score"]["patient"] for r in results]
    assert scores == sorted(scores, reverse=True)
    found = {(r["_source"]["kind"], r["_source"]["name"]) for r in results}
    assert ("peer", "ext") in found  # the external matchmaker's patient is merged in
    assert ("node", "mm-c") in found  # the dial-out node answered through the broker
    assert ("node", "mm-b") not in found  # never opted in
    ext = next(r for r in results if r["_source"]["name"] == "ext")
    assert ext["patient"]["id"] == "EXT-1" and ext["score"]["patient"] == 0.5
    status = sources(body)
    assert {k: v["status"] for k, v in status.items()} == {
        "node:mm-a": "ok", "node:mm-b": "refused", "node:mm-c": "ok",
        "peer:ext": "ok", "peer:slow": "timeout", "peer:dead": "error",
    }  # fmt: skip
    assert "peer-add" in status["node:mm-b"]["reason"]
    assert "not reachable" in status["peer:dead"]["reason"]
    assert status["node:mm-a"]["results"] >= 1
    extra = body["_genomesh"]
    assert extra["queried"] == 6 and extra["answered"] == 3
    assert extra["hpoVersion"] and extra["hpoVersion"] in extra["hpoAcknowledgement"]
    # the peer got the MME request itself, with the hub's token
    assert matchnet.peers["ext"].state.seen[-1]["patient"]["id"] == "Q-A1"


def test_hub_match__a_dial_out_nodes_patient_finds_itself(matchnet: MatchNet) -> None:
    target = matchnet.patients["mm-c"][0]
    body = matchnet.match(query_like(matchnet, "mm-c", 0, new_id="Q-C0")).json()
    assert body["results"][0]["patient"]["id"] == target["id"]
    assert body["results"][0]["_source"]["name"] == "mm-c"


def test_hub_match__each_pair_recorded_and_both_submitters_notified_once(
    matchnet: MatchNet,
) -> None:
    query = query_like(matchnet, "mm-a", 2, new_id="Q-A2")
    first = matchnet.match(query).json()
    n = len(first["results"])
    assert first["_genomesh"]["newPairs"] == n > 0
    with matchnet.http() as http:
        pairs = http.get("/match/pairs", headers=ADMIN).json()["pairs"]
        again = matchnet.match(query).json()
        assert again["_genomesh"]["newPairs"] == 0  # the same pairs: nobody notified twice
        assert len(http.get("/match/pairs", headers=ADMIN).json()["pairs"]) == len(pairs)
        mine = [p for p in http.get("/match/pairs", headers=ADMIN).json()["pairs"]
                if p["query"]["patient"] == "Q-A2"]  # fmt: skip
        assert len(mine) == n and all(p["times"] == 2 for p in mine)
        # the query's submitter: through the peer it came from, one notice per pair
        inbox = http.get(
            "/match/notifications", headers={"X-Auth-Token": matchnet.clinic_token}
        ).json()["notifications"]
        about = [x for x in inbox if x["patient"] == "Q-A2"]
        assert len(about) == n
        assert {x["recipient"] for x in about} == {"mailto:dr.query@clinic.example"}
        top = matchnet.patients["mm-a"][2]["id"]
        assert any(top in x["message"] and "genetics@mm-a.example" in x["message"] for x in about)
        # the matched patient's submitter: a hub account with that contact's e-mail
        account = {"username": "genetics-a", "password": "Sturdy-Matchmaker-42",
                   "email": "genetics@mm-a.example", "accept_terms": True}  # fmt: skip
        assert http.post("/dac/register", json=account).status_code == 201
        login = http.post("/dac/login", json={k: account[k] for k in ("username", "password")})
        session = {"Authorization": f"Bearer {login.json()['token']}"}
        theirs = http.get("/match/notifications", headers=session).json()["notifications"]
        told = [x for x in theirs if x["patient"] == top]
        assert len(told) == 1 and "Q-A2" in told[0]["message"]
        assert "dr.query@clinic.example" in told[0]["message"].lower()
        assert all(x["recipient"] == "mailto:genetics@mm-a.example" for x in theirs)
        # no credentials, no inbox
        assert http.get("/match/notifications").status_code == 401


def test_hub_match__test_queries_are_not_recorded(matchnet: MatchNet) -> None:
    query = {**query_like(matchnet, "mm-a", 3, new_id="Q-TEST"), "test": True}
    body = matchnet.match(query).json()
    assert body["_genomesh"]["newPairs"] == 0
    assert not [r for r in body["results"] if r["_source"]["kind"] == "node"]  # no test data


@pytest.mark.parametrize(
    ("headers", "content", "status", "words"),
    [
        ({}, None, 401, "X-Auth-Token"),
        ({"X-Auth-Token": "nope"}, None, 401, "unknown"),
        ({"Content-Type": "text/plain"}, None, 415, "Content-Type"),
        ({"Content-Type": "application/vnd.ga4gh.matchmaker.v2.0+json"}, None, 406, "version"),
        ({}, b"{not json", 400, "not JSON"),
        ({}, json.dumps({"patient": {"id": "x"}}).encode(), 422, "contact"),
    ],
)
def test_hub_match__errors_are_the_specs(
    matchnet: MatchNet, headers: dict[str, str], content: bytes | None, status: int, words: str
) -> None:
    send = {"Content-Type": MME, "X-Auth-Token": matchnet.clinic_token, **headers}
    if status == 401 and "X-Auth-Token" not in headers:
        del send["X-Auth-Token"]
    body = content if content is not None else json.dumps({"patient": query_like(
        matchnet, "mm-a", 0, new_id="Q-ERR")}).encode()  # fmt: skip
    with matchnet.http() as http:
        response = http.post("/match", content=body, headers=send)
        assert response.status_code == status, response.text
        assert words in response.json()["message"]
        assert http.get("/match").status_code == 405


def test_hub_match__peer_admin_needs_the_admin_and_tokens_stop_on_removal(
    matchnet: MatchNet,
) -> None:
    with matchnet.http() as http:
        assert http.post("/match/peers", json={"name": "x"}).status_code == 401
        listed = http.get("/match/peers", headers=ADMIN).json()["peers"]
        assert {p["name"] for p in listed} >= {"ext", "dead", "clinic"}
        assert all("token" not in json.dumps(p).lower() for p in listed)
        bad = http.post("/match/peers", json={"name": "y", "baseUrl": "ftp://x"}, headers=ADMIN)
        assert bad.status_code == 400 and "http" in bad.text
        token = http.post("/match/peers", json={"name": "brief"}, headers=ADMIN).json()["token"]
        q = query_like(matchnet, "mm-a", 0, new_id="Q-BRIEF")
        assert matchnet.match(q, token=token).status_code == 200
        assert http.delete("/match/peers/brief", headers=ADMIN).status_code == 200
        assert matchnet.match(q, token=token).status_code == 401


def test_node_hub_match__refuses_a_message_not_signed_by_the_hub(
    matchnet: MatchNet, tmp_path: Any
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    forged = sign_message(
        {
            "type": "mme-match",
            "request": {"patient": query_like(matchnet, "mm-a", 0, new_id="Q-F")},
            "requester": "clinic",
        },
        Ed25519PrivateKey.generate(),
        iss="hub",
        aud="mm-a",
    )
    node_url = next(s.url for s in matchnet.servers[1:2])
    response = httpx.post(f"{node_url}/match/hub", json=forged, timeout=30)
    assert response.status_code == 401 and "signature" in response.text


def test_match_submit_cli__through_the_hub_names_sources_and_the_hpo_release(
    matchnet: MatchNet,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from genomesh.cli.main import main
    from genomesh.ontology.hpo import get_hpo

    monkeypatch.setenv("COLUMNS", "200")
    patient = tmp_path / "patient.json"
    patient.write_text(json.dumps(query_like(matchnet, "mm-c", 1, new_id="Q-CLI")))
    code = main(["match", "submit", str(patient), "--url", matchnet.url,
                 "--token", matchnet.clinic_token])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"{matchnet.patients['mm-c'][1]['id']}  at node mm-c" in out
    assert "node:mm-b: refused" in out and "peer:dead: error" in out
    assert f"Human Phenotype Ontology (version {get_hpo().version})" in out
