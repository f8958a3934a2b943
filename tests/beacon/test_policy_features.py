"""Handovers, includeResultsetResponses, withdrawal and small-count suppression at the surface."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from genomesh.beacon.schemas import validate_response
from genomesh.core.settings import DatasetPolicy, TierCaps
from genomesh.node.state import NodeState
from genomesh.store import ingest_dataset, init_node
from genomesh.testing.cohorts import small_cohort
from tests.beacon.helpers import open_settings, serve

HANDOVER = {
    "handoverType": {"id": "EDAM:3016", "label": "VCF"},
    "url": "https://data.example.org/request-access/dsA",
    "note": "apply to the data access committee",
}


@pytest.fixture(scope="module")
def node_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("policy")
    cohort = small_cohort(root)
    path = root / "node"
    init_node(path, name="Policy node", jurisdiction="ZZ")
    for ds in ("dsA", "dsB"):
        ingest_dataset(
            path, ds, vcf=cohort.vcf, individuals=cohort.individuals, consent=cohort.consent
        )
    return path


@pytest.fixture(scope="module")
def policy_client(node_dir: Path) -> Iterator[httpx.Client]:
    open_policy = DatasetPolicy(tiers=TierCaps(anonymous="record"), min_count=1)
    settings = open_settings(
        node_dir,
        state_url=f"sqlite:///{node_dir / 'policy-state.sqlite'}",
        dataset_policies={
            "dsA": open_policy.model_copy(update={"handovers": [HANDOVER]}),
            "dsB": DatasetPolicy(tiers=TierCaps(anonymous="count"), min_count=100),
        },
    )
    with serve(settings) as client:
        yield client


def test_handovers__only_for_the_dataset_that_offers_them(policy_client) -> None:
    body = policy_client.get(
        "/individuals", params={"requestedGranularity": "record", "datasetIds": "dsA"}
    ).json()
    validate_response("resultsets", body)
    assert body["beaconHandovers"] == [HANDOVER]
    assert body["response"]["resultSets"][0]["resultsHandovers"] == [HANDOVER]
    other = policy_client.get(
        "/individuals", params={"requestedGranularity": "count", "datasetIds": "dsB"}
    ).json()
    assert "beaconHandovers" not in other


def test_small_counts__suppressed_and_reported(policy_client) -> None:
    body = policy_client.get(
        "/individuals", params={"requestedGranularity": "count", "datasetIds": "dsB"}
    ).json()
    # dsB: 60 individuals < min_count 100, so the count is not disclosed; the answer says so
    assert body["meta"]["returnedGranularity"] == "boolean"
    validate_response("boolean", body)
    (ds,) = body["info"]["datasets"]
    assert ds["countSuppressed"] is True and "count" not in ds


def test_include_resultset_responses__hit_miss_all(policy_client) -> None:
    params = {
        "requestedGranularity": "record",
        "datasetIds": "dsA",
        "referenceName": "22",
        "start": 1,
        "alternateBases": "A",
    }
    hit = policy_client.get(
        "/g_variants", params={**params, "includeResultsetResponses": "HIT"}
    ).json()
    miss = policy_client.get(
        "/g_variants", params={**params, "includeResultsetResponses": "MISS"}
    ).json()
    assert hit["response"]["resultSets"] == []
    assert [rs["id"] for rs in miss["response"]["resultSets"]] == ["dsA"]
    assert miss["response"]["resultSets"][0]["exists"] is False
    validate_response("resultsets", miss)


def test_withdrawn_participant__counts_nowhere_afterwards(policy_client, node_dir) -> None:
    def ids() -> set[str]:
        body = policy_client.get(
            "/individuals",
            params={"requestedGranularity": "record", "datasetIds": "dsA", "limit": 100},
        ).json()
        return {r["id"] for r in body["response"]["resultSets"][0]["results"]}

    before = ids()
    gone = sorted(before)[0]
    state = NodeState.from_url(f"sqlite:///{node_dir / 'policy-state.sqlite'}")
    state.add_withdrawal(dataset_id="dsA", individual_id=gone, reason="test")
    state.close()
    after = ids()
    assert after == before - {gone}
    r = policy_client.get(
        f"/individuals/{gone}", params={"requestedGranularity": "count", "datasetIds": "dsA"}
    )
    assert r.json()["responseSummary"]["exists"] is False
