"""Passport tiers at the Beacon surface: each caller gets its tier's cap per dataset, never more.

Default caps: anonymous boolean, registered count, controlled record (with a grant for that
dataset and a research purpose). Passports are real ES256 JWTs from genomesh.testing.passports.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from genomesh.beacon.schemas import validate_response
from genomesh.core.purpose import ResearchPurpose
from genomesh.core.settings import DatasetPolicy
from genomesh.store import ingest_dataset, init_node
from genomesh.testing.cohorts import small_cohort
from genomesh.testing.passports import TestIssuer
from tests.beacon.helpers import serve

PURPOSE = ResearchPurpose(category="general")
KIND = {"boolean": "boolean", "count": "count", "record": "resultsets"}


@pytest.fixture(scope="module")
def issuer() -> TestIssuer:
    return TestIssuer()


@pytest.fixture(scope="module")
def tier_client(
    tmp_path_factory: pytest.TempPathFactory, issuer: TestIssuer
) -> Iterator[httpx.Client]:
    root = tmp_path_factory.mktemp("tiers")
    cohort = small_cohort(root)
    path = root / "node"
    init_node(path, name="Tier node", jurisdiction="ZZ")
    for ds in ("dsA", "dsB"):
        ingest_dataset(
            path, ds, vcf=cohort.vcf, individuals=cohort.individuals, consent=cohort.consent
        )
    settings = issuer.node_settings(
        node_dir=Path(path),
        jurisdiction="ZZ",
        default_policy=DatasetPolicy(min_count=1),
        anti_differencing_answers=0,
        query_budget=100_000,
    )
    with serve(settings, keep_base_url=True) as client:
        yield client


def ask(client: httpx.Client, auth: str | None, dataset: str = "dsA") -> dict:
    headers = {"Authorization": auth} if auth else {}
    r = client.get(
        "/individuals",
        params={"requestedGranularity": "record", "datasetIds": dataset, "limit": 100},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    validate_response(KIND[body["meta"]["returnedGranularity"]], body)
    return body


def test_no_token__anonymous_gets_boolean(tier_client) -> None:
    body = ask(tier_client, None)
    assert body["meta"]["returnedGranularity"] == "boolean"
    assert "numTotalResults" not in body["responseSummary"]
    assert "response" not in body


def test_registered__gets_count_not_records(tier_client, issuer) -> None:
    body = ask(tier_client, issuer.bearer())
    assert body["meta"]["returnedGranularity"] == "count"
    assert body["responseSummary"]["numTotalResults"] == 60
    assert "response" not in body


def test_valid_passport_without_researcher_visa__anonymous(tier_client, issuer) -> None:
    body = ask(tier_client, f"Bearer {issuer.passport(registered=False)}")
    assert body["meta"]["returnedGranularity"] == "boolean"


def test_controlled__records_only_for_consenting_individuals(tier_client, issuer) -> None:
    body = ask(tier_client, issuer.bearer(datasets=["dsA"], purpose=PURPOSE))
    assert body["meta"]["returnedGranularity"] == "record"
    rs = body["response"]["resultSets"][0]
    assert rs["id"] == "dsA"
    assert 0 < rs["resultsCount"] < 60  # consent narrows who may be seen for this purpose
    assert len(rs["results"]) == rs["resultsCount"]
    assert any("consent" in n for n in body["info"]["datasets"][0].get("notes", []))


def test_grant_for_another_dataset__registered_cap_there(tier_client, issuer) -> None:
    body = ask(tier_client, issuer.bearer(datasets=["dsA"], purpose=PURPOSE), dataset="dsB")
    assert body["meta"]["returnedGranularity"] == "count"
    assert "response" not in body


def test_grant_without_purpose__not_used(tier_client, issuer) -> None:
    body = ask(tier_client, issuer.bearer(datasets=["dsA"]))
    assert body["meta"]["returnedGranularity"] == "count"


def test_mixed_datasets__records_where_granted_counts_elsewhere(tier_client, issuer) -> None:
    r = tier_client.post(
        "/individuals",
        json={
            "datasets": {"datasetIds": ["dsA", "dsB"]},
            "query": {"requestedGranularity": "record"},
        },
        headers={"Authorization": issuer.bearer(datasets=["dsA"], purpose=PURPOSE)},
    )
    body = r.json()
    validate_response("resultsets", body)
    assert body["meta"]["returnedGranularity"] == "record"
    per = {d["id"]: d["granularity"] for d in body["info"]["datasets"]}
    assert per == {"dsA": "record", "dsB": "count"}
    sets = {rs["id"]: rs for rs in body["response"]["resultSets"]}
    assert sets["dsA"]["results"] and sets["dsA"]["info"]["granularity"] == "record"
    assert sets["dsB"]["results"] == [] and sets["dsB"]["resultsCount"] == 60
    assert sets["dsB"]["info"]["granularity"] == "count"
    total = body["responseSummary"]["numTotalResults"]
    assert total == sets["dsA"]["resultsCount"] + 60


@pytest.mark.parametrize(
    "kind",
    [
        "alg_none",
        "wrong_key",
        "expired",
        "not_yet_valid",
        "wrong_audience",
        "tampered_passport",
        "garbage",
    ],
)
def test_bad_passport__401_beacon_error(tier_client, issuer, kind) -> None:
    token = issuer.bad_passport(kind, datasets=["dsA"])
    r = tier_client.get("/individuals", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    validate_response("error", r.json())


@pytest.mark.parametrize("kind", ["tampered_visa", "expired_visa"])
def test_bad_visa__dropped_never_raises_tier(tier_client, issuer, kind) -> None:
    token = issuer.bad_passport(kind, datasets=["dsA"])
    r = tier_client.get(
        "/individuals",
        params={"requestedGranularity": "record", "datasetIds": "dsA"},
        headers={"Authorization": f"Bearer {token}"},
    )
    if r.status_code == 200:
        assert r.json()["meta"]["returnedGranularity"] != "record"
    else:
        assert r.status_code == 401


def test_untrusted_issuer__401(tier_client) -> None:
    other = TestIssuer("https://untrusted.example")
    r = tier_client.get(
        "/individuals", headers={"Authorization": other.bearer(datasets=["dsA"], purpose=PURPOSE)}
    )
    assert r.status_code == 401
