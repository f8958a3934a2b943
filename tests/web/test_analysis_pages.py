"""The analysis pages over real HTTP against the real federation (hub with portal + node):
submit through the form, poll progress, the figure and row endpoints, the TSV download, the
errors next to the field, and nobody else's task. No browser: the browser test is in
test_research_browser.py."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest

from tests.web.conftest import ADMIN_PASSWORD, MEMBER
from tests.web.research import BMI, approved_researcher, portal_cookie

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ana(federation: Any) -> httpx.Client:
    token = approved_researcher(federation, admin_password=ADMIN_PASSWORD, member=MEMBER)
    client = httpx.Client(base_url=federation.hub, timeout=60, follow_redirects=False,
                          cookies=portal_cookie(federation, token))  # fmt: skip
    yield client
    client.close()


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def _submit(client: httpx.Client, **fields: Any) -> httpx.Response:
    form = client.get("/analysis")
    assert form.status_code == 200, form.text
    data = {"csrf_token": _csrf(form.text), **fields}
    return client.post("/analysis", data=data)


def _wait(client: httpx.Client, task_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"/analysis/{task_id}/status.json")
        assert status.status_code == 200, status.text
        body = status.json()
        if body["state"] not in ("queued", "running") or time.monotonic() > deadline:
            return body
        time.sleep(0.5)


def test_gwas__submit_progress_plots_row_and_tsv(ana: httpx.Client) -> None:
    sent = _submit(ana, type="gwas", datasets="nl-node/cohort1", trait=BMI, model="linear",
                   mode="pooled", covariates="sex", min_mac="1")  # fmt: skip
    assert sent.status_code == 303, sent.text
    task_id = sent.headers["location"].rsplit("/", 1)[-1]
    assert re.fullmatch(r"[0-9a-f]{16}", task_id)
    status = _wait(ana, task_id)
    assert status["state"] == "done", status
    page = ana.get(f"/analysis/{task_id}")
    assert page.status_code == 200
    assert 'id="manhattan"' in page.text and "/portal-vendor/plotly.min.js" in page.text
    assert "'unsafe-inline'" not in page.headers["content-security-policy"].split("style-src")[0]
    plots = ana.get(f"/analysis/{task_id}/plots.json").json()
    summary = plots["summary"]
    assert summary["tested"] > 50 and summary["drawn"] == summary["tested"]
    first = plots["manhattan"]["data"][0]["customdata"][0]
    row = ana.get(f"/analysis/{task_id}/row.json", params={"variant": first[0]}).json()
    assert row["row"]["ID"] == first[0] and row["row"]["P"] == pytest.approx(first[3])
    assert row["columns"][:3] == ["CHROM", "POS", "ID"]
    missing = ana.get(f"/analysis/{task_id}/row.json", params={"variant": "1:1:A:G"})
    assert missing.status_code == 404 and "no variant 1:1:A:G" in missing.json()["message"]
    tsv = ana.get(f"/analysis/{task_id}/result.tsv")
    assert tsv.status_code == 200 and tsv.text.startswith("#CHROM\tPOS\tID")
    assert "attachment" in tsv.headers["content-disposition"]
    assert (
        len(tsv.text.strip().splitlines())
        == len([r for r in plots["manhattan"]["data"] for _ in r["x"]]) + summary["untested"] + 1
    )
    js = ana.get("/portal-vendor/plotly.min.js")
    assert js.status_code == 200 and "plotly.js v" in js.text[:200]


def test_submit__errors_next_to_the_field(ana: httpx.Client) -> None:
    no_trait = _submit(ana, type="gwas", datasets="nl-node/cohort1", trait="", mode="pooled")
    assert no_trait.status_code == 400
    assert re.search(r'id="trait-error">name the trait', no_trait.text)
    not_granted = _submit(ana, type="gwas", datasets="nl-node/cohort2", trait=BMI,
                          mode="pooled", covariates="sex")  # fmt: skip
    assert not_granted.status_code == 400
    assert re.search(r'id="datasets-error">no ControlledAccessGrants visa for dataset '
                     r"nl-node/cohort2", not_granted.text)  # fmt: skip
    bad_model = _submit(ana, type="gwas", datasets="nl-node/cohort1", trait=BMI, model="cubic")
    assert re.search(r'id="model-error">model must be one of linear, logistic', bad_model.text)
    bad_region = _submit(ana, type="allele-frequency", datasets="nl-node/cohort1",
                         region="chr22 somewhere")  # fmt: skip
    assert re.search(r'id="region-error">region .* is not CHROM:START-END', bad_region.text)
    no_csrf = ana.post("/analysis", data={"type": "gwas", "datasets": "nl-node/cohort1"})
    assert no_csrf.status_code == 403


def test_tasks_are_the_submitters_only(federation: Any, ana: httpx.Client) -> None:
    sent = _submit(ana, type="allele-frequency", datasets="nl-node/cohort1",
                   region="1:1-100000000")  # fmt: skip
    assert sent.status_code == 303, sent.text
    task_id = sent.headers["location"].rsplit("/", 1)[-1]
    assert _wait(ana, task_id)["state"] == "done"
    shown = ana.get(f"/analysis/{task_id}")
    assert "Download the result (TSV)" in shown.text and "Contributing datasets" in shown.text
    mark = federation.login(*MEMBER)["Authorization"].removeprefix("Bearer ")
    with httpx.Client(base_url=federation.hub, cookies=portal_cookie(federation, mark,
                      MEMBER[0])) as other:  # fmt: skip
        assert other.get(f"/analysis/{task_id}").status_code == 404
        assert other.get(f"/analysis/{task_id}/status.json").status_code == 404
    with httpx.Client(base_url=federation.hub) as nobody:
        page = nobody.get(f"/analysis/{task_id}", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login"


def test_compare__meta_and_pooled_side_by_side(ana: httpx.Client) -> None:
    sent = _submit(ana, type="gwas", datasets="nl-node/cohort1", trait=BMI, model="linear",
                   mode="compare", covariates="sex", min_mac="1")  # fmt: skip
    assert sent.status_code == 303, sent.text
    location = sent.headers["location"]
    found = re.fullmatch(r"/analysis/compare\?meta=([0-9a-f]{16})&pooled=([0-9a-f]{16})", location)
    assert found, location
    for task_id in found.groups():
        assert _wait(ana, task_id)["state"] == "done"
    page = ana.get(f"{location}&threshold=1e-3")
    assert page.status_code == 200, page.text
    beta = re.search(r"Correlation of betas</dt><dd>([0-9.]+)</dd>", page.text)
    assert beta and float(beta.group(1)) > 0.999  # one site: meta and pooled agree
    assert "Loci with P &lt; 0.001" in page.text
    wrong = ana.get("/analysis/compare", params={"meta": found.group(2), "pooled": found.group(1)})
    assert wrong.status_code == 400 and "is not a meta GWAS" in wrong.text


def test_failed_analysis__the_page_says_why(ana: httpx.Client) -> None:
    sent = _submit(ana, type="gwas", datasets="nl-node/cohort1", trait="no_such_trait",
                   mode="pooled", covariates="sex")  # fmt: skip
    assert sent.status_code == 303, sent.text
    task_id = sent.headers["location"].rsplit("/", 1)[-1]
    status = _wait(ana, task_id)
    assert status["state"] in ("failed", "refused"), status
    page = ana.get(f"/analysis/{task_id}")
    reason = re.search(r'id="task-reason">([^<]+)<', page.text)
    assert reason and "no trait column 'no_such_trait'" in reason.group(1).replace("&#39;", "'")
    assert 'id="manhattan"' not in page.text and "result.tsv" not in page.text


def test_stale_result__marked_rerun_button_and_change_summary(
    federation: Any, ana: httpx.Client
) -> None:
    """A node's withdrawal notice names the task (recorded by the hub's own notice handler):
    its page says it is out of date and offers the re-run (CSRF-protected); the re-run's page
    says what changed, and so does the original once the re-run is done."""
    from genomesh.hub.analysis.stale import mark_from_notice

    sent = _submit(ana, type="allele-frequency", datasets="nl-node/cohort1",
                   region="1:1-100000000")  # fmt: skip
    task_id = sent.headers["location"].rsplit("/", 1)[-1]
    assert _wait(ana, task_id)["state"] == "done"
    fresh = ana.get(f"/analysis/{task_id}").text
    assert 'id="stale"' not in fresh and "Re-run without" not in fresh
    marked = mark_from_notice(federation.hub_app, {
        "node": "nl-node", "dataset_id": "cohort1", "individual_pseudonym": "p-1",
        "withdrawn_at": "2026-01-02T03:04:05Z", "stale_tasks": [task_id],
    })  # fmt: skip
    assert marked == [task_id]
    page = ana.get(f"/analysis/{task_id}").text
    notice = page.split('id="stale"')[1].split("</section>")[0]
    assert "1 participant whose data it used" in notice and "nl-node/cohort1" in notice
    assert "Re-run without withdrawn participants" in notice
    home = ana.get("/analysis").text
    assert (
        "out of date: participants withdrew" in home.split(f">{task_id}</a>")[1].split("</tr>")[0]
    )
    refused = ana.post(f"/analysis/{task_id}/rerun", data={})
    assert refused.status_code == 403
    rerun = ana.post(f"/analysis/{task_id}/rerun", data={"csrf_token": _csrf(page)})
    assert rerun.status_code == 303, rerun.text
    new_id = rerun.headers["location"].rsplit("/", 1)[-1]
    assert new_id != task_id and _wait(ana, new_id)["state"] == "done"
    again = ana.get(f"/analysis/{new_id}").text
    assert "A re-run of" in again and f"/analysis/{task_id}" in again
    summary = re.search(r'id="rerun-summary">([^<]+)<', again)
    assert summary and "rows" in summary.group(1)
    original = ana.get(f"/analysis/{task_id}").text
    change = re.search(r'id="rerun-change">([^<]+)<', original)
    assert change and change.group(1) == summary.group(1)
    assert f"/analysis/{new_id}" in original


def test_participant_withdraws__analysis_listed_as_out_of_date(
    federation: Any, ana: httpx.Client
) -> None:
    """An analysis used a participant's data; they withdraw through the portal; their page
    lists that analysis as out of date, in words, with its id."""
    sent = _submit(ana, type="allele-frequency", datasets="nl-node/cohort1",
                   region="1:1-100000000")  # fmt: skip
    task_id = sent.headers["location"].rsplit("/", 1)[-1]
    assert _wait(ana, task_id)["state"] == "done"
    token = federation.participant_token("SIM000031")
    with httpx.Client(base_url=federation.hub, timeout=60) as me:
        csrf = _csrf(me.get("/participant").text)
        signed = me.post("/participant/sign-in", data={"node": "nl-node", "token": token,
                                                       "csrf_token": csrf})  # fmt: skip
        assert signed.status_code == 303, signed.text
        before = me.get("/participant").text
        assert "now out of date" not in before
        done = me.post("/participant/withdraw", data={
            "csrf_token": _csrf(before), "confirm": "yes", "dataset_id": "cohort1"})  # fmt: skip
        assert done.status_code == 303, done.text
        after = me.get("/participant").text
    stale = after.split('class="stale-results"')[1].split("</div>")[0]
    assert "now out of date" in stale and "a statistical analysis" in stale
    assert f"(analysis {task_id})" in stale
    marked = ana.get(f"/analysis/{task_id}").text  # the node's notice reached the hub
    assert 'id="stale"' in marked and "Re-run without withdrawn participants" in marked
