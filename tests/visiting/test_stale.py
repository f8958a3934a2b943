"""Results made stale by a withdrawal (issue 14 part 3), end to end: a real hub and three real
nodes. A participant withdraws through the node's participant API; the node tells the hub,
which marks the GWAS that used their data stale in the API and the CLI; `genomesh analysis
rerun` runs it again without them and reports how much it changed (checked here against the
two results directly); the participant's access report lists the stale results."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from genomesh.cli.main import main
from genomesh.simulate.traits import BinaryTraitSpec, QuantitativeTraitSpec
from genomesh.store import open_node
from genomesh.testing.cohorts import shared_cohort
from tests.visiting.test_federation import Federation, start_federation, stop_federation

pytestmark = pytest.mark.slow
ADMIN = "Hub-Operator-7731!"
BMI = "LOINC:39156-5"
COHORT = {
    "n_individuals": 300,
    "length": 300_000,
    "quantitative": QuantitativeTraitSpec(heritability=0.6, n_causal=2),
    "binary": BinaryTraitSpec(prevalence=0.3, heritability=0.6, n_causal=2),
}
PARAMS = {"trait": BMI, "covariates": ["sex", "age"], "mode": "pooled"}


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    root = tmp_path_factory.mktemp("stale-fed")
    federation = start_federation(root, shared_cohort(**COHORT), admin_password=ADMIN)
    try:
        # nl-a tells the hub of withdrawals with the shared secret a hub admin issued for it
        with federation.http() as http:
            login = http.post("/dac/login", json={"username": "admin", "password": ADMIN})
            assert login.status_code == 200, login.text
            admin = {"Authorization": f"Bearer {login.json()['token']}"}
            secret = http.post("/dac/nodes/nl-a/secret", headers=admin).json()["secret"]
        settings = federation.node_apps["nl-a"].state.gate.settings
        settings.hub_url, settings.hub_secret = federation.url, secret
        yield federation
    finally:
        stop_federation(federation)


def _done(fed: Federation, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    status = fed.wait(response.json()["id"], timeout=180)
    assert status["state"] == "done", status
    return status


def _token(fed: Federation) -> str:
    return fed.bearer()["Authorization"].removeprefix("Bearer ")


def test_withdrawal__marks_the_analysis_stale_and_rerun_reports_the_change(
    fed: Federation, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _done(fed, fed.submit("gwas", PARAMS))
    assert first["stale"] is None
    untouched = _done(fed, fed.submit("gwas", PARAMS, datasets=("nl-b", "nl-c")))
    # a participant of nl-a whose data the GWAS used withdraws, through the participant API
    node = fed.nodes["nl-a"]
    gate = fed.node_apps["nl-a"].state.gate
    leaving = sorted(
        node.allowed("nl-a-ds") & set(open_node(node.node_dir).dataset("nl-a-ds").sample_ids)
    )[0]
    token = gate.state.issue_participant_token(leaving)
    with httpx.Client(base_url=fed.node_servers["nl-a"].url, timeout=60) as c:
        r = c.post(
            "/participants/me/withdraw",
            json={"dataset_id": "nl-a-ds"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["withdrawn"][0]["hub_delivery"] == "delivered"
        report = c.get(
            "/participants/me/access-report", headers={"Authorization": f"Bearer {token}"}
        )
    ds = next(d for d in report.json()["datasets"] if d["dataset_id"] == "nl-a-ds")
    assert first["id"] in {s["task_id"] for s in ds["stale_results"]}
    assert all(x["stale"] for x in ds["recipients"])
    # the recipient is told through the existing notification path, with the stale note
    [notice] = [n for n in gate.state.notifications() if n.recipient_subject == "rita"]
    assert notice.delivery == "delivered" and "genomesh analysis rerun" in notice.message
    # stale wherever the result is shown: status, list, result (JSON and TSV)
    status = fed.wait(first["id"])
    assert status["stale"]["datasets"] == ["nl-a/nl-a-ds"] and status["stale"]["withdrawals"] == 1
    assert fed.wait(untouched["id"])["stale"] is None  # nl-a's data was not in it
    assert fed.result(first["id"]).json()["stale"]["stale"] is True
    assert "withdrawn" in fed.result(first["id"], format="tsv").headers["X-Genomesh-Stale"]
    hub = ["--hub", fed.url, "--passport", _token(fed)]
    assert main(["analysis", "status", first["id"], *hub]) == 0
    out = capsys.readouterr().out
    assert "STALE" in out and f"genomesh analysis rerun {first['id']}" in out
    assert main(["analysis", "result", first["id"], "--limit", "1", *hub]) == 0
    assert "STALE" in capsys.readouterr().out
    assert main(["analysis", "list", *hub]) == 0
    assert "STALE" in capsys.readouterr().out
    # one command re-runs it without the withdrawn participant and says how much it changed
    assert main(["analysis", "rerun", first["id"], "--wait", "--json", *hub]) == 0
    rerun = _json_tail(capsys.readouterr().out)
    assert rerun["state"] == "done" and rerun["rerun_of"]["task"] == first["id"]
    change = rerun["rerun_of"]["change"]
    assert change["n_individuals_after"] == change["n_individuals_before"] - 1
    # the reported change, computed again here from the two results
    a = pd.DataFrame(fed.result(first["id"]).json()["table"]).set_index("ID")
    b = pd.DataFrame(fed.result(rerun["id"]).json()["table"]).set_index("ID")
    both = a.index.intersection(b.index)
    a, b = a.loc[both], b.loc[both]
    ok = a["BETA"].notna() & b["BETA"].notna() & (a["SE"].astype(float) > 0)
    shift = (b["BETA"][ok].astype(float) - a["BETA"][ok].astype(float)).abs() / a["SE"][ok].astype(
        float
    )
    assert change["max_abs_delta_beta_over_se"] == pytest.approx(float(shift.max()), rel=1e-9)
    assert change["max_shift_at"] == shift.idxmax()
    top_a = set(a["P"].astype(float).nsmallest(10).index)
    top_b = set(b["P"].astype(float).nsmallest(10).index)
    assert change["top_hits_changed"] == len(top_a - top_b)
    assert 0 < change["max_abs_delta_beta_over_se"] < 5 and np.isfinite(
        change["max_abs_delta_beta_over_se"]
    )
    assert rerun["stale"] is None  # the re-run left the withdrawn participant out
    again = fed.wait(first["id"])["stale"]
    assert (
        again["reruns"] == [rerun["id"]] and again["rerun_change"] == rerun["rerun_of"]["summary"]
    )
    assert "max |Δbeta|/SE" in again["rerun_change"] and "top hits changed" in again["rerun_change"]
    assert main(["analysis", "status", rerun["id"], *hub]) == 0
    assert f"re-run of {first['id']}: individuals" in capsys.readouterr().out
    # the researcher's hub inbox says the re-run finished, and by how much the result moved
    with fed.http() as http:
        account = {"username": "rita", "password": "Sturdy-Rerunner-42",
                   "email": "rita@uni.example", "accept_terms": True}  # fmt: skip
        assert http.post("/dac/register", json=account).status_code == 201, "register"
        login = http.post("/dac/login", json={k: account[k] for k in ("username", "password")})
        inbox = http.get(
            "/dac/me/notifications", headers={"Authorization": f"Bearer {login.json()['token']}"}
        ).json()
    [told] = [n for n in inbox if n["individual_pseudonym"] == f"rerun {rerun['id']}"]
    words = told["message"]
    assert f"the re-run {rerun['id']} of analysis {first['id']}" in words
    assert "without 1 withdrawn participant(s) finished" in words
    assert f"max |Δbeta|/SE = {float(shift.max()):.3g}" in words
    assert f"{len(top_a - top_b)} of the top 10 hits changed" in words
    n0 = change["n_individuals_before"]
    assert f"individuals {n0} -> {n0 - 1}" in words
    assert not told["read"]


def _json_tail(text: str) -> dict[str, Any]:
    import json

    return json.loads(text[text.index("{") :])


def test_stale__refusals(fed: Federation) -> None:
    first = _done(fed, fed.submit("gwas", PARAMS, datasets=("nl-b",)))
    with fed.http() as http:
        # someone else's analysis: not theirs to re-run (or even see)
        other = fed.hub_app.state.broker.visa_issuer()
        mallory = other.passport(
            "mallory", [other.researcher_status("mallory")], audience=fed.hub_settings.hub_audience
        )
        r = http.post(
            f"/analysis/tasks/{first['id']}/rerun", headers={"Authorization": f"Bearer {mallory}"}
        )
        assert r.status_code == 404
        assert http.post("/analysis/tasks/nope/rerun", headers=fed.bearer()).status_code == 404
        # a node cannot mark stale an analysis that did not use its dataset
        secret_note = {
            "node": "nl-a", "dataset_id": "nl-a-ds", "individual_pseudonym": "p" * 64,
            "recipients": [], "withdrawn_at": "2026-01-01T00:00:00Z", "message": "",
            "stale_tasks": [first["id"]],
        }  # fmt: skip
        secret = fed.node_apps["nl-a"].state.gate.settings.hub_secret
        r = http.post(
            "/notifications", json=secret_note, headers={"Authorization": f"Bearer {secret}"}
        )
        assert r.status_code == 202 and r.json()["stale_tasks"] == 0
        # unauthenticated notices mark nothing
        r = http.post(
            "/notifications", json={**secret_note, "node": "nl-b", "dataset_id": "nl-b-ds"}
        )
        assert r.status_code in (401, 403)
    assert fed.wait(first["id"])["stale"] is None
