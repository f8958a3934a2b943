"""`case-search` through a real federation: a hub and three real nodes on loopback (two push,
one dial-out) holding one simulated cohort with ReNU syndrome planted (RNU4-2, cases at
nl-a and nl-b; nl-c, the dial-out node, is the population and carries one private variant).

Results are checked against a plain-Python recount from the planted VCF text, the allowed
individuals (consent to the purpose), the case definition and the default filter (`split`:
common in the population's reference half, the other half counted), with the documented
suppression rules; the p-values against a hypergeometric tail summed with `math.comb`.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from genomesh.core.settings import DatasetPolicy
from genomesh.ontology.hpo import get_hpo
from genomesh.simulate.cohort import CohortFiles
from genomesh.simulate.raredisease import plant_rare_disease
from genomesh.testing.cohorts import shared_cohort
from tests.visiting.test_federation import NODES, Federation, start_federation, stop_federation

pytestmark = pytest.mark.slow
POPULATION = "nl-c"
MIN_COUNT = 3  # the federation's DatasetPolicy(min_count=3)
CASE = {"phenotypes": ["HP:0012759"], "descendants": True}  # Neurodevelopmental abnormality


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> CohortFiles:
    base = shared_cohort(n_individuals=240, chromosome="12", start=120_200_000, length=150_000)
    eligible = [s for i, s in enumerate(base.sample_ids) if i % 3 != 2]  # nl-a, nl-b
    return plant_rare_disease(
        base, tmp_path_factory.mktemp("planted") / "cohort", n_cases=24, eligible=eligible, seed=3
    )


@pytest.fixture(scope="module")
def fed(planted: CohortFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    federation = start_federation(  # the custodian of nl-c marks it as a population cohort
        tmp_path_factory.mktemp("case-search"),
        planted,
        policies={POPULATION: DatasetPolicy(min_count=MIN_COUNT, cohort_role="population")},
    )
    try:
        yield federation
    finally:
        stop_federation(federation)


def run(fed: Federation, params: dict[str, Any]) -> dict[str, Any]:
    submitted = fed.submit("case-search", {"population": [f"{POPULATION}/{POPULATION}-ds"],
                                           "case": CASE, **params})  # fmt: skip
    assert submitted.status_code == 201, submitted.text
    status = fed.wait(submitted.json()["id"])
    assert status["state"] == "done", status
    return fed.result(status["id"]).json()


def truth_table(cohort: CohortFiles, fed: Federation) -> tuple[list, dict[str, list[str]]]:
    """(VCF records as (pos, key, {sample: alt count}), samples per node), from the file."""
    with gzip.open(cohort.vcf, "rt") as handle:
        lines = [line for line in handle.read().splitlines() if not line.startswith("##")]
    samples = lines[0].split("\t")[9:]
    records = []
    for line in lines[1:]:
        f = line.split("\t")
        calls = {s: sum(a == "1" for a in g.replace("|", "/").split("/"))
                 for s, g in zip(samples, f[9:], strict=True)}  # fmt: skip
        records.append((int(f[1]), f"{f[0].removeprefix('chr')}-{f[1]}-{f[3]}-{f[4]}", calls))
    by_node = {n: [s for i, s in enumerate(samples) if i % 3 == k] for k, n in enumerate(NODES)}
    return records, by_node


def is_case(cohort: CohortFiles) -> set[str]:
    wanted = get_hpo().descendants(CASE["phenotypes"][0])
    people = json.loads(cohort.individuals.read_text())
    return {
        p["id"] for p in people
        if wanted & {f["featureType"]["id"] for f in p.get("phenotypicFeatures", [])
                     if not f.get("excluded")}
    }  # fmt: skip


def expected(cohort: CohortFiles, fed: Federation, start: int, end: int, max_af: float) -> dict:
    """The row the hub should give for region [start, end] of chromosome 12."""
    records, by_node = truth_table(cohort, fed)
    allowed = {n: fed.nodes[n].allowed(f"{n}-ds") for n in NODES}
    everyone = [s for s in by_node[POPULATION] if s in allowed[POPULATION]]
    # filter `split`: a stable hash of the id puts each population individual in the
    # reference half (filters) or the tested half (counted)
    ref = [s for s in everyone if hashlib.sha256(f"case-search:{s}".encode()).digest()[0] % 2 == 0]
    pop = [s for s in everyone if s not in ref]
    common = set()
    for _, key, calls in records:
        ac = sum(calls[s] for s in ref)
        if ac > max_af * 2 * len(ref) and ac >= MIN_COUNT:
            common.add(key)
    qualifying = [(p, k, c) for p, k, c in records if start <= p <= end and k not in common]
    cases = is_case(cohort)
    k_total = n_total = 0
    for node in NODES[:2]:
        members = [s for s in by_node[node] if s in allowed[node] and s in cases]
        if len(members) < MIN_COUNT:
            continue
        n_total += len(members)
        k = sum(any(c[s] > 0 for _, _, c in qualifying) for s in members)
        k_total += 0 if k < MIN_COUNT else k
    c_pop = sum(any(c[s] > 0 for _, _, c in qualifying) for s in pop)
    return {"case_carriers": k_total, "cases": n_total, "population": len(pop),
            "pop_carriers": max(c_pop, MIN_COUNT - 1) if qualifying else 0}  # fmt: skip


def hypergeometric_tail(k: int, n: int, c: int, big_n: int) -> float:
    """P(X >= k) for X ~ carriers among the n cases when k + c carriers are spread over n + N."""
    total, carriers = n + big_n, k + c
    den = math.comb(total, n)
    return sum(math.comb(carriers, x) * math.comb(total - carriers, n - x)
               for x in range(k, min(carriers, n) + 1)) / den  # fmt: skip


def test_case_search__window_scan_ranks_the_planted_region_first(
    fed: Federation, planted: CohortFiles
) -> None:
    result = run(fed, {"window": 10_000, "max_af": 0.01})
    rows = result["rows"]
    top = rows[0]
    assert top["region"] == "12:120290001-120300000"  # the window holding RNU4-2
    assert top["significant"] and top["p"] < 1e-3  # half the population tested (filter split)
    assert all(not r["significant"] for r in rows[1:])
    want = expected(planted, fed, top["start"], top["end"], 0.01)
    assert {k: top[k] for k in want} == want
    assert result["cases"] == want["cases"] and result["population"] == want["population"]
    assert top["p"] == pytest.approx(
        hypergeometric_tail(top["case_carriers"], top["cases"], top["pop_carriers"],
                            top["population"]), rel=1e-9)  # fmt: skip
    assert set(top["contributors"].split(";")) == {"nl-a/nl-a-ds", "nl-b/nl-b-ds"}
    assert "Fisher" in result["test"]
    assert result["hpo_version"] == get_hpo().version
    assert any(
        result["hpo_version"] in note and "Human Phenotype" in note for note in result["notes"]
    )
    for row in rows[1:6]:  # other windows match the recount too
        assert {k: row[k] for k in want} == expected(planted, fed, row["start"], row["end"], 0.01)


def test_case_search__named_region_and_disease_definition(
    fed: Federation, planted: CohortFiles
) -> None:
    truth = planted.read_truth()["rare_disease"]
    result = run(fed, {"regions": [truth["region"], "12:120210000-120220000"],
                       "case": {"disease": truth["disease"]["id"]}})  # fmt: skip
    top = result["rows"][0]
    assert top["region"] == truth["region"] and top["significant"]
    assert top["pop_carriers"] == MIN_COUNT - 1  # one private carrier, sent as an upper bound


@pytest.mark.parametrize("how", ["split", "pooled"])
def test_case_search__one_carrier_region_looks_like_no_carrier_region(
    fed: Federation, planted: CohortFiles, how: str
) -> None:
    """A region where one allowed case carries a variant gives exactly what a region where no
    case carries one gives: nothing about that participant leaves the node (with the pooled
    filter, whose first round sends case allele counts, too)."""
    records, by_node = truth_table(planted, fed)
    allowed = fed.nodes["nl-a"].allowed("nl-a-ds")
    cases = is_case(planted) & allowed & set(by_node["nl-a"])
    others = [n for n in NODES[1:]]
    one = none = None
    for pos, _, calls in records:
        in_a = [s for s in cases if calls[s] > 0]
        elsewhere = [s for n in others for s in by_node[n] if calls[s] > 0]
        if len(in_a) == 1 and not elsewhere and one is None:
            one = pos
        if not in_a and not elsewhere and none is None and any(calls.values()):
            none = pos
    assert one is not None and none is not None
    result = run(fed, {"regions": [f"12:{one}-{one}", f"12:{none}-{none}"], "max_af": 0.49,
                       "filter": how})  # fmt: skip
    rows = {r["region"]: r for r in result["rows"]}
    keys = ("case_carriers", "cases", "pop_carriers", "population", "p", "contributors")
    assert {k: rows[f"12:{one}-{one}"][k] for k in keys} == {
        k: rows[f"12:{none}-{none}"][k] for k in keys
    }
    assert rows[f"12:{one}-{one}"]["case_carriers"] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"window": 10}, "window"),
        ({"window": 10_000, "population": ["nowhere/x"]}, "population"),
        ({"regions": ["12:5-1"]}, "regions"),
        ({"window": 10_000, "case": {"phenotypes": ["seizure"]}}, "case.phenotypes"),
        ({"genes": ["RNU4-2", "NOTAGENE1"]}, "genes"),
        ({"window": 10_000, "genes": ["RNU4-2"]}, "regions"),
        ({"window": 10_000, "filter": "cases-only"}, "filter"),
    ],
)
def test_case_search__bad_params_are_refused_naming_the_field(
    fed: Federation, params: dict[str, Any], field: str
) -> None:
    body = {"population": [f"{POPULATION}/{POPULATION}-ds"], "case": CASE, **params}
    response = fed.submit("case-search", body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["errorMessage"].startswith(f"field {field!r}:")


def test_case_search__from_the_command_line_with_its_plots(
    fed: Federation,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from genomesh.cli.main import main

    monkeypatch.setenv("GENOMESH_HUB_URL", fed.url)
    monkeypatch.setenv("GENOMESH_PASSPORT", fed.bearer()["Authorization"].removeprefix("Bearer "))
    monkeypatch.setenv("COLUMNS", "200")
    datasets = [arg for n in NODES for arg in ("--dataset", f"{n}/{n}-ds")]
    code = main(["analysis", "submit", "case-search", *datasets, "--population", "nl-c/nl-c-ds",
                 "--phenotype", "HP:0012759", "--window", "10000", "--max-af", "0.01",
                 "--wait", "--json"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    task = json.loads(out)
    assert task["state"] == "done"
    assert main(["analysis", "result", task["id"], "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert "120290001" in out and "Human Phenotype Ontology" in out
    manhattan, qq = tmp_path / "scan.png", tmp_path / "qq.png"
    assert main(["analysis", "case-plot", task["id"], "--manhattan", str(manhattan),
                 "--qq", str(qq)]) == 0  # fmt: skip
    assert manhattan.read_bytes()[:8] == qq.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["analysis", "submit", "case-search", *datasets, "--population",
                 "nl-c/nl-c-ds", "--window", "10000"]) == 2  # fmt: skip
    assert "--phenotype" in capsys.readouterr().err
    # a gene list (comma-separated, repeatable), resolved by the hub from the gene table
    code = main(["analysis", "submit", "case-search", *datasets, "--population", "nl-c/nl-c-ds",
                 "--phenotype", "HP:0012759", "--genes", "RNU4-1,RNU4-2", "--genes", "OAS1",
                 "--max-af", "0.01", "--wait", "--json"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    rows = fed.result(json.loads(out)["id"]).json()["rows"]
    assert rows[0]["gene"] == "RNU4-2" and rows[0]["significant"]
    assert {r["gene"] for r in rows} <= {"RNU4-1", "RNU4-2", "OAS1"}


def test_case_search__a_phenotype_unrelated_to_the_genome_finds_nothing(fed: Federation) -> None:
    """The null: cases defined by a background finding drawn independently of genotype
    (hypertension, 18 % of everyone) give no significant region, the planted one included."""
    result = run(fed, {"window": 10_000, "max_af": 0.01,
                       "case": {"phenotypes": ["HP:0000822"]}})  # fmt: skip
    assert result["cases"] >= 10
    assert not [r for r in result["rows"] if r["significant"]]
    assert min(r["p"] for r in result["rows"]) > 0.05 / len(result["rows"])


def test_case_search__population_defaults_to_the_catalogues_population_datasets(
    fed: Federation,
    planted: CohortFiles,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """nl-c's custodian marked it `cohort_role = "population"`: /info carries it, the
    catalogue shows and filters by it, and a case search naming no population uses it."""
    with fed.http() as http:
        marked = http.get("/catalogue", params={"role": "population"}).json()["datasets"]
        assert [(e["node"], e["cohortRole"]) for e in marked] == [(POPULATION, "population")]
        assert {e["cohortRole"] for e in http.get("/catalogue").json()["datasets"]} == {
            "population",
            None,
        }
        bad = http.get("/catalogue", params={"role": "controls"})
        assert bad.status_code == 400 and "'controls'" in bad.text
    region = planted.read_truth()["rare_disease"]["region"]
    named = run(fed, {"regions": [region]})
    submitted = fed.submit("case-search", {"case": CASE, "regions": [region]})
    assert submitted.status_code == 201, submitted.text
    status = fed.wait(submitted.json()["id"])
    assert status["state"] == "done", status
    default = fed.result(status["id"]).json()
    assert default["rows"] == named["rows"] and default["population"] > 0
    # no submitted dataset is marked: refused, naming the problem
    refused = fed.submit("case-search", {"case": CASE, "regions": [region]}, NODES[:2])
    assert refused.status_code == 400, refused.text
    message = refused.json()["error"]["errorMessage"]
    assert message.startswith("field 'population':") and "cohort_role" in message
    from genomesh.cli.main import main

    monkeypatch.setenv("GENOMESH_HUB_URL", fed.url)
    monkeypatch.setenv("GENOMESH_PASSPORT", fed.bearer()["Authorization"].removeprefix("Bearer "))
    monkeypatch.setenv("COLUMNS", "200")
    capsys.readouterr()
    assert main(["catalogue", "search", "--role", "population"]) == 0
    out = capsys.readouterr().out
    assert "nl-c-ds" in out and "nl-a-ds" not in out
    datasets = [arg for n in NODES for arg in ("--dataset", f"{n}/{n}-ds")]
    code = main(["analysis", "submit", "case-search", *datasets, "--phenotype", "HP:0012759",
                 "--region", region, "--wait", "--json"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert json.loads(out)["state"] == "done"
