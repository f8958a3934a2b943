"""Merging node answers: granularity, totals, result sets, collections, all-bad queries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from genomesh.beacon.schemas import validate_response
from genomesh.core.errors import InvalidInputError
from genomesh.core.settings import HubSettings
from genomesh.hub.client import NodeReply, classify
from genomesh.hub.network import merge_filtering_terms, merge_results
from genomesh.hub.registry import NodePublic

SETTINGS = HubSettings(hub_dir="unused")
FEMALE = {"id": "NCIT:C16576", "label": "female"}
SUMMARY = {
    "apiVersion": "v2.1.1",
    "requestedSchemas": [],
    "pagination": {"skip": 0, "limit": 10},
    "requestedGranularity": "record",
}


def node(name: str, country: str = "NL") -> NodePublic:
    return NodePublic(
        name=name, base_url=f"http://{name}", dial_out=False, country=country, contact="",
        public_key=None, created=datetime.now(UTC),
    )  # fmt: skip


def answer(name: str, granularity: str, *, exists: bool = True, count: int | None = None,
           result_sets: list[dict[str, Any]] | None = None, datasets: list[dict[str, Any]] | None = None,
           collections: list[dict[str, Any]] | None = None) -> NodeReply:  # fmt: skip
    body: dict[str, Any] = {
        "meta": {"beaconId": f"org.{name}", "returnedGranularity": granularity},
        "responseSummary": {
            "exists": exists,
            **({"numTotalResults": count} if count is not None else {}),
        },
    }
    if result_sets is not None:
        body["response"] = {"resultSets": result_sets}
    if collections is not None:
        body["response"] = {"collections": collections}
    if datasets is not None:
        body["info"] = {"datasets": datasets}
    return NodeReply(name, "ok", http_status=200, body=body)


def rs(dataset: str, n: int, records: int = 0) -> dict[str, Any]:
    return {"id": dataset, "setType": "dataset", "exists": n > 0, "resultsCount": n,
            "results": [{"id": f"{dataset}-{i}", "sex": FEMALE} for i in range(records)]}  # fmt: skip


def merge(replies: list[NodeReply], entry: str = "individuals") -> dict[str, Any]:
    nodes = [node(r.node) for r in replies]
    status, body = merge_results(
        replies, nodes, settings=SETTINGS, entry=entry, request_summary=SUMMARY, timeout=5.0
    )
    assert status == 200
    return body


def test_merge__records_and_counts_give_count_with_summed_total() -> None:
    body = merge([
        answer("a", "record", count=3, result_sets=[rs("a1", 3, records=3)]),
        answer("b", "count", count=10, datasets=[{"id": "b1", "exists": True, "granularity": "count", "count": 10}]),
    ])  # fmt: skip
    assert body["meta"]["returnedGranularity"] == "count"
    assert body["responseSummary"] == {"exists": True, "numTotalResults": 13}
    sets = {
        (s["info"]["node"], s["id"]): (s["resultsCount"], len(s["results"]))
        for s in body["response"]["resultSets"]
    }
    assert sets == {("a", "a1"): (3, 3), ("b", "b1"): (10, 0)}
    assert {s["beaconId"] for s in body["response"]["resultSets"]} == {"org.a", "org.b"}
    validate_response("count", body)


def test_merge__one_boolean_node_makes_the_summary_boolean() -> None:
    body = merge([answer("a", "count", count=4), answer("b", "boolean", exists=False)])
    assert body["meta"]["returnedGranularity"] == "boolean"
    assert body["responseSummary"] == {"exists": True}
    validate_response("boolean", body)


def test_merge__all_record_is_a_resultsets_response() -> None:
    body = merge([
        answer("a", "record", count=2, result_sets=[rs("a1", 2, records=2)]),
        answer("b", "record", exists=False, count=0, result_sets=[]),
    ])  # fmt: skip
    assert body["meta"]["returnedGranularity"] == "record"
    assert [s["id"] for s in body["response"]["resultSets"]] == ["a1"]
    validate_response("resultsets", body)


def test_merge__dataset_collections_are_merged_and_tagged() -> None:
    body = merge(
        [
            answer("a", "record", count=1, collections=[{"id": "a1", "name": "A one"}]),
            answer("b", "record", count=1, collections=[{"id": "b1", "name": "B one"}]),
        ],
        entry="datasets",
    )
    assert [(c["id"], c["info"]["node"]) for c in body["response"]["collections"]] == [
        ("a1", "a"),
        ("b1", "b"),
    ]
    validate_response("collections", body)


def test_merge__failed_nodes_are_reported_not_raised() -> None:
    replies = [
        answer("a", "count", count=7),
        NodeReply("b", "timeout", reason="no answer within 5 s", elapsed_ms=5000.0),
        classify("c", 403, {"error": {"errorCode": 403, "errorMessage": "no visa"}}),
        classify("d", 502, {"detail": "bad gateway"}),
        classify("e", 200, {"_text": "<html>"}),
    ]
    body = merge(replies)
    report = {n["node"]: (n["status"], n["reason"]) for n in body["info"]["network"]["nodes"]}
    assert report == {
        "a": ("ok", None),
        "b": ("timeout", "no answer within 5 s"),
        "c": ("refused", "no visa"),
        "d": ("error", "bad gateway"),
        "e": ("error", "node answered with something that is not a JSON object"),
    }
    assert body["info"]["network"]["answered"] == 1
    assert body["responseSummary"] == {"exists": True, "numTotalResults": 7}


def test_merge__a_query_every_node_rejects_is_the_callers_error() -> None:
    bad = {"error": {"errorCode": 400, "errorMessage": "unknown filter XYZ:1"}}
    with pytest.raises(InvalidInputError, match="unknown filter"):
        merge([classify("a", 400, bad), classify("b", 400, bad)])
    # one node rejecting it while another answers is just that node's status
    body = merge([classify("a", 400, bad), answer("b", "boolean")])
    assert [n["status"] for n in body["info"]["network"]["nodes"]] == ["error", "ok"]


def test_merge__filtering_terms_union_by_id() -> None:
    def terms(name: str, ids: list[str]) -> NodeReply:
        body = {"response": {"filteringTerms": [{"type": "ontology", "id": i} for i in ids]}}
        return NodeReply(name, "ok", http_status=200, body=body)

    replies = [terms("a", ["HP:1", "NCIT:C16576"]), terms("b", ["HP:1", "HP:2"])]
    body = merge_filtering_terms(replies, [node("a"), node("b")], settings=SETTINGS, timeout=5.0)
    assert [t["id"] for t in body["response"]["filteringTerms"]] == ["HP:1", "HP:2", "NCIT:C16576"]
    validate_response("filtering_terms", body)
