"""Issue 10: every narrowed answer and every non-answer says why (code + words), bad input is
a 400 naming the field, and nothing a caller sent as a credential is echoed back."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from genomesh.core.settings import NodeSettings
from genomesh.store import NodeStore, ingest_dataset, init_node
from tests.beacon.helpers import CINECA_ID, open_settings, serve
from tests.store.conftest import rec, write_vcf


def _codes(body: dict, dataset: str = CINECA_ID) -> dict[str, str]:
    [item] = [d for d in body["info"]["datasets"] if d["id"] == dataset]
    return {r["code"]: r["message"] for r in item["reasons"]}


@pytest.fixture(scope="module")
def default_node(cineca_node: NodeStore) -> httpx.Client:
    """The CINECA node with the default policy: anonymous callers get yes/no only."""
    with serve(NodeSettings.load(cineca_node.path, query_budget=1_000_000)) as client:
        yield client


def test_reasons__anonymous_count_becomes_boolean_and_says_why(default_node) -> None:
    body = default_node.post(
        "/individuals", json={"query": {"requestedGranularity": "count"}}
    ).json()
    assert body["meta"]["returnedGranularity"] == "boolean"
    codes = _codes(body)
    assert "tier_limit" in codes, codes
    assert "anonymous callers get at most boolean" in codes["tier_limit"]
    assert "genomesh dac passport" in codes["tier_limit"]
    # record asked, no passport: same, and said
    record = default_node.get("/individuals", params={"requestedGranularity": "record"}).json()
    assert "record asked" in _codes(record)["tier_limit"]


def test_reasons__disclosure_rules_are_said_per_kind_of_answer(client) -> None:
    """min_count goes with every count answer, hit or not: never a per-count signal."""
    hit = client.get("/individuals", params={"requestedGranularity": "count"}).json()
    miss = client.get(
        "/g_variants",
        params={"requestedGranularity": "count", "referenceName": "22", "start": "1",
                "referenceBases": "A", "alternateBases": "G", "assemblyId": "GRCh37"},
    ).json()  # fmt: skip
    assert _codes(hit)["min_count"] == "counts below 1 are not disclosed"
    assert hit["info"]["datasets"][0]["count"] > 0
    assert miss["info"]["refused"] or "min_count" in _codes(miss)


def test_reasons__a_dataset_not_answered_has_a_code(client) -> None:
    body = client.get(
        "/g_variants",
        params={"referenceName": "22", "start": "16050074", "referenceBases": "A",
                "alternateBases": "G", "assemblyId": "GRCh38", "datasetIds": f"{CINECA_ID},nope"},
    ).json()  # fmt: skip
    refused = {r["id"]: r["code"] for r in body["info"]["refused"]}
    assert refused == {CINECA_ID: "assembly_mismatch", "nope": "no_such_dataset"}


@pytest.mark.parametrize("gene", ["", "   "])
def test_request__empty_gene_is_a_400_naming_the_field(client, gene: str) -> None:
    """geneId= returned exists:true and, with a passport, every variant."""
    get = client.get("/g_variants", params={"geneId": gene})
    post = client.post("/g_variants", json={"query": {"requestParameters": {"geneId": gene}}})
    for response in (get, post):
        assert response.status_code == 400, response.text
        assert "geneId is empty" in response.json()["error"]["errorMessage"]


def test_request__a_capped_limit_is_echoed_as_applied_and_said(client) -> None:
    body = client.get(
        "/individuals", params={"requestedGranularity": "record", "limit": "100000000"}
    ).json()
    applied = body["meta"]["receivedRequestSummary"]["pagination"]["limit"]
    assert applied == 1000 == len(body["response"]["resultSets"][0]["results"])
    capped = body["info"]["pagination"]
    assert capped["requestedLimit"] == 100000000 and capped["appliedLimit"] == 1000
    assert capped["reason"]["code"] == "limit_capped" and "skip" in capped["reason"]["message"]
    small = client.get("/individuals", params={"requestedGranularity": "record", "limit": "3"})
    assert "pagination" not in small.json()["info"]


def test_request__non_json_body_is_a_400_in_words(client) -> None:
    response = client.post(
        "/individuals", content=b"not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    message = response.json()["error"]["errorMessage"]
    assert message == "field 'body': the request body is not JSON: Expecting value at character 0"


def test_auth__a_token_without_bearer_is_never_echoed(client) -> None:
    token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzZWNyZXQtcmVzZWFyY2hlciJ9.c2lnbmF0dXJlLXNlY3JldA"
    response = client.get("/individuals", headers={"Authorization": token})
    assert response.status_code == 401
    assert token not in response.text and "c2lnbmF0dXJl" not in response.text
    assert "Bearer <passport JWT>" in response.json()["error"]["errorMessage"]


def test_auth__passport_errors_say_what_to_do_next(client) -> None:
    garbage = client.get("/individuals", headers={"Authorization": "Bearer a.b.c"})
    assert garbage.status_code == 401
    assert "genomesh dac passport" in garbage.json()["error"]["errorMessage"]


def test_gene__a_dataset_without_gene_annotations_says_so(tmp_path: Path) -> None:
    node = tmp_path / "node"
    init_node(node, name="n", jurisdiction="NL")
    vcf = write_vcf(tmp_path / "v.vcf", [rec(1, 100, "A", "G", "0/1", "0/0", "0/0")])
    ingest_dataset(node, "plain", vcf=vcf)
    with serve(open_settings(node)) as client:
        body = client.get("/g_variants", params={"geneId": "BRCA2"}).json()
    codes = _codes(body, "plain")
    assert "no gene annotations" in codes["no_gene_annotations"]
