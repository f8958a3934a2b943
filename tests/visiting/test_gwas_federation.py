"""GWAS through the real federation: a hub and three real nodes on loopback (two push, one
dial-out), each holding a third of a simulated cohort with a planted quantitative trait
(BMI, LOINC:39156-5) and a planted disease (type 2 diabetes, HP:0005978 among the cases'
features).

Every round is signed by the hub, verified, guarded (consent to the purpose, withdrawals)
and audited at each node. `pooled` and `secure` linear results are checked against a naive
float64 per-variant OLS on the pooled allowed individuals read straight from the simulated
files (`genomesh.testing.gwas`), not through the nodes.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from genomesh.analysis.gwas import nodesets
from genomesh.analysis.results import result_rows
from genomesh.hub.analysis.ledger import SqlNodeSetLedger
from genomesh.simulate.traits import BinaryTraitSpec, QuantitativeTraitSpec
from genomesh.store import open_node
from genomesh.testing.cohorts import shared_cohort
from genomesh.testing.gwas import (
    design_matrix,
    load_cohort,
    naive_linear,
    run_plink2_glm,
    write_vcf,
)
from tests.visiting.test_federation import (
    NODES,
    Federation,
    start_federation,
    stop_federation,
)

pytestmark = pytest.mark.slow
BMI = "LOINC:39156-5"
COHORT = {
    "n_individuals": 300,
    "length": 300_000,
    "quantitative": QuantitativeTraitSpec(heritability=0.6, n_causal=2),
    "binary": BinaryTraitSpec(prevalence=0.3, heritability=0.6, n_causal=2),
}


@pytest.fixture(scope="module")
def gwas_fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    fed = start_federation(tmp_path_factory.mktemp("gwas-fed"), shared_cohort(**COHORT))
    try:
        yield fed
    finally:
        stop_federation(fed)


def run(fed: Federation, params: dict[str, Any]) -> dict[str, Any]:
    submitted = fed.submit("gwas", params)
    assert submitted.status_code == 201, submitted.text
    status = fed.wait(submitted.json()["id"], timeout=180)
    assert status["state"] == "done", status
    body = fed.result(status["id"]).json()
    body["_status"] = status
    return body


def reference(fed: Federation) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Naive pooled OLS of BMI on [site intercepts, sex, age, dosage] over the individuals
    each node's consent rules allow (minus withdrawals), read from the simulated files."""
    individuals, variants, dosages = load_cohort(shared_cohort(**COHORT))
    site = pd.Series("", index=individuals["individual_id"])
    for name, node in fed.nodes.items():
        ds = f"{name}-ds"
        withdrawn = fed.node_apps[name].state.node_state.withdrawn(ds)
        site[sorted(node.allowed(ds, withdrawn))] = ds
    people = individuals.assign(site=site.loc[individuals["individual_id"]].to_numpy())
    keep = (people["site"] != "").to_numpy()
    people = people[keep].reset_index(drop=True)
    C = design_matrix(people, [f"{n}-ds" for n in NODES], ["sex", "age"], None)
    ref = naive_linear(dosages[:, keep], C, people["quantitative"].to_numpy(dtype=float))
    keys = [
        f"{str(c).removeprefix('chr')}:{p}:{r}:{a}"
        for c, p, r, a in variants[["chrom", "pos", "ref", "alt"]].itertuples(index=False)
    ]
    pooled = {"people": people, "C": C, "dosages": dosages[:, keep], "variants": variants}
    return pd.DataFrame({"ID": keys, **ref}).set_index("ID"), pooled


def compare_to_reference(rows: list[dict[str, Any]], ref: pd.DataFrame) -> int:
    table = pd.DataFrame(rows).set_index("ID")
    full = table[(table["DATASETS"] == ",".join(f"{n}-ds" for n in NODES)) & table["BETA"].notna()]
    assert len(full) >= 100, len(full)
    expected = ref.loc[full.index]
    np.testing.assert_allclose(full["BETA"].astype(float), expected["beta"], rtol=1e-6)
    np.testing.assert_allclose(full["SE"].astype(float), expected["se"], rtol=1e-6)
    np.testing.assert_array_equal(full["OBS_CT"].astype(int), expected["n"].astype(int))
    return len(full)


def planted(kind: str) -> list[str]:
    truth = json.loads(shared_cohort(**COHORT).truth.read_text())
    return [f"{c['chrom']}:{c['pos']}:{c['ref']}:{c['alt']}" for c in truth[kind]["causal"]]


