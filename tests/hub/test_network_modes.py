"""The network answer honours the caller's Beacon options and tells "not here" from an outage.

Nodes here are stand-ins that answer the way a genomesh node does (per-dataset detail in
`info.datasets`; result sets only at record level, filtered by `includeResultsetResponses`;
404 for a dataset id they do not hold), over real HTTP on loopback.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from genomesh.beacon.schemas import validate_response
from tests.hub.conftest import RunningHub
from tests.hub.standin import serving

FEMALE = {"id": "NCIT:C16576", "label": "female"}
# dataset id -> number of matching individuals (0: the dataset has no hit)
HOLDINGS = {"a": {"a-hit": 5, "a-miss": 0}, "b": {"b-hit": 2}}


def node_like_app(name: str) -> FastAPI:
    """A node answering as genomesh's does: count level gives no result sets, only the
    per-dataset detail; record level gives one set per dataset the caller's mode includes."""
    app = FastAPI()
    held = HOLDINGS[name]

    def meta(granularity: str) -> dict[str, Any]:
        return {"beaconId": f"org.example.{name}", "apiVersion": "v2.1.1",
                "returnedSchemas": [], "returnedGranularity": granularity}  # fmt: skip

    @app.api_route("/individuals", methods=["GET", "POST"])
    async def individuals(request: Request) -> dict[str, Any]:
        granularity = request.query_params.get("requestedGranularity", "count")
        mode = request.query_params.get("includeResultsetResponses", "HIT")
        details = [
            {"id": d, "exists": n > 0, "granularity": granularity, "count": n}
            for d, n in held.items()
        ]
        body: dict[str, Any] = {
            "meta": meta(granularity),
            "responseSummary": {
                "exists": any(held.values()),
                "numTotalResults": sum(held.values()),
            },
            "info": {"datasets": details, "refused": []},
        }
        if granularity == "record":
            sets = [
                {
                    "id": d,
                    "setType": "dataset",
                    "exists": n > 0,
                    "resultsCount": n,
                    "results": [{"id": f"{d}-{i}", "sex": FEMALE} for i in range(n)],
                }
                for d, n in held.items()
                if mode == "ALL" or (mode == "HIT" and n > 0) or (mode == "MISS" and n == 0)
            ]
            body["response"] = {"resultSets": sets}
        return body

    @app.get("/datasets/{dataset_id}")
    @app.get("/datasets/{dataset_id}/filtering_terms")
    async def dataset(dataset_id: str, request: Request) -> JSONResponse:
        if dataset_id not in held:
            return JSONResponse(
                {"meta": meta("boolean"),
                 "error": {"errorCode": 404, "errorMessage": f"no dataset '{dataset_id}' on this node"}},
                status_code=404,
            )  # fmt: skip
        if request.url.path.endswith("filtering_terms"):
            return JSONResponse({"meta": meta("boolean"), "response": {"filteringTerms": []}})
        return JSONResponse(
            {"meta": meta("record"),
             "responseSummary": {"exists": True, "numTotalResults": 1},
             "response": {"collections": [{"id": dataset_id, "name": dataset_id}]}}
        )  # fmt: skip

    return app


@pytest.fixture
def two_nodes(hub: RunningHub) -> Any:
    with serving(node_like_app("a")) as a, serving(node_like_app("b")) as b:
        hub.register("a", a.url, "NL")
        hub.register("b", b.url, "GB")
        yield hub


def _sets(body: dict[str, Any]) -> set[str]:
    return {rs["id"] for rs in (body.get("response") or {}).get("resultSets", [])}


@pytest.mark.parametrize(
    ("granularity", "mode", "expected"),
    [
        ("count", None, {"a-hit", "b-hit"}),  # HIT is the default
        ("count", "HIT", {"a-hit", "b-hit"}),
        ("count", "MISS", {"a-miss"}),
        ("count", "ALL", {"a-hit", "a-miss", "b-hit"}),
        ("count", "NONE", set()),
        ("record", "MISS", {"a-miss"}),
        ("record", "NONE", set()),
        ("record", "ALL", {"a-hit", "a-miss", "b-hit"}),
    ],
)
def test_network__include_resultset_responses_is_honoured(
    two_nodes: RunningHub, granularity: str, mode: str | None, expected: set[str]
) -> None:
    """QA F30: the hub rebuilt the sets a node had left out on purpose from its per-dataset
    detail, so MISS and NONE still listed datasets with hits."""
    params = {"requestedGranularity": granularity}
    if mode:
        params["includeResultsetResponses"] = mode
    with two_nodes.client() as client:
        body = client.get("/individuals", params=params).json()
    assert _sets(body) == expected, body
    assert body["responseSummary"]["numTotalResults"] == 7  # the summary is unaffected
    if mode:
        assert body["meta"]["receivedRequestSummary"]["includeResultsetResponses"] == mode
    validate_response("resultsets" if granularity == "record" else "count", body)


