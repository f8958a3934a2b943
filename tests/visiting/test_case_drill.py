"""`genomesh analysis drill`: the variants behind a case search's top region, through the hub's
Beacon network query and each node's gate, on the planted-disease federation of
tests/visiting/test_case_search.py (cases at nl-a and nl-b, nl-c the population).

With a controlled-access grant for every dataset the planted case variants are listed with
their case carriers (cases only: the case definition goes as Beacon filters) and the
population's allele counts (an allele-frequency analysis), common variants dropped; without
one, each dataset says only what its Beacon says to that passport."""

from __future__ import annotations

import json
from typing import Any

import pytest

from genomesh.simulate.cohort import CohortFiles
from tests.visiting.test_case_search import fed, is_case, planted, truth_table  # noqa: F401
from tests.visiting.test_federation import NODES, Federation

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def task(fed: Federation, planted: CohortFiles) -> dict[str, Any]:  # noqa: F811
    truth = planted.read_truth()["rare_disease"]
    submitted = fed.submit("case-search", {"population": ["nl-c/nl-c-ds"], "max_af": 0.01,
                           "case": {"disease": truth["disease"]["id"]},
                           "regions": [truth["region"], "12:120210000-120220000"]})  # fmt: skip
    assert submitted.status_code == 201, submitted.text
    status = fed.wait(submitted.json()["id"])
    assert status["state"] == "done", status
    return {"id": status["id"], "truth": truth}


def drill(fed: Federation, args: list[str], token: str, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
          capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:  # fmt: skip
    from genomesh.cli.main import main

    monkeypatch.setenv("GENOMESH_HUB_URL", fed.url)
    monkeypatch.setenv("GENOMESH_PASSPORT", token)
    monkeypatch.setenv("COLUMNS", "200")
    code = main(["analysis", "drill", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def token(fed: Federation, datasets: tuple[str, ...]) -> str:  # noqa: F811
    return fed.bearer(datasets=datasets)["Authorization"].removeprefix("Bearer ")


def test_drill__a_record_level_grant_lists_the_planted_variants(
    fed: Federation,  # noqa: F811
    task: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = drill(fed, [task["id"], "1", "--json"], token(fed, NODES), monkeypatch, capsys)
    assert code == 0, out
    body = json.loads(out)
    assert body["region"] == task["truth"]["region"] and body["max_af"] == 0.01
    rows = {d["node"]: d for d in body["datasets"]}
    assert set(rows) == set(NODES[:2])  # the case datasets; the population is apart
    assert body["population"]["datasets"] == ["nl-c/nl-c-ds"] and body["population"]["task"]
    listed = {
        (d["node"], v["position"], v["ref"], v["alt"]): v["carriers"]
        for d in body["datasets"]
        for v in d.get("variants", [])
    }
    assert all(rows[n]["granularity"] == "record" for n in NODES[:2]), rows
    found = 0
    for pid, key in task["truth"]["case_variants"].items():
        pos, ref, alt = key.split("-")
        hits = [c for (n, p, r, a), c in listed.items() if (p, r, a) == (int(pos), ref, alt)]
        assert hits, f"planted variant {key} of {pid} not listed"
        found += any(c.split(":")[0] == pid for carriers in hits for c in carriers)
    assert found >= len(task["truth"]["case_variants"]) // 2  # carriers named (consent allowing)
    code, text = drill(fed, [task["id"], task["truth"]["region"]], token(fed, NODES),
                       monkeypatch, capsys)  # fmt: skip
    assert code == 0 and "carriers:" in text and "nl-a/nl-a-ds: record" in text


def test_drill__without_a_grant_only_what_the_beacon_gives(
    fed: Federation,  # noqa: F811
    task: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = drill(fed, [task["id"], "1", "--json"], token(fed, ()), monkeypatch, capsys)
    assert code == 0, out
    body = json.loads(out)
    assert body["datasets"]
    for d in body["datasets"]:
        assert d["granularity"] != "record" and "variants" not in d, d
    assert not any(d.get("variants") for d in body["datasets"])
    assert {d["granularity"] for d in body["datasets"]} <= {"count", "boolean", "refused"}, body
    code, text = drill(fed, [task["id"], "1"], token(fed, ()), monkeypatch, capsys)
    assert code == 0 and "carriers:" not in text


def test_drill__a_region_not_in_the_search_is_refused_naming_it(
    fed: Federation,  # noqa: F811
    task: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = drill(fed, [task["id"], "12:1-2"], token(fed, NODES), monkeypatch, capsys)
    assert code != 0 and "not a region of this case search" in out
    code, out = drill(fed, [task["id"], "9"], token(fed, NODES), monkeypatch, capsys)
    assert code != 0 and "rank 9" in out


def test_drill__lists_case_carriers_only_and_drops_common_variants(
    fed: Federation,  # noqa: F811
    planted: CohortFiles,  # noqa: F811
    task: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In a 10 kb region full of variants carried by non-cases, the drill names only cases
    (checked against the VCF), gives the population's counts per variant equal to a recount
    over nl-c's allowed individuals, and drops the variants common there."""
    region = "12:120210000-120220000"
    code, out = drill(fed, [task["id"], region, "--json"], token(fed, NODES), monkeypatch, capsys)
    assert code == 0, out
    body = json.loads(out)
    records, by_node = truth_table(planted, fed)
    cases = is_case(planted)
    pop = [s for s in by_node["nl-c"] if s in fed.nodes["nl-c"].allowed("nl-c-ds")]
    ac = {
        key: sum(calls[s] for s in pop)
        for p, key, calls in records
        if 120_210_000 <= p <= 120_220_000
    }
    non_case_carriers = {s for n in NODES[:2] for p, _, calls in records
                         if 120_210_000 <= p <= 120_220_000 for s in by_node[n]
                         if calls[s] > 0 and s not in cases}  # fmt: skip
    assert non_case_carriers  # the filter has something to leave out
    listed = [(d["node"], v) for d in body["datasets"] for v in d.get("variants", [])]
    assert listed, body
    for _node, v in listed:
        assert all(c.split(":")[0] in cases for c in v["carriers"]), v
        counts = v["population"]
        key = f"12-{v['position']}-{v['ref']}-{v['alt']}"
        if counts.get("AC") is not None and counts.get("AN"):
            assert counts["AC"] == ac[key] and counts["AN"] == 2 * len(pop)
            assert counts["AF"] <= body["max_af"]
    common = {k for k, n in ac.items() if n > body["max_af"] * 2 * len(pop) and n >= 3}
    known = {f"12-{v['position']}-{v['ref']}-{v['alt']}" for _, v in listed
             if v["population"].get("AF") is not None}  # fmt: skip
    assert common and not common & known  # a withheld AC leaves the rarity unknown: kept
    assert sum(d.get("common_dropped", 0) for d in body["datasets"]) > 0
