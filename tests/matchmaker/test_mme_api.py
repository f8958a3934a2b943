"""Matchmaker Exchange v1.1 at a real node over HTTP: auth, content types, errors, matching."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from genomesh.matchmaker.schema import MatchRequestError, validate_request, validate_response
from genomesh.participants.withdrawal import withdraw
from tests.matchmaker.conftest import MME, NO_START, benchmark, post_match


def _patient(pid: str) -> dict[str, Any]:
    return next(p for p in benchmark() if p["id"] == pid)


def test_schema__benchmark_patients_without_start_name_the_field() -> None:
    for p in benchmark():
        if p["id"] in NO_START:
            with pytest.raises(MatchRequestError, match="'start' is a required property") as err:
                validate_request({"patient": p})
            assert err.value.field is not None and "variant" in err.value.field
        else:
            validate_request({"patient": p})


def test_schema__spec_names_checked_where_patientmatcher_misspells_them() -> None:
    p = json.loads(json.dumps(_patient("P0000079")))
    p["sex"] = "WOMAN"
    with pytest.raises(MatchRequestError, match="must be one of FEMALE"):
        validate_request({"patient": p})
    p = json.loads(json.dumps(_patient("P0000079")))
    feature = next(g for g in p["genomicFeatures"] if "variant" in g)
    feature["variant"]["alternateBases"] = "XYZ"
    with pytest.raises(MatchRequestError, match="bases"):
        validate_request({"patient": p})


def test_auth__missing_and_unknown_tokens_are_401_with_message(served: Any) -> None:
    client, _app, _token = served
    body = {"patient": _patient("P0000079")}
    missing = client.post("/match", content=json.dumps(body), headers={"Content-Type": MME})
    assert missing.status_code == 401 and "X-Auth-Token" in missing.json()["message"]
    wrong = post_match(client, "mme_not-a-token", body)
    assert wrong.status_code == 401 and wrong.json()["message"] == "unknown X-Auth-Token"
    assert client.get("/heartbeat").status_code == 401
    assert client.get("/metrics", headers={"X-Auth-Token": "nope"}).status_code == 401


def test_errors__every_status_the_spec_names(served: Any) -> None:
    client, _app, token = served
    body = {"patient": _patient("P0000079")}
    plain = post_match(client, token, body, **{"Content-Type": "text/plain"})
    assert plain.status_code == 415 and "Content-Type" in plain.json()["message"]
    v2 = post_match(
        client, token, body, **{"Content-Type": "application/vnd.ga4gh.matchmaker.v2.0+json"}
    )
    assert v2.status_code == 406
    assert v2.json() == {"message": "unsupported API version", "supportedVersions": ["1.0", "1.1"]}
    accept_v2 = post_match(client, token, body, Accept="application/vnd.ga4gh.matchmaker.v2.0+json")
    assert accept_v2.status_code == 406
    broken = post_match(client, token, "{not json")
    assert broken.status_code == 400 and "not JSON" in broken.json()["message"]
    bad = post_match(client, token, {"patient": _patient("P0001017")})
    assert bad.status_code == 422
    assert "start" in bad.json()["message"] and "variant" in bad.json()["message"]
    get = client.get("/match", headers={"X-Auth-Token": token})
    assert get.status_code == 405 and get.json()["message"] and get.headers["allow"] == "POST"


def test_lenient_in_what_it_accepts__plain_json_and_v1_0(served: Any) -> None:
    client, _app, token = served
    body = {"patient": _patient("P0000079")}
    for ctype in ("application/json", "application/vnd.ga4gh.matchmaker.v1.0+json"):
        r = post_match(client, token, body, **{"Content-Type": ctype})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith(MME)  # strict in what it sends


def test_heartbeat_and_metrics(served: Any) -> None:
    client, _app, token = served
    beat = client.get("/heartbeat", headers={"X-Auth-Token": token})
    assert beat.status_code == 200
    assert MME in beat.json()["heartbeat"]["accept"]
    assert isinstance(beat.json()["heartbeat"]["production"], bool)
    post_match(client, token, {"patient": _patient("P0000079")})
    metrics = client.get("/metrics", headers={"X-Auth-Token": token}).json()["metrics"]
    assert metrics["numberOfCases"] == 5  # real patients only: the five FHS, not test data
    assert metrics["numberOfRequestsReceived"] >= 1
    assert metrics["numberOfGenes"] == 5 and metrics["numberOfUniqueGenes"] == 1  # all SRCAP


def test_benchmark__every_patient_finds_itself_first(served: Any) -> None:
    client, _app, token = served
    for p in benchmark():
        if p["id"] in NO_START:
            continue
        r = post_match(client, token, {"patient": p})
        assert r.status_code == 200, r.text
        body = r.json()
        validate_response(body)
        results = body["results"]
        assert results and results[0]["patient"]["id"] == p["id"], (p["id"], results[:2])
        assert results[0]["score"]["patient"] == pytest.approx(1.0)
        assert [x["score"]["patient"] for x in results] == sorted(
            (x["score"]["patient"] for x in results), reverse=True
        )


def test_benchmark__published_same_gene_pairs_are_found(served: Any) -> None:
    """Patients reported with the same gene find each other, gene named in the explanation."""
    client, _app, token = served
    by_gene: dict[str, set[str]] = {}
    for p in benchmark():
        if p["id"] in NO_START:
            continue
        for g in p.get("genomicFeatures", []):
            by_gene.setdefault(g["gene"]["id"], set()).add(p["id"])
    pairs = [(gene, ids) for gene, ids in by_gene.items() if len(ids) > 1]
    assert len(pairs) >= 5
    for gene, ids in pairs:
        for pid in ids:
            results = post_match(client, token, {"patient": _patient(pid)}).json()["results"]
            found = {r["patient"]["id"] for r in results}
            if len(ids) <= len(results):
                assert ids <= found, (gene, pid, ids - found)
            else:  # more same-gene patients than results (SNRPB: 12): all results share it
                assert found <= ids, (gene, pid, found - ids)
            other = next(r for r in results if r["patient"]["id"] in ids - {pid})
            assert gene in other["score"]["_sharedGenes"]
            assert other["score"]["_genotype"] >= 0.5


def test_test_queries_get_test_data_only(served: Any) -> None:
    client, _app, token = served
    from tests.matchmaker.conftest import FHS

    fhs = json.loads(FHS.read_text())
    fhs_ids = {p["id"] for p in fhs}
    bench_ids = {p["id"] for p in benchmark()}
    query = {k: v for k, v in fhs[0].items() if k != "test"}
    query["id"] = "query-1"
    real = post_match(client, token, {"patient": query}).json()["results"]
    assert real and {r["patient"]["id"] for r in real} <= fhs_ids
    test_query = {**query, "test": True}
    results = post_match(client, token, {"patient": test_query}).json()["results"]
    assert results and {r["patient"]["id"] for r in results} <= bench_ids


def test_matches_go_through_the_gate__audited_and_withdrawal_respected(served: Any) -> None:
    client, app, token = served
    query = _patient("P0000083")
    first = post_match(client, token, {"patient": query}).json()
    assert first["results"][0]["patient"]["id"] == "P0000083"
    audit_id = first["_genomesh"]["auditId"]
    state = app.state.node_state
    entry = next(e for e in state.audit_entries() if e.seq == audit_id)
    assert entry.body["what"]["surface"] == "matchmaker"
    assert entry.body["who"]["tier"] == "registered"
    assert entry.body["outcome"] == "answered"
    # the returned individual is in the disclosure ledger, so a withdrawal reaches the peer
    assert state.ledger(individual_id="P0000083", dataset_id="mme")
    withdraw(
        state, settings=app.state.settings, node=app.state.node, dataset_id="mme",
        individual_id="P0000083", http_client=httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(503))),
    )  # fmt: skip
    after = post_match(client, token, {"patient": query}).json()["results"]
    assert "P0000083" not in {r["patient"]["id"] for r in after}


def test_results_carry_the_enrolled_record_only(served: Any) -> None:
    """No genotype beyond what the enrolled MME record names leaves the node."""
    client, _app, token = served
    query = _patient("P0000079")
    enrolled = {p["id"]: p for p in benchmark()}
    for r in post_match(client, token, {"patient": query}).json()["results"]:
        assert r["patient"] == enrolled[r["patient"]["id"]]


def test_scoring_is_chosen_in_the_node_settings(mme_node: Any, tmp_path: Any) -> None:
    """`match_weighting = "patientmatcher"` in genomesh.toml gives patientMatcher's
    0.75 × genotype + 0.25 × simGIC; an unknown method is refused when the settings load."""
    from genomesh.core.settings import NodeSettings
    from genomesh.matchmaker.registry import MatchmakerRegistry
    from tests.gate.serve import serve_node

    registry = MatchmakerRegistry(mme_node)
    token = registry.add_peer("pm-peer")
    state = f"sqlite:///{tmp_path / 'state.sqlite'}"
    try:
        settings = NodeSettings.load(mme_node, state_url=state, match_weighting="patientmatcher")
        with serve_node(settings) as (client, _app):
            r = post_match(client, token, {"patient": _patient("P0000079")})
        assert r.status_code == 200, r.text
        scores = [x["score"] for x in r.json()["results"]]
        assert len(scores) > 1
        for s in scores:
            assert s["patient"] == pytest.approx(
                0.75 * s["_genotype"] + 0.25 * s["_phenotype"], abs=2e-6
            )
        assert any(abs(s["_genotype"] - s["_phenotype"]) > 0.05 for s in scores)
    finally:
        registry.remove_peer("pm-peer")
    with pytest.raises(Exception, match="match_phenotype_method"):
        NodeSettings.load(mme_node, state_url=state, match_phenotype_method="cosine")


def test_a_new_enrolment_is_matched_at_once(served: Any, mme_node: Any) -> None:
    """The node keeps each dataset's candidates laid out for batch scoring between requests;
    enrolling (or removing) a patient must show in the very next answer."""
    from genomesh.matchmaker.registry import CONSENT_STATEMENT, MatchmakerRegistry

    client, _app, token = served
    query = {**_patient("P0000083"), "id": "QUERY-ONLY"}
    before = post_match(client, token, {"patient": query}).json()["results"]
    assert before and "GONE1" not in {r["patient"]["id"] for r in before}
    registry = MatchmakerRegistry(mme_node)
    twin = {**_patient("P0000083"), "id": "GONE1"}  # an individual of the dataset
    registry.enrol([twin], dataset_id="mme", known_individuals=frozenset({"GONE1"}),
                   consent=CONSENT_STATEMENT)  # fmt: skip
    try:
        after = post_match(client, token, {"patient": query}).json()["results"]
        assert "GONE1" in {r["patient"]["id"] for r in after[:2]}
    finally:
        registry.remove("GONE1")
    again = post_match(client, token, {"patient": query}).json()["results"]
    assert "GONE1" not in {r["patient"]["id"] for r in again}


def test_a_warm_node_lays_out_its_candidates_before_the_first_match(
    mme_node: Any, tmp_path: Any
) -> None:
    """Started with warm-up (as `genomesh node serve` does), the node builds each dataset's
    scoring pool at start, so the first peer's /match only scores; the match then reuses it."""
    import asyncio

    from genomesh.core.settings import NodeSettings
    from genomesh.node.app import create_app

    settings = NodeSettings.load(mme_node, state_url=f"sqlite:///{tmp_path / 'state.sqlite'}")
    app = create_app(settings, warm=True)

    async def run() -> None:
        async with app.router.lifespan_context(app):
            matchmaker = app.state.matchmaker
            pools = dict(matchmaker._pools)
            assert {key for key in pools} == {("mme", True), ("mme", False)}
            enrolled = matchmaker.registry.patients()
            assert sum(len(p.enrolled) for p in pools.values()) == len(enrolled)
            answer, _ = matchmaker.match({"patient": _patient("P0000083")}, peer="warm-test")
            assert answer["results"][0]["patient"]["id"] == "P0000083"
            assert matchmaker._pools[("mme", True)] is pools[("mme", True)]

    asyncio.run(run())