def test_network__unknown_include_resultset_responses_is_a_400(two_nodes: RunningHub) -> None:
    with two_nodes.client() as client:
        response = client.get("/individuals", params={"includeResultsetResponses": "SOME"})
    assert response.status_code == 400
    assert "includeResultsetResponses" in response.json()["error"]["errorMessage"]
    validate_response("error", response.json())


@pytest.mark.parametrize("path", ["/datasets/a-hit", "/datasets/a-hit/filtering_terms"])
def test_network__id_lookup_404_is_absent_not_an_error(two_nodes: RunningHub, path: str) -> None:
    """QA F24: for `/datasets/<id>` every node that does not hold the id answered 404 and
    was reported as `error`, so "answered 1 of 2" read like an outage."""
    with two_nodes.client() as client:
        body = client.get(path).json()
        missing = client.get("/datasets/nowhere").json()
    reports = {n["node"]: n for n in body["info"]["network"]["nodes"]}
    assert reports["b"]["status"] == "absent", reports["b"]
    assert reports["b"]["httpStatus"] == 404 and "no dataset" in reports["b"]["reason"]
    assert body["info"]["network"]["answered"] == 2
    if path == "/datasets/a-hit":
        assert reports["a"]["status"] == "ok"
        assert [c["id"] for c in body["response"]["collections"]] == ["a-hit"]
        validate_response("collections", body)
    # an id nobody holds: every node answered "not here"; an answer, not a failure
    assert {n["status"] for n in missing["info"]["network"]["nodes"]} == {"absent"}
    assert missing["info"]["network"]["answered"] == 2
    assert missing["responseSummary"]["exists"] is False


def test_network__a_404_outside_an_id_lookup_is_still_an_error(hub: RunningHub) -> None:
    app = FastAPI()  # a node without the endpoint at all: misconfigured, not "absent"
    with serving(app) as node:
        hub.register("bare", node.url)
        with hub.client() as client:
            body = client.get("/individuals").json()
    [report] = body["info"]["network"]["nodes"]
    assert report["status"] == "error" and report["httpStatus"] == 404
    assert body["info"]["network"]["answered"] == 0


def test_hub_service_info__type_version_is_semantic_like_the_nodes(hub: RunningHub) -> None:
    """QA F24: the hub said type.version "v2.1.1" where every node says "2.1.1"; GA4GH
    service-info asks for the specification's semantic version."""
    from genomesh.beacon.informational import service_info as node_service_info
    from genomesh.core.settings import NodeSettings

    with hub.client() as client:
        body = client.get("/service-info").json()
    validate_response("service-info", body)
    node = node_service_info(NodeSettings(node_dir=hub.hub_dir / "n"), version="0")
    assert (
        body["type"]
        == node["type"]
        == {
            "group": "org.ga4gh",
            "artifact": "beacon",
            "version": "2.1.1",
        }
    )
    assert body["version"] and not body["version"].startswith("v2.1")  # genomesh's own version


def test_hub__non_json_body_answered_as_a_node_answers_it(hub: RunningHub) -> None:
    """Issue 10: a non-JSON POST body got 400 from the hub but 422 `body.0: JSON decode
    error` from a node; both now say the same (tests/beacon/test_explained.py, node side)."""
    with hub.client() as client:
        beacon = client.post(
            "/individuals", content=b"not json", headers={"content-type": "application/json"}
        )
        dac = client.post(
            "/dac/login", content=b"not json", headers={"content-type": "application/json"}
        )
    expected = "field 'body': the request body is not JSON: Expecting value at character 0"
    for response in (beacon, dac):
        assert response.status_code == 400, response.text
        assert response.json()["error"]["errorMessage"] == expected
