"""HPO filters on a simulated cohort: descendants, includeDescendantTerms=false, similarity,
and /filtering_terms with the HPO version and acknowledgement. Expected sets come from the
cohort's BFF file and the ontology package, not from the store."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from genomesh.beacon.schemas import validate_response
from genomesh.ontology.hpo import get_hpo
from genomesh.store import ingest_dataset, init_node
from genomesh.testing.cohorts import small_cohort
from tests.beacon.helpers import open_settings, serve

HYPERGLYCEMIA = "HP:0003074"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, list[dict]]]:
    root = tmp_path_factory.mktemp("hpo")
    cohort = small_cohort(root)
    init_node(root / "node", name="HPO node", jurisdiction="ZZ")
    ingest_dataset(
        root / "node", "sim", vcf=cohort.vcf, individuals=cohort.individuals, consent=cohort.consent
    )
    people = json.loads(cohort.individuals.read_text())
    with serve(open_settings(root / "node")) as client:
        yield client, people


def with_any(people: list[dict], terms: set[str]) -> set[str]:
    return {
        p["id"]
        for p in people
        for f in p.get("phenotypicFeatures", [])
        if not f.get("excluded") and f["featureType"]["id"] in terms
    }


def count(client: httpx.Client, filters: list[dict]) -> int:
    r = client.post(
        "/individuals", json={"query": {"requestedGranularity": "count", "filters": filters}}
    )
    assert r.status_code == 200, r.text
    validate_response("count", r.json())
    return int(r.json()["responseSummary"]["numTotalResults"])


def test_parent_term__counts_everyone_below_it(sim) -> None:
    client, people = sim
    hpo = get_hpo()
    parent = sorted(hpo.parents(HYPERGLYCEMIA))[0]
    expected = with_any(people, set(hpo.descendants(parent)))
    assert expected
    assert count(client, [{"id": parent}]) == len(expected)
    assert count(client, [{"id": "HP:0000118"}]) == len(
        with_any(people, set(hpo.descendants("HP:0000118")))
    )
    assert count(client, [{"id": "HP:0000118", "includeDescendantTerms": False}]) == 0


def test_similarity__widens_monotonically(sim) -> None:
    client, _ = sim
    counts = [
        count(client, [{"id": HYPERGLYCEMIA, "similarity": s}])
        for s in ("exact", "high", "medium", "low")
    ]
    assert counts == sorted(counts)
    assert counts[0] >= 1
    r = client.post(
        "/individuals", json={"query": {"filters": [{"id": HYPERGLYCEMIA, "similarity": "very"}]}}
    )
    assert r.status_code == 400


def test_filtering_terms__hpo_version_and_acknowledgement(sim) -> None:
    client, people = sim
    body = client.get("/filtering_terms").json()
    validate_response("filtering_terms", body)
    ids = {t["id"] for t in body["response"]["filteringTerms"]}
    assert with_any(people, {HYPERGLYCEMIA}) and HYPERGLYCEMIA in ids
    hp = next(r for r in body["response"]["resources"] if r["nameSpacePrefix"] == "HP")
    assert get_hpo().version in hp["version"]
    assert "Human Phenotype Ontology" in body["info"]["hpoAcknowledgement"]


def test_unknown_hpo_term__400_naming_it(sim) -> None:
    client, _ = sim
    r = client.get("/individuals", params={"filters": "HP:9999999"})
    assert r.status_code == 400
    assert "HP:9999999" in r.json()["error"]["errorMessage"]


def test_dataset_filtering_terms__only_that_dataset(sim) -> None:
    client, _ = sim
    r = client.get("/datasets/sim/filtering_terms")
    assert r.status_code == 200
    validate_response("filtering_terms", r.json())
    assert HYPERGLYCEMIA in {t["id"] for t in r.json()["response"]["filteringTerms"]}
    missing = client.get("/datasets/nope/filtering_terms")
    assert missing.status_code == 404
    validate_response("error", missing.json())
