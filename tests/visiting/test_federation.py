"""Data visiting end to end: a real hub and three real nodes on loopback (two push, one
dial-out), each holding one third of a simulated cohort.

The hub signs every round and derives each node's passport from the researcher's; each node
verifies the round, applies its guard (consent to the purpose, withdrawals) and disclosure
control, writes its audit log, and returns aggregates only. Results are checked against a
straight NumPy/pandas computation on the pooled allowed individuals.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from genomesh.analysis.protocol import Analysis, LocalData, LocalReply, RoundRequest, register
from genomesh.core.settings import DatasetPolicy, HubSettings, NodeSettings, TrustedIssuer
from genomesh.hub.signing import load_or_create_key, public_key_text
from genomesh.node.dialout import DialoutClient, node_key, pinned_hub_key
from genomesh.node.dialout import public_key_text as node_public_key_text
from genomesh.store import ingest_dataset, init_node, open_node
from genomesh.testing.cohorts import shared_cohort
from genomesh.testing.split import split_cohort
from tests.dac.conftest import LiveServer, free_port, serve
from tests.visiting.conftest import HMB, PURPOSE, AnalysisNode, pooled_dosages

pytestmark = pytest.mark.slow
NODES = ("nl-a", "nl-b", "nl-c")  # nl-c dials out
DIAL_OUT = "nl-c"


class SlowRounds(Analysis):
    """A test-only registered type: `rounds` rounds, each node sleeping `sleep` seconds and
    answering its allowed count; the hub records which rounds it aggregated."""

    name = "test-slow-rounds"

    def configure(self, params: Mapping[str, Any], nodes: Mapping[str, Sequence[str]]) -> dict:
        return {"rounds": int(params.get("rounds", 3)), "sleep": float(params.get("sleep", 0.3)),
                "nodes": list(nodes), "seen": []}  # fmt: skip

    def next_round(self, state: dict) -> dict[str, dict[str, Any]] | None:
        done = len(state["seen"])
        if done >= state["rounds"]:
            return None
        return {n: {"sleep": state["sleep"], "round": done} for n in state["nodes"]}

    def expected_rounds(self, state: dict) -> int:
        return state["rounds"]

    def aggregate(self, state: dict, replies: Mapping[str, LocalReply]) -> dict:
        state["seen"].append(sorted(r.values["round"] for r in replies.values()))
        return state

    def result(self, state: dict) -> dict[str, Any]:
        return {"rows": [{"round": i, "answers": len(s)} for i, s in enumerate(state["seen"])]}

    def local(self, data: LocalData, request: RoundRequest) -> LocalReply:
        time.sleep(float(request.params["sleep"]))
        n = sum(len(data.individuals(d)) for d in data.dataset_ids)
        return LocalReply(values={"round": request.round, "n": n})


register(SlowRounds())


@dataclass
class Federation:
    root: Path
    hub_settings: HubSettings
    hub_port: int
    hub: LiveServer
    hub_app: Any
    nodes: dict[str, AnalysisNode]
    node_apps: dict[str, Any]
    node_servers: dict[str, LiveServer]
    dial_stop: Any = None
    dial_thread: threading.Thread | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.hub_port}"

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60)

    def dataset_url(self, name: str) -> str:
        base = f"{self.url}/nodes/{name}" if name == DIAL_OUT else self.node_servers[name].url
        return f"{base}/datasets/{name}-ds"

    def bearer(self, *, datasets: Sequence[str] = NODES, purpose: bool = True) -> dict[str, str]:
        issuer = self.hub_app.state.broker.visa_issuer()
        visas = [issuer.researcher_status("rita"), issuer.accepted_terms("rita")]
        visas += [
            issuer.controlled_access_grant("rita", dataset_url=self.dataset_url(n))
            for n in datasets
        ]
        if purpose:
            visas.append(issuer.research_purpose("rita", purpose=PURPOSE))
        token = issuer.passport(
            "rita", visas, audience=self.hub_settings.hub_audience, lifetime=3600
        )
        return {"Authorization": f"Bearer {token}"}

    def start_hub(self) -> None:
        from genomesh.hub.app import create_app

        self.hub_app = create_app(self.hub_settings)
        self.hub = serve(self.hub_app, port=self.hub_port)

    def submit(self, kind: str, params: dict[str, Any], datasets: Sequence[str] = NODES,
               headers: dict[str, str] | None = None) -> httpx.Response:  # fmt: skip
        with self.http() as http:
            return http.post(
                "/analysis/tasks",
                json={
                    "type": kind,
                    "params": params,
                    "datasets": [f"{n}/{n}-ds" for n in datasets],
                },
                headers=headers or self.bearer(),
            )

    def wait(self, task_id: str, *, until: Any = None, timeout: float = 90) -> dict[str, Any]:
        until = until or (lambda s: s["state"] not in ("queued", "running"))
        deadline = time.monotonic() + timeout
        with self.http() as http:
            while True:
                status = http.get(f"/analysis/tasks/{task_id}", headers=self.bearer()).json()
                if until(status) or time.monotonic() > deadline:
                    return status
                time.sleep(0.1)

    def result(self, task_id: str, **params: str) -> httpx.Response:
        with self.http() as http:
            return http.get(
                f"/analysis/tasks/{task_id}/result", params=params, headers=self.bearer()
            )


def _dial_out(fed: Federation) -> None:
    node = fed.nodes[DIAL_OUT]
    client = DialoutClient(
        fed.node_apps[DIAL_OUT],
        hub_url=fed.url,
        name=DIAL_OUT,
        key=node_key(node.node_dir),
        hub_key=pinned_hub_key(node.node_dir, fed.url),
        poll_seconds=1.0,
    )
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    connected = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(client.run(stop=stop, on_connect=connected.set))
        loop.close()

    fed.dial_thread = threading.Thread(target=run, daemon=True)
    fed.dial_thread.start()
    fed.dial_stop = lambda: loop.call_soon_threadsafe(stop.set)
    assert connected.wait(15), "dial-out node never reached the hub"


def start_federation(
    root: Path,
    cohort: Any,
    *,
    policies: dict[str, DatasetPolicy] | None = None,
    **hub_options: Any,
) -> Federation:
    """A hub and the three nodes (two push, one dial-out), each with a third of `cohort`;
    `policies` (node name -> its dataset's policy) replace the default one there,
    `hub_options` override the hub's settings."""
    from genomesh.node.app import create_app as create_node

    parts = split_cohort(cohort, root / "parts", parts=3)
    hub_port = free_port()
    hub_url = f"http://127.0.0.1:{hub_port}"
    options: dict[str, Any] = dict(
        hub_dir=root / "hub", base_url=hub_url, issuer=hub_url, admin_token="admin-token-for-tests",
        catalogue_sync_seconds=0, node_timeout_seconds=10, dialout_poll_seconds=1.0,
        analysis_retry_seconds=0.2, analysis_retries=20, analysis_round_timeout_seconds=30,
    )  # fmt: skip
    hub_settings = HubSettings(**{**options, **hub_options})
    fed = Federation(root, hub_settings, hub_port, None, None, {}, {}, {})  # type: ignore[arg-type]
    fed.start_hub()
    hub_key = public_key_text(load_or_create_key(hub_settings.hub_dir))
    trusted = TrustedIssuer(iss=hub_url, jwks=fed.hub_app.state.broker.keys.jwks())
    admin = {"Authorization": "Bearer admin-token-for-tests"}
    for name, part in zip(NODES, parts, strict=True):
        node_dir = root / name
        init_node(node_dir, name=name, jurisdiction="NL")
        ingest_dataset(
            node_dir, f"{name}-ds", vcf=part.vcf, individuals=part.individuals,
            consent=part.consent, duo=[HMB], name=f"{name} cohort",
            attribution=f"Cite: the {name} cohort (2026)",
        )  # fmt: skip
        port = free_port()
        base = f"{hub_url}/nodes/{name}" if name == DIAL_OUT else f"http://127.0.0.1:{port}"
        if name == DIAL_OUT:  # the dial-out node knows the hub's key from its pin
            pinned_hub_key(node_dir, hub_url, hub_key=hub_key)
        settings = NodeSettings.load(
            node_dir, name=name, base_url=base, jurisdiction="NL", trusted_issuers=[trusted],
            default_policy=DatasetPolicy(min_count=3), anti_differencing_answers=0,
            dataset_policies={f"{name}-ds": p for p in [(policies or {}).get(name)] if p},
            query_budget=1_000_000, hub_key=None if name == DIAL_OUT else hub_key,
            analysis_chunk_variants=200,
        )  # fmt: skip
        fed.nodes[name] = AnalysisNode(node_dir, settings, (f"{name}-ds",))
        fed.node_apps[name] = create_node(settings)
        with fed.http() as http:
            if name == DIAL_OUT:
                key = node_public_key_text(node_key(node_dir))
                body = {"name": name, "base_url": "dial-out", "country": "NL", "public_key": key}
            else:
                fed.node_servers[name] = serve(fed.node_apps[name], port=port)
                body = {"name": name, "base_url": base, "country": "NL"}
            assert http.post("/nodes", json=body, headers=admin).status_code == 201
    _dial_out(fed)
    with fed.http() as http:
        assert http.post("/catalogue/sync", headers=admin).status_code == 200
        deadline = time.monotonic() + 15
        while len(http.get("/catalogue").json()["datasets"]) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    return fed


def stop_federation(fed: Federation) -> None:
    if fed.dial_stop:
        fed.dial_stop()
        assert fed.dial_thread is not None
        fed.dial_thread.join(timeout=10)
    for server in fed.node_servers.values():
        server.stop()
    fed.hub.stop()


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    fed = start_federation(tmp_path_factory.mktemp("visiting"), shared_cohort())
    try:
        yield fed
    finally:
        stop_federation(fed)


def pooled(fed: Federation) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """(variants, allowed people, dosages) pooled over the three nodes, straight from the stores."""
    frames, blocks, variants = [], [], None
    for name, node in fed.nodes.items():
        dataset = f"{name}-ds"
        state = fed.node_apps[name].state.node_state
        v, people, dosages = pooled_dosages(node, dataset)
        keep = (
            people["individual_id"].isin(node.allowed(dataset, state.withdrawn(dataset))).to_numpy()
        )
        frames.append(people[keep])
        blocks.append(dosages[:, keep])
        variants = v
    assert variants is not None
    return variants, pd.concat(frames), np.concatenate(blocks, axis=1)


def test_allele_frequency__network_result_equals_pooled_numpy(federation: Federation) -> None:
    submitted = federation.submit("allele-frequency", {"region": "22:20000000-20100000"})
    assert submitted.status_code == 201, submitted.text
    status = federation.wait(submitted.json()["id"])
    assert status["state"] == "done", status
    assert status["progress"]["fraction"] == 1.0
    assert status["progress"]["rounds_done"] == status["progress"]["rounds_expected"] == 1
    assert {n: s["status"] for n, s in status["nodes"].items()} == dict.fromkeys(NODES, "done")
    body = federation.result(status["id"]).json()
    rows = pd.DataFrame(body["rows"])
    variants, _people, dosages = pooled(federation)
    in_region = variants["pos"].between(20000000, 20100000).to_numpy()
    variants, dosages = variants[in_region], dosages[in_region]
    ids = (
        variants["chrom"]
        + "-"
        + variants["pos"].astype(str)
        + "-"
        + variants["ref"]
        + "-"
        + variants["alt"]
    )
    overall = rows[rows["group"] == "all"].set_index("variant_id").loc[ids]
    ac = np.where(dosages > 0, dosages, 0).sum(axis=1)
    an = 2 * (dosages >= 0).sum(axis=1)
    np.testing.assert_array_equal(overall["AN"].to_numpy(dtype=int), an)
    complete = overall["complete"].to_numpy(dtype=bool)
    assert complete.sum() > 10
    np.testing.assert_array_equal(overall["AC"].to_numpy()[complete].astype(int), ac[complete])
    np.testing.assert_allclose(
        overall["AF"].to_numpy()[complete].astype(float), (ac / an)[complete]
    )
    assert (overall["n_datasets"] == 3).all()
    assert body["notes"] and "suppressed" in body["notes"][0]
    # attribution: every dataset with its node and its citation from the catalogue
    attribution = {(a["node"], a["dataset"]): a for a in body["attribution"]}
    assert set(attribution) == {(n, f"{n}-ds") for n in NODES}
    assert attribution[("nl-b", "nl-b-ds")]["citation"] == "Cite: the nl-b cohort (2026)"
    # rows as TSV
    tsv = federation.result(status["id"], format="tsv")
    assert tsv.status_code == 200 and tsv.headers["content-type"].startswith(
        "text/tab-separated-values"
    )
    header, *lines = tsv.text.splitlines()
    assert header.split("\t")[:6] == ["chrom", "pos", "ref", "alt", "variant_id", "group"]
    assert len(lines) == len(rows)
    # every node's audit log holds the round, for this task
    for name, app in federation.node_apps.items():
        entries = [
            e.body for e in app.state.node_state.audit_entries()
            if e.body["what"]["surface"] == "analysis"
            and e.body["what"]["parameters"].get("task_id") == status["id"]
        ]  # fmt: skip
        assert len(entries) == 1, name
        assert entries[0]["what"]["operation"] == "allele-frequency.local"
        assert entries[0]["outcome"] == "answered"
        assert entries[0]["who"]["subject"] == "rita"


def test_cohort_summary__withdrawal_changes_the_next_result(federation: Federation) -> None:
    def totals() -> dict[str, Any]:
        submitted = federation.submit("cohort-summary", {})
        assert submitted.status_code == 201, submitted.text
        status = federation.wait(submitted.json()["id"])
        assert status["state"] == "done", status
        rows = federation.result(status["id"]).json()["rows"]
        return {r["scope"]: r["count"] for r in rows if r["category"] == "total"}

    before = totals()
    _, people, _ = pooled(federation)
    assert before["network"] == len(people)
    assert before["nl-a/nl-a-ds"] == len(federation.nodes["nl-a"].allowed("nl-a-ds"))
    leaving = sorted(federation.nodes["nl-a"].allowed("nl-a-ds"))[0]
    federation.node_apps["nl-a"].state.node_state.add_withdrawal(
        dataset_id="nl-a-ds", individual_id=leaving, reason="test"
    )
    after = totals()
    assert after["nl-a/nl-a-ds"] == before["nl-a/nl-a-ds"] - 1
    assert after["network"] == before["network"] - 1
    assert after["nl-b/nl-b-ds"] == before["nl-b/nl-b-ds"]


def test_submit__refusals_name_the_reason_and_queue_nothing(federation: Federation) -> None:
    with federation.http() as http:
        before = len(http.get("/analysis/tasks", headers=federation.bearer()).json())
    no_passport = federation.submit("cohort-summary", {}, headers={"X": "y"})
    assert no_passport.status_code == 401
    assert "needs a passport" in no_passport.json()["error"]["errorMessage"]
    no_visa = federation.submit(
        "cohort-summary", {}, headers=federation.bearer(datasets=("nl-a", "nl-b"))
    )
    assert no_visa.status_code == 403
    assert (
        "no ControlledAccessGrants visa for dataset nl-c/nl-c-ds"
        in no_visa.json()["error"]["errorMessage"]
    )
    no_purpose = federation.submit("cohort-summary", {}, headers=federation.bearer(purpose=False))
    assert no_purpose.status_code == 403 and "research purpose" in no_purpose.text
    unknown = federation.submit("run-my-script", {})
    assert unknown.status_code == 400
    assert "unknown analysis type 'run-my-script'" in unknown.json()["error"]["errorMessage"]
    bad = federation.submit("allele-frequency", {"region": "22"})
    assert bad.status_code == 400 and "CHROM:START-END" in bad.text
    missing = federation.submit("cohort-summary", {}, datasets=("nl-z",))
    assert missing.status_code == 404
    with federation.http() as http:
        assert len(http.get("/analysis/tasks", headers=federation.bearer()).json()) == before
        other = http.get("/analysis/tasks/doesnotexist", headers=federation.bearer())
        assert other.status_code == 404


def test_cancel__stops_a_running_task(federation: Federation) -> None:
    submitted = federation.submit("test-slow-rounds", {"rounds": 50, "sleep": 0.2})
    task_id = submitted.json()["id"]
    federation.wait(task_id, until=lambda s: s["progress"]["rounds_done"] >= 1)
    with federation.http() as http:
        cancelled = http.post(f"/analysis/tasks/{task_id}/cancel", headers=federation.bearer())
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["state"] == "cancelled"
        again = http.post(f"/analysis/tasks/{task_id}/cancel", headers=federation.bearer())
        assert again.status_code == 409
    rounds = federation.wait(task_id)["progress"]["rounds_done"]
    assert rounds < 50
    assert federation.result(task_id).status_code == 409
    time.sleep(1.0)  # nothing more is asked of the nodes after the cancel
    assert federation.wait(task_id)["progress"]["rounds_done"] == rounds


def test_status__a_long_poll_answers_when_a_round_is_done(federation: Federation) -> None:
    submitted = federation.submit("test-slow-rounds", {"rounds": 3, "sleep": 0.3})
    task_id, status = submitted.json()["id"], submitted.json()
    seen = []
    with federation.http() as http:
        while status["state"] in ("queued", "running"):
            status = http.get(
                f"/analysis/tasks/{task_id}", params={"wait": 60}, headers=federation.bearer()
            ).json()
            seen.append((status["state"], status["progress"]["rounds_done"]))
        too_long = http.get(
            f"/analysis/tasks/{task_id}", params={"wait": 61}, headers=federation.bearer()
        )
    assert status["state"] == "done", status
    # every answer brought news (a round done, or the end), none the same state again
    assert len(seen) == len(set(seen)) <= 4, seen
    assert seen[-1] == ("done", 3)
    assert too_long.status_code == 400 and "wait" in too_long.text


def test_result__waits_for_the_running_task(federation: Federation) -> None:
    submitted = federation.submit("test-slow-rounds", {"rounds": 2, "sleep": 0.3})
    answer = federation.result(submitted.json()["id"], wait="60")  # one request, no polling
    assert answer.status_code == 200, answer.text
    assert [r["answers"] for r in answer.json()["rows"]] == [3, 3]
    assert answer.json()["stale"] is None


def test_hub_restart__resumes_the_running_task(federation: Federation) -> None:
    submitted = federation.submit("test-slow-rounds", {"rounds": 6, "sleep": 0.3})
    task_id = submitted.json()["id"]
    running = federation.wait(task_id, until=lambda s: s["progress"]["rounds_done"] >= 2)
    assert running["progress"]["rounds_expected"] == 6
    federation.hub.stop()
    federation.start_hub()  # same database, keys and port
    status = federation.wait(task_id)
    assert status["state"] == "done", status
    rows = federation.result(task_id).json()["rows"]
    assert [r["round"] for r in rows] == list(range(6))
    assert all(r["answers"] == 3 for r in rows)
    # the nodes were asked every round, and the rounds done before the restart were not redone
    for app in federation.node_apps.values():
        asked = [
            e.body["what"]["parameters"]["round"] for e in app.state.node_state.audit_entries()
            if e.body["what"]["parameters"].get("task_id") == task_id
        ]  # fmt: skip
        assert set(asked) == set(range(6))
        assert asked.count(0) == 1 and asked.count(1) == 1


def test_node_restart__the_round_is_retried(federation: Federation) -> None:
    submitted = federation.submit("test-slow-rounds", {"rounds": 4, "sleep": 0.3})
    task_id = submitted.json()["id"]
    federation.wait(task_id, until=lambda s: s["progress"]["rounds_done"] >= 1)
    server = federation.node_servers["nl-a"]
    port = int(server.url.rsplit(":", 1)[1])
    server.stop()
    status = federation.wait(
        task_id,
        until=lambda s: (
            s["nodes"]["nl-a"]["status"].startswith("retrying") or s["state"] != "running"
        ),
    )
    assert status["state"] == "running", status
    federation.node_servers["nl-a"] = serve(federation.node_apps["nl-a"], port=port)
    status = federation.wait(task_id)
    assert status["state"] == "done", status


def test_access_report__counts_the_analyses_each_dataset_served(federation: Federation) -> None:
    from genomesh.participants.rights import access_report

    own = federation.submit("cohort-summary", {})  # at least one, whatever ran before
    assert federation.wait(own.json()["id"])["state"] == "done"
    with federation.http() as http:
        tasks = http.get("/analysis/tasks", headers=federation.bearer()).json()
    served = [t for t in tasks if t["progress"]["rounds_done"] >= 1 or t["state"] == "done"]
    assert len(served) >= 1
    gate = federation.node_apps["nl-b"].state.gate
    allowed = federation.nodes["nl-b"].allowed("nl-b-ds")
    everyone = set(open_node(federation.nodes["nl-b"].node_dir).dataset("nl-b-ds").sample_ids)
    inside, outside = sorted(allowed)[0], sorted(everyone - allowed)[0]
    [mine] = access_report(gate, inside)["datasets"]
    assert mine["analyses"] == {"served_by_dataset": len(served), "including_you": len(served)}
    [theirs] = access_report(gate, outside)["datasets"]  # consent does not fit the purpose
    assert theirs["analyses"] == {"served_by_dataset": len(served), "including_you": 0}


def test_cli__submit_wait_status_result_list_cancel(
    federation: Federation,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from genomesh.cli.main import main

    token = federation.bearer()["Authorization"].removeprefix("Bearer ")
    monkeypatch.setenv("GENOMESH_HUB_URL", federation.url)
    monkeypatch.setenv("GENOMESH_PASSPORT", token)
    monkeypatch.setenv("COLUMNS", "200")
    datasets = [arg for n in NODES for arg in ("--dataset", f"{n}/{n}-ds")]
    code = main(["analysis", "submit", "allele-frequency", "--region", "22:20000000-20050000",
                 *datasets, "--wait", "--json"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    task = json.loads(out)
    assert task["state"] == "done"
    assert main(["analysis", "status", task["id"]]) == 0
    out = capsys.readouterr().out
    assert "done" in out and "nl-c" in out
    assert main(["analysis", "status", task["id"], "--wait"]) == 0  # the bar, then the table
    out = capsys.readouterr().out
    assert "1/1" in out and "done" in out
    target = tmp_path / "af.tsv"
    assert main(["analysis", "result", task["id"], "--tsv", str(target)]) == 0
    tsv = pd.read_csv(target, sep="\t")
    assert {"AC", "AN", "AF", "group", "complete"} <= set(tsv.columns)
    assert main(["analysis", "result", task["id"]]) == 0
    out = capsys.readouterr().out
    assert "Cite: the nl-a cohort (2026)" in out
    assert main(["analysis", "list"]) == 0
    assert task["id"] in capsys.readouterr().out
    assert main(["analysis", "cancel", task["id"]]) == 6  # done already: a conflict
    assert "already done" in capsys.readouterr().err
    assert main(["analysis", "submit", "any", "shell", *datasets]) == 2
    assert "unknown analysis type 'shell'" in capsys.readouterr().err
    assert main(["analysis", "submit", "cohort-summary", "--age-bands", "x", *datasets]) == 2
    assert main(["analysis", "submit", "cohort-summary", "-p", "bogus", *datasets]) == 2


def test_guide__every_analysis_example_runs(
    federation: Federation,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The `$ genomesh analysis ...` lines of docs/researcher-guide.md, with the demo's
    dataset names and region mapped to this federation's."""
    import re
    import shlex

    from genomesh.cli.main import main

    guide = Path(__file__).resolve().parents[2] / "docs" / "researcher-guide.md"
    commands = re.findall(r"^\$ (genomesh analysis .+)$", guide.read_text(), flags=re.MULTILINE)
    assert len(commands) >= 6
    names = {
        "nl-umc/nl-umc-diabetes": "nl-a/nl-a-ds",
        "gb-biobank/gb-biobank-chr22": "nl-b/nl-b-ds",
        "au-rd/au-rd-epilepsy": "nl-c/nl-c-ds",
        "nl-umc/nl-umc-renu": "nl-a/nl-a-ds",
        "gb-biobank/gb-biobank-renu": "nl-b/nl-b-ds",
        "au-rd/au-rd-renu": "nl-c/nl-c-ds",
        "22:16050000-16150000": "22:20000000-20100000",
    }
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GENOMESH_HUB_URL", federation.url)
    token = federation.bearer()["Authorization"].removeprefix("Bearer ")
    (tmp_path / "passport.jwt").write_text(token)
    monkeypatch.setenv("GENOMESH_PASSPORT", str(tmp_path / "passport.jwt"))
    last_id = None
    for command in commands:
        for old, new in names.items():
            command = command.replace(old, new)
        if last_id is not None:
            command = command.replace(" ID", f" {last_id}")
        code = main(shlex.split(command)[1:])
        captured = capsys.readouterr()
        assert code == 0, f"{command}\n{captured.out}\n{captured.err}"
        assert "error" not in captured.err.lower(), command
        found = re.search(r"as analysis (\w+)", captured.out)
        if found:
            last_id = found.group(1)
    assert (tmp_path / "frequencies.tsv").read_text().startswith("chrom\tpos\t")


def test_node_refusal__ends_the_task_as_refused_with_the_nodes_reason(
    federation: Federation,
) -> None:
    from genomesh.core.settings import TierCaps

    settings = federation.node_apps["nl-b"].state.settings
    settings.dataset_policies["nl-b-ds"] = DatasetPolicy(
        min_count=3, tiers=TierCaps(controlled="boolean")
    )
    try:
        submitted = federation.submit("cohort-summary", {})
        assert submitted.status_code == 201, submitted.text
        status = federation.wait(submitted.json()["id"])
    finally:
        del settings.dataset_policies["nl-b-ds"]
    assert status["state"] == "refused", status
    assert "node nl-b refused" in status["reason"] and "only yes/no answers" in status["reason"]
    assert status["nodes"]["nl-b"]["status"] == "refused"
    assert federation.result(status["id"]).status_code == 409
    # the refusal is in nl-b's audit log, and nothing was disclosed
    [entry] = [
        e.body for e in federation.node_apps["nl-b"].state.node_state.audit_entries()
        if e.body["what"]["parameters"].get("task_id") == status["id"]
    ]  # fmt: skip
    assert entry["outcome"] == "error" and "only yes/no answers" in entry["error"]


def test_rounds__forged_misaddressed_and_replayed_rounds_are_refused(
    federation: Federation,
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from genomesh.hub.signing import sign_message

    node = federation.node_servers["nl-a"]
    issuer = federation.hub_app.state.broker.visa_issuer()
    visas = [
        issuer.controlled_access_grant("rita", dataset_url=federation.dataset_url("nl-a")),
        issuer.research_purpose("rita", purpose=PURPOSE),
    ]
    passport = issuer.passport("rita", visas, audience=node.url, lifetime=600)
    headers = {"Authorization": f"Bearer {passport}"}
    round_ = {"analysis": "cohort-summary", "task_id": "t-direct", "round": 0,
              "datasets": ["nl-a-ds"], "params": {}}  # fmt: skip
    payload = {"type": "analysis-round", "round": round_}
    hub_key = load_or_create_key(federation.hub_settings.hub_dir)
    with httpx.Client(base_url=node.url, timeout=30) as http:
        forged = sign_message(payload, Ed25519PrivateKey.generate(), iss="hub", aud="nl-a")
        answer = http.post("/analysis/rounds", json=forged, headers=headers)
        assert answer.status_code == 401 and "bad signature" in answer.text
        elsewhere = sign_message(payload, hub_key, iss="hub", aud="nl-b")
        answer = http.post("/analysis/rounds", json=elsewhere, headers=headers)
        assert answer.status_code == 401 and "addressed to 'nl-b'" in answer.text
        good = sign_message(payload, hub_key, iss="hub", aud="nl-a")
        first = http.post("/analysis/rounds", json=good, headers=headers)
        assert first.status_code == 200, first.text
        assert first.json()["reply"]["values"]["datasets"]["nl-a-ds"]["n"] > 0
        replay = http.post("/analysis/rounds", json=good, headers=headers)
        assert replay.status_code == 401 and "replayed" in replay.text
        # a genuine round without the researcher's passport: the guard refuses it
        fresh = sign_message(payload, hub_key, iss="hub", aud="nl-a")
        anonymous = http.post("/analysis/rounds", json=fresh)
        assert anonymous.status_code == 403 and "controlled tier" in anonymous.text


def test_openapi__describes_the_analysis_endpoints(federation: Federation) -> None:
    with federation.http() as http:
        hub_paths = http.get("/openapi.json").json()["paths"]
    for path in ("/analysis/tasks", "/analysis/tasks/{task_id}", "/analysis/tasks/{task_id}/result",
                 "/analysis/tasks/{task_id}/cancel", "/analysis/types"):  # fmt: skip
        assert path in hub_paths, path
    assert "AnalysisSubmission" in str(hub_paths["/analysis/tasks"]["post"])
    # the Beacon entry type /analyses is still the network's (not the task API)
    assert "network" in hub_paths["/analyses"]["get"]["summary"]
    with federation.http() as http:
        beacon = http.get("/analyses", params={"requestedGranularity": "count"})
    assert beacon.status_code == 200 and "network" in beacon.json()["info"]
    with httpx.Client(base_url=federation.node_servers["nl-a"].url) as http:
        node_paths = http.get("/openapi.json").json()["paths"]
    assert "/analysis/rounds" in node_paths


def test_cli__served_counts_the_analyses_per_dataset_at_a_node(
    federation: Federation, capsys: pytest.CaptureFixture[str]
) -> None:
    from genomesh.audit.usage import usage_of
    from genomesh.cli.main import main

    own = federation.submit("cohort-summary", {})
    assert federation.wait(own.json()["id"])["state"] == "done"
    node = federation.nodes["nl-b"]
    expected = usage_of(federation.node_apps["nl-b"].state.node_state).per_dataset()["nl-b-ds"]
    assert expected >= 1
    assert main(["analysis", "served", str(node.node_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"nl-b-ds": expected}


def test_revoked_passport__ends_the_running_task(federation: Federation) -> None:
    from genomesh.testing.passports import decode_part

    headers = federation.bearer()
    submitted = federation.submit("test-slow-rounds", {"rounds": 30, "sleep": 0.2}, headers=headers)
    task_id = submitted.json()["id"]
    federation.wait(task_id, until=lambda s: s["progress"]["rounds_done"] >= 1)
    jti = decode_part(headers["Authorization"].removeprefix("Bearer ").split(".")[1])["jti"]
    federation.hub_app.state.broker.revocations.revoke(jti, reason="test")
    status = federation.wait(task_id)
    assert status["state"] == "refused", status
    assert status["reason"] == "the researcher's passport was revoked"
    assert status["progress"]["rounds_done"] < 30