def test_pooled_and_secure_linear__equal_the_pooled_reference(
    gwas_fed: Federation, tmp_path: Path
) -> None:
    ref, data = reference(gwas_fed)
    params = {"trait": BMI, "covariates": ["sex", "age"]}
    pooled = run(gwas_fed, {**params, "mode": "pooled"})
    secure = run(gwas_fed, {**params, "mode": "secure"})
    assert compare_to_reference(result_rows(pooled), ref) == compare_to_reference(
        result_rows(secure), ref
    )
    assert pooled["columns"][:12] == ["CHROM", "POS", "ID", "REF", "ALT", "A1", "TEST", "OBS_CT",
                                      "BETA", "SE", "T_STAT", "P"]  # fmt: skip
    if shutil.which("plink2"):  # and plink2 --glm on the pooled data (it prints 6 digits)
        people, C = data["people"], data["C"]
        vcf = write_vcf(tmp_path / "pooled.vcf", data["variants"], people["individual_id"].tolist(),
                        data["dosages"])  # fmt: skip
        plink = run_plink2_glm(
            tmp_path, genotypes=vcf, people=people, y=people["quantitative"].to_numpy(float),
            covariates=C[:, 1:], covariate_names=[f"S{i}" for i in range(1, C.shape[1])],
        )  # fmt: skip
        rows = pd.DataFrame(secure["table"])
        full = rows[(rows["DATASETS"] == ",".join(f"{n}-ds" for n in NODES)) & rows["BETA"].notna()]
        both = full.merge(plink, on="POS", suffixes=("", "_pl"))
        assert len(both) == len(full) >= 100
        for col in ("BETA", "SE", "T_STAT", "P"):
            np.testing.assert_allclose(both[col], both[f"{col}_pl"], rtol=1e-5, err_msg=col)
        np.testing.assert_array_equal(both["OBS_CT"], both["OBS_CT_pl"])
    # the planted variant is found: the strongest planted effect is the network's top hit
    best = min((r for r in result_rows(pooled) if r["P"] is not None), key=lambda r: r["P"])
    assert best["ID"] in planted("quantitative") and best["P"] < 1e-6, best
    # attribution: every dataset with its node and its catalogue citation
    for body in (pooled, secure):
        cited = {(a["node"], a["dataset"]): a["citation"] for a in body["attribution"]}
        assert cited == {(n, f"{n}-ds"): f"Cite: the {n} cohort (2026)" for n in NODES}
    # every node's audit log has each round of the secure task, answered
    status = secure["_status"]
    for name, app in gwas_fed.node_apps.items():
        rounds = [
            e.body["what"]["parameters"]["round"] for e in app.state.node_state.audit_entries()
            if e.body["what"]["parameters"].get("task_id") == status["id"]
            and e.body["outcome"] == "answered"
        ]  # fmt: skip
        assert sorted(rounds) == list(range(status["progress"]["rounds_done"])), name
        # setup, shares, flags, unmask, stats, unmask
        assert status["progress"]["rounds_done"] == 6


def test_secure_rerun_on_a_subset__refused_across_a_hub_restart(gwas_fed: Federation) -> None:
    params = {"trait": BMI, "covariates": ["sex"], "mode": "secure"}
    assert gwas_fed.submit("gwas", params).status_code == 201  # all three datasets
    gwas_fed.hub.stop()
    # a new hub process starts with an empty in-memory ledger; the hub installs its own,
    # kept in its database
    nodesets.set_ledger(nodesets.InMemoryNodeSetLedger())
    gwas_fed.start_hub()
    assert isinstance(nodesets.get_ledger(), SqlNodeSetLedger)
    fewer = gwas_fed.submit("gwas", params, datasets=NODES[:2])
    assert fewer.status_code == 403, fewer.text
    assert "by differencing" in fewer.json()["error"]["errorMessage"]


def test_binary_and_meta__run_with_score_wald_and_comparison(gwas_fed: Federation) -> None:
    from genomesh.analysis.gwas.compare import compare_modes

    binary = run(gwas_fed, {"trait": "HP:0005978", "model": "logistic", "covariates": ["sex"],
                            "top_p": 0.01, "top_max": 5})  # fmt: skip
    methods = {r["METHOD"] for r in result_rows(binary)}
    assert "score" in methods and methods & {"wald", "firth"}, methods
    assert "Z_STAT" in binary["columns"]
    meta = run(gwas_fed, {"trait": BMI, "covariates": ["sex", "age"], "mode": "meta"})
    assert {r["METHOD"] for r in result_rows(meta) if r["BETA"] is not None} == {"ivw"}
    pooled = run(gwas_fed, {"trait": BMI, "covariates": ["sex", "age"], "mode": "pooled"})
    report = compare_modes(result_rows(meta), result_rows(pooled), threshold=1e-5)
    assert report["variants"] >= 100
    assert report["beta_correlation"] > 0.8 and report["log10p_correlation"] > 0.8, report


def test_withdrawal__changes_the_next_result(gwas_fed: Federation) -> None:
    params = {"trait": BMI, "covariates": ["sex", "age"], "mode": "pooled"}
    before = run(gwas_fed, params)
    node = gwas_fed.nodes["nl-b"]
    leaving = sorted(node.allowed("nl-b-ds"))[0]
    assert leaving in set(open_node(node.node_dir).dataset("nl-b-ds").sample_ids)
    gwas_fed.node_apps["nl-b"].state.node_state.add_withdrawal(
        dataset_id="nl-b-ds", individual_id=leaving, reason="test"
    )
    after = run(gwas_fed, params)
    assert after["n_individuals"] == before["n_individuals"] - 1
    ref, _ = reference(gwas_fed)  # the reference without the withdrawn participant
    compare_to_reference(result_rows(after), ref)


