"""The hub's HTTP contract: /openapi.json builds, errors are hub error bodies (never FastAPI
defaults or a 500 for user input), catalogue search refuses what cannot be right, and the
broker publishes the DAC's SQL revocation list from the first request on."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from genomesh.core.settings import HubSettings
from genomesh.hub.app import create_app
from genomesh.hub.dac.grants import SqlRevocationList
from tests.hub.conftest import RunningHub
from tests.hub.test_openapi_fuzz import conformance_failures


def test_openapi__builds_without_warnings_and_operation_ids_are_unique(
    hub: RunningHub,
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a duplicate operation id is a UserWarning
        hub.app.openapi_schema = None
        document = hub.app.openapi()
    with hub.client() as client:
        served = client.get("/openapi.json")
    assert served.status_code == 200
    ids = [
        op["operationId"]
        for path in document["paths"].values()
        for op in path.values()
        if isinstance(op, dict) and "operationId" in op
    ]
    assert len(ids) == len(set(ids))
    assert {"get", "post"} <= set(document["paths"]["/g_variants"])
    assert "/dac/applications/{application_id}" in document["paths"]


def test_broker__publishes_the_sql_revocation_list_before_any_request(tmp_path: Path) -> None:
    settings = HubSettings(hub_dir=tmp_path / "hub", admin_token="t" * 20)
    app = create_app(settings)  # not started: no DAC start-up hook has run
    assert isinstance(app.state.broker.revocations, SqlRevocationList)
    SqlRevocationList.from_settings(settings).revoke("jti-from-another-process")
    assert app.state.broker.revocations.is_revoked("jti-from-another-process")


def test_errors__unknown_path_and_method_are_hub_error_bodies(hub: RunningHub) -> None:
    with hub.client() as client:
        missing = client.get("/nosuch")
        wrong_method = client.delete("/catalogue")
    assert missing.status_code == 404
    assert missing.json()["error"] == {
        "errorCode": 404,
        "errorMessage": "no such endpoint: /nosuch",
    }
    assert missing.json()["meta"]["beaconId"]
    assert wrong_method.status_code == 405
    assert "DELETE" in wrong_method.json()["error"]["errorMessage"]


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("duo=garbage", "duo"),
        ("duo=DUO:9999999", "duo"),
        ("phenotype=HP:9999999", "phenotype"),
        ("bogus=1", "bogus"),
        ("q=x&Country=NL", "Country"),
    ],
)
def test_catalogue__search_refuses_unknown_terms_and_parameters(
    hub: RunningHub, query: str, named: str
) -> None:
    with hub.client() as client:
        response = client.get(f"/catalogue?{query}")
    assert response.status_code == 400, response.text
    assert named in response.json()["error"]["errorMessage"]


def test_catalogue__known_terms_and_words_still_search(hub: RunningHub) -> None:
    with hub.client() as client:
        for query in ("duo=DUO:0000042", "phenotype=HP:0001250", "phenotype=seizure", "q=x"):
            response = client.get(f"/catalogue?{query}")
            assert response.status_code == 200, (query, response.text)


@pytest.mark.slow  # ~3 s alone, up to ~7 s on a loaded 2-core machine
def test_hub_api__no_server_errors(hub: RunningHub) -> None:
    """schemathesis over every operation of the hub's /openapi.json, as the hub admin (so
    registry writes get past authentication; a registered node that does not exist is
    reported by the network, never an error)."""
    schema = schemathesis.openapi.from_url(f"{hub.url}/openapi.json")
    schema.config.update(base_url=hub.url)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40
    failures: list[str] = []
    statuses: list[int] = []
    for operation in operations:

        @settings(
            max_examples=3,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        @given(case=operation.as_strategy())
        def run(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(timeout=10, headers=hub.admin())
            statuses.append(response.status_code)
            if response.status_code >= 500 or "Traceback" in response.text:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}")
            failures.extend(conformance_failures(case, response))  # documented statuses only

        run()
    assert failures == [], "\n".join(sorted(set(failures)))
    assert {200, 400} <= set(statuses)


def test_registry__times_carry_their_zone(hub: RunningHub) -> None:
    """QA F14: SQLite dropped the zone, so /nodes said `2026-11-23T07:36:03` (local? UTC?)."""
    from tests.hub.standin import serving, standin_app

    with serving(standin_app("z")) as node:
        hub.register("z", node.url, "NL")
        with hub.client() as client:
            client.post("/catalogue/sync", headers=hub.admin()).raise_for_status()
            listed = client.get("/nodes/z").json()
            [entry] = client.get("/catalogue").json()["datasets"]
    for value in (listed["created"], listed["last_sync"], entry["synced"]):
        assert value.endswith(("+00:00", "Z")), value
