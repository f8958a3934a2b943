"""Every response of every endpoint validates against the Beacon v2.1.1 schemas (offline).

Known spec bugs are handled in genomesh.beacon.schemas (explicit ref fix-ups, see its module
docstring); nothing is skipped here.
"""

from __future__ import annotations

import httpx
import pytest

from genomesh.beacon.informational import CROSS_PATHS
from genomesh.beacon.schemas import schema_errors, validate_response
from tests.beacon.helpers import CINECA_ID

KIND = {"boolean": "boolean", "count": "count", "record": "resultsets"}
INFORMATIONAL = {
    "/": "info",
    "/info": "info",
    "/service-info": "service-info",
    "/configuration": "configuration",
    "/map": "map",
    "/entry_types": "entry_types",
    "/filtering_terms": "filtering_terms",
}


@pytest.fixture(scope="module")
def ids(client: httpx.Client) -> dict[str, str]:
    r = client.get("/g_variants", params={"requestedGranularity": "record", "limit": 1})
    variant = r.json()["response"]["resultSets"][0]["results"][0]["variantInternalId"]
    return {
        "g_variants": variant,
        "individuals": "HG00096",
        "biosamples": "HG00096",
        "runs": "HG00096-run",
        "analyses": "HG00096-analysis",
        "datasets": CINECA_ID,
        "cohorts": CINECA_ID,
    }


def _paths(ids: dict[str, str]) -> list[str]:
    paths = []
    for entry, targets in CROSS_PATHS.items():
        paths += [f"/{entry}", f"/{entry}/{ids[entry]}"]
        paths += [f"/{entry}/{ids[entry]}/{t}" for t in targets]
    return paths


@pytest.mark.parametrize(("path", "kind"), sorted(INFORMATIONAL.items()))
def test_informational__validates(client, path, kind) -> None:
    r = client.get(path)
    assert r.status_code == 200
    validate_response(kind, r.json())


def test_filtering_terms__lists_present_terms_with_hpo_resources(client) -> None:
    body = client.get("/filtering_terms").json()
    ids = {t["id"] for t in body["response"]["filteringTerms"]}
    assert {"NCIT:C16576", "NCIT:C20197", "ICD10:J40", "LOINC:35925-4"} <= ids
    assert "HP:0001250" not in ids  # not present in CINECA
    prefixes = {r["nameSpacePrefix"] for r in body["response"]["resources"]}
    assert {"NCIT", "ICD10", "LOINC"} <= prefixes


def _is_collection(path: str) -> bool:
    """Unconstrained /datasets and /cohorts queries describe datasets: public collections."""
    parts = path.strip("/").split("/")
    return parts[0] in ("datasets", "cohorts") and len(parts) <= 2


@pytest.mark.parametrize("granularity", ["boolean", "count", "record"])
def test_every_entry_path__get_and_post_validate(client, ids, granularity) -> None:
    for path in _paths(ids):
        r = client.get(path, params={"requestedGranularity": granularity, "limit": 3})
        assert r.status_code == 200, (path, r.text)
        body = r.json()
        if _is_collection(path):
            validate_response("collections", body)
            assert body["response"]["collections"], path
        else:
            assert body["meta"]["returnedGranularity"] == granularity, path
            validate_response(KIND[granularity], body)
        assert body["responseSummary"]["exists"] is True, path
        p = client.post(
            path, json={"query": {"requestedGranularity": granularity, "pagination": {"limit": 3}}}
        )
        assert p.status_code == 200, (path, p.text)
        validate_response("collections" if _is_collection(path) else KIND[granularity], p.json())
        assert p.json()["responseSummary"] == body["responseSummary"], path


def test_record_results__validate_against_default_model(client, ids) -> None:
    for path in _paths(ids):
        if _is_collection(path):
            continue  # validated record by record in validate_response("collections", ...)
        body = client.get(path, params={"requestedGranularity": "record", "limit": 5}).json()
        entity = body["meta"]["returnedSchemas"][0]["entityType"]
        for rs in body["response"]["resultSets"]:
            assert rs["results"], path
            for record in rs["results"]:
                assert schema_errors(f"record:{entity}", record) == [], (path, record)


def test_datasets__public_description_with_duo_for_anonymous(cineca_node, tmp_path) -> None:
    from genomesh.core.consent import DataUseTerm
    from genomesh.store import ingest_dataset, init_node
    from genomesh.testing.cohorts import small_cohort
    from tests.beacon.helpers import serve

    cohort = small_cohort(tmp_path)
    init_node(tmp_path / "node", name="Described node", jurisdiction="ZZ")
    ingest_dataset(
        tmp_path / "node", "described", vcf=cohort.vcf, individuals=cohort.individuals,
        duo=[DataUseTerm(id="DUO:0000042")], description="A simulated cohort.",
    )  # fmt: skip
    from genomesh.core.settings import NodeSettings

    with serve(NodeSettings.load(tmp_path / "node")) as anonymous:  # default caps: boolean
        body = anonymous.get("/datasets").json()
        validate_response("collections", body)
        (doc,) = body["response"]["collections"]
        assert doc["id"] == "described" and doc["description"] == "A simulated cohort."
        assert doc["dataUseConditions"]["duoDataUse"][0]["id"] == "DUO:0000042"
        # individual-level questions stay capped for the anonymous tier
        r = anonymous.get(
            "/datasets/described/individuals", params={"requestedGranularity": "record"}
        )
        assert r.json()["meta"]["returnedGranularity"] == "boolean"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/nowhere", {}, 404),
        ("GET", "/datasets/no-such-dataset", {}, 404),
        ("GET", "/individuals", {"params": {"filters": "NOPE:123"}}, 400),
        ("GET", "/individuals", {"params": {"requestedGranularity": "everything"}}, 400),
        ("GET", "/g_variants", {"params": {"referenceName": "22", "start": "x"}}, 400),
        (
            "GET",
            "/g_variants",
            {"params": {"referenceName": "chr99", "start": "1", "alternateBases": "A"}},
            400,
        ),
        (
            "POST",
            "/individuals",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            400,  # as the hub answers it (issue 10: was 422 "body.0: JSON decode error")
        ),
        (
            "POST",
            "/individuals",
            {"json": {"query": {"filters": [{"id": "BMI", "operator": "~", "value": "3"}]}}},
            400,
        ),
        ("GET", "/individuals", {"headers": {"Authorization": "Bearer not-a-jwt"}}, 401),
        ("GET", "/individuals", {"headers": {"Authorization": "Basic dXNlcjpwdw=="}}, 401),
        ("PUT", "/individuals", {}, 405),
    ],
)
def test_errors__are_beacon_error_bodies(client, method, path, kwargs, status) -> None:
    r = client.request(method, path, **kwargs)
    assert r.status_code == status, r.text
    body = r.json()
    validate_response("error", body)
    assert body["error"]["errorCode"] == status
    assert "Traceback" not in r.text