def test_cli__submit_result_tsv_plot_compare(
    gwas_fed: Federation,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from genomesh.cli.main import main

    token = gwas_fed.bearer()["Authorization"].removeprefix("Bearer ")
    monkeypatch.setenv("GENOMESH_HUB_URL", gwas_fed.url)
    monkeypatch.setenv("GENOMESH_PASSPORT", token)
    monkeypatch.setenv("COLUMNS", "200")
    datasets = [arg for n in NODES for arg in ("--dataset", f"{n}/{n}-ds")]
    code = main(["analysis", "submit", "gwas", "--trait", BMI, "--covariates", "sex,age",
                 "--mode", "secure", *datasets, "--wait", "--json"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    task = json.loads(out)
    assert task["state"] == "done" and task["params"]["mode"] == "secure"
    target = tmp_path / "bmi.tsv"
    assert main(["analysis", "result", task["id"], "--tsv", str(target)]) == 0
    header = target.read_text().splitlines()[0].split("\t")
    assert header[:12] == ["#CHROM", "POS", "ID", "REF", "ALT", "A1", "TEST", "OBS_CT", "BETA",
                           "SE", "T_STAT", "P"]  # fmt: skip
    table = pd.read_csv(target, sep="\t", na_values=["NA"])
    body = gwas_fed.result(task["id"]).json()
    assert len(table) == len(result_rows(body))
    np.testing.assert_allclose(
        table["BETA"].to_numpy(dtype=float),
        [np.nan if r["BETA"] is None else r["BETA"] for r in result_rows(body)],
        rtol=1e-12,
    )
    capsys.readouterr()
    manhattan, qq = tmp_path / "m.png", tmp_path / "qq.png"
    assert main(["analysis", "plot", task["id"], "--manhattan", str(manhattan),
                 "--qq", str(qq)]) == 0  # fmt: skip
    for png in (manhattan, qq):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000
    capsys.readouterr()
    assert main(["analysis", "compare", "--trait", BMI, "--threshold", "1e-5", *datasets]) == 0
    out = capsys.readouterr().out
    assert "correlation of betas" in out and "found only by meta" in out
    beta_corr = float(re.search(r"correlation of betas:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    assert beta_corr > 0.8
    code = main(["analysis", "submit", "gwas", "--trait", "HP:0005978", "--binary", "--mode",
                 "secure", *datasets, "--wait", "--json"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    binary = json.loads(out)
    assert binary["state"] == "done" and binary["params"]["model"] == "logistic"
    assert "Z_STAT" in gwas_fed.result(binary["id"]).json()["columns"]
    # PCs: every node projects its people on loadings the researcher sends (a panel's)
    from genomesh.analysis.gwas import reference_loadings

    _, variants, dosages = load_cohort(shared_cohort(**COHORT))
    keys = [
        f"22:{p}:{r}:{a}" for p, r, a in variants[["pos", "ref", "alt"]].itertuples(index=False)
    ]
    panel = tmp_path / "panel.json"
    panel.write_text(json.dumps(reference_loadings(dosages[:, :60], variant_keys=keys, n_pcs=3)))
    code = main(["analysis", "submit", "gwas", "--trait", BMI, "--covariates", "sex,age,pcs",
                 "--n-pcs", "2", "--pcs-reference", str(panel), *datasets, "--wait", "--json"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    with_pcs = gwas_fed.result(json.loads(out)["id"]).json()
    assert with_pcs["covariates"][-2:] == ["PC1", "PC2"]
    assert sum(r["BETA"] is not None for r in result_rows(with_pcs)) >= 100
    # bad input: a clear error, no traceback
    assert main(["analysis", "submit", "gwas", "--trait", BMI, "--covariates", "sex,pcs",
                 *datasets]) == 2  # fmt: skip
    assert "--pcs-reference" in capsys.readouterr().err
    assert main(["analysis", "submit", "gwas", "--trait", BMI, "--mode", "fast", *datasets]) == 2
    assert "mode must be one of" in capsys.readouterr().err
    assert main(["analysis", "plot", task["id"]]) == 2


def test_min_mac__a_request_cannot_lower_the_nodes_floor(gwas_fed: Federation) -> None:
    params = {"trait": BMI, "covariates": ["sex"], "mode": "pooled"}
    floor = gwas_fed.node_apps["nl-a"].state.settings.analysis_min_mac
    assert floor == 5
    at_floor = run(gwas_fed, {**params, "min_mac": floor})
    asked_lower = run(gwas_fed, {**params, "min_mac": 0})
    everyone = ",".join(f"{n}-ds" for n in NODES)
    partial = [r["ID"] for r in result_rows(at_floor) if r["DATASETS"] != everyone]
    assert len(partial) >= 20  # rare variants: the floor keeps some datasets out of them
    assert [r["DATASETS"] for r in result_rows(asked_lower)] == [
        r["DATASETS"] for r in result_rows(at_floor)
    ]
    higher = run(gwas_fed, {**params, "min_mac": 20})  # raising it is the researcher's right
    assert sum(r["DATASETS"] != everyone for r in result_rows(higher)) > len(partial)
