"""Secure GWAS over real HTTP (a hub and three nodes on loopback): a node dropping out
mid-task leaves the survivors' exact result; a node restarted between rounds, as
`genomesh node serve --workers 2`, finishes the task exactly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from genomesh.analysis import protocol
from genomesh.analysis.gwas.analysis import GwasAnalysis
from genomesh.testing.cohorts import shared_cohort
from tests.visiting.test_federation import Federation, start_federation, stop_federation
from tests.visiting.test_gwas_federation import BMI, COHORT

pytestmark = pytest.mark.slow
GONE = "nl-b"  # a push node: its server stops before the stats round


class DropBeforeStats(GwasAnalysis):
    """The GWAS, registered under a test name, that stops one node's server just before the
    hub asks the stats round (a node that dies mid-task)."""

    name = "gwas-drop-test"

    def __init__(self) -> None:
        self.fed: Federation | None = None
        self.stopped = False

    def next_round(self, state: dict) -> Any:
        if state["phase"] == "stats" and self.fed is not None and not self.stopped:
            self.fed.node_servers[GONE].stop()
            self.stopped = True
        return super().next_round(state)


SERVED = "nl-a"  # served by `genomesh node serve --workers 2` in the restart test


class RestartBeforeStats(GwasAnalysis):
    """The GWAS, in the hub's registry for one test (under its own name: the node process
    knows only the real one), restarting node nl-a's server process (two workers) just
    before the hub asks the stats round."""

    name = "gwas"

    def __init__(self) -> None:
        self.fed: Federation | None = None
        self.process: subprocess.Popen | None = None
        self.restarts = 0

    def serve(self) -> None:
        """(Re)start nl-a as `genomesh node serve --workers 2` on its port, with the
        settings the federation gave it (through GENOMESH_* variables)."""
        assert self.fed is not None
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
        else:
            self.fed.node_servers[SERVED].stop()  # the in-process server gives way
        settings = self.fed.node_apps[SERVED].state.settings
        env = dict(os.environ)
        for key, value in settings.model_dump(mode="json").items():
            if key in settings.model_fields_set and key != "node_dir":
                env[f"GENOMESH_{key.upper()}"] = (
                    value if isinstance(value, str) else json.dumps(value)
                )
        url = self.fed.node_servers[SERVED].url
        port = url.rsplit(":", 1)[1]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "genomesh.cli.main", "node", "serve", str(settings.node_dir),
             "--port", port, "--workers", "2"],
            env=env, stdout=self.log(), stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/info", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError("genomesh node serve did not start")

    def log(self) -> Any:
        assert self.fed is not None
        return (self.fed.root / f"{SERVED}-serve.log").open("ab")

    def next_round(self, state: dict) -> Any:
        if state["phase"] == "stats" and self.restarts == 0:
            self.restarts += 1
            self.serve()
        return super().next_round(state)


RESTART = RestartBeforeStats()


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    analysis = protocol.register(DropBeforeStats())
    restart = RESTART
    fed = start_federation(
        tmp_path_factory.mktemp("secure-drop"), shared_cohort(**COHORT),
        analysis_retries=1, analysis_retry_seconds=0.1, analysis_round_timeout_seconds=10,
    )  # fmt: skip
    analysis.fed = restart.fed = fed
    try:
        yield fed
    finally:
        if restart.process is not None:
            restart.process.terminate()
            restart.process.wait(timeout=30)
        stop_federation(fed)
        protocol._REGISTRY.pop(DropBeforeStats.name, None)


def _run(fed: Federation, kind: str, params: dict, datasets: Any) -> dict[str, Any]:
    submitted = fed.submit(kind, params, datasets=datasets)
    assert submitted.status_code == 201, submitted.text
    status = fed.wait(submitted.json()["id"], timeout=180)
    assert status["state"] == "done", (status["reason"], status["nodes"])
    return {**fed.result(status["id"]).json(), "_status": status}


def test_node_dying_mid_task__survivors_exact_result_over_http(fed: Federation) -> None:
    params = {"trait": BMI, "covariates": ["sex", "age"]}
    secure = _run(fed, DropBeforeStats.name, {**params, "mode": "secure"},
                  ("nl-a", "nl-b", "nl-c"))  # fmt: skip
    assert secure["dropped_nodes"] == [GONE] and secure["nodes"] == ["nl-a", "nl-c"]
    assert {a["node"] for a in secure["attribution"]} == {"nl-a", "nl-c"}
    assert secure["_status"]["nodes"][GONE]["status"] == "failed"
    pooled = _run(fed, "gwas", {**params, "mode": "pooled"}, ("nl-a", "nl-c"))
    a, b = pd.DataFrame(pooled["table"]), pd.DataFrame(secure["table"])
    assert (a.ID == b.ID).all() and (a.DATASETS == b.DATASETS).all()
    ok = a.BETA.notna()
    assert ok.sum() >= 100 and (b.BETA.notna() == ok).all()
    # to 1e-6 of max(|beta|, SE), as test_secure.py: fixed point resolves sums absolutely
    scale = np.maximum(a.BETA[ok].abs(), a.SE[ok])
    assert ((b.BETA[ok] - a.BETA[ok]).abs() <= 1e-6 * scale).all()
    np.testing.assert_allclose(b.SE[ok], a.SE[ok], rtol=1e-6)
    np.testing.assert_array_equal(b.OBS_CT, a.OBS_CT)


def test_two_worker_node_restarted_between_rounds__exact(fed: Federation) -> None:
    """nl-a answers the first four rounds in process, then (a restart) as a new `genomesh
    node serve --workers 2` process: no memory of the task but its node folder."""
    restart = RESTART
    params = {"trait": BMI, "covariates": ["sex"]}  # another definition than the test above
    real = protocol.get_analysis("gwas")
    protocol.register(restart)
    try:
        secure = _run(fed, "gwas", {**params, "mode": "secure"}, (SERVED, "nl-c"))
    finally:
        protocol.register(real)
    assert restart.restarts == 1 and "dropped_nodes" not in secure
    assert secure["_status"]["progress"]["rounds_done"] == 6
    pooled = _run(fed, "gwas", {**params, "mode": "pooled"}, (SERVED, "nl-c"))
    a, b = pd.DataFrame(pooled["table"]), pd.DataFrame(secure["table"])
    ok = a.BETA.notna()
    assert ok.sum() >= 100 and (b.BETA.notna() == ok).all()
    scale = np.maximum(a.BETA[ok].abs(), a.SE[ok])
    assert ((b.BETA[ok] - a.BETA[ok]).abs() <= 1e-6 * scale).all()
    np.testing.assert_allclose(b.SE[ok], a.SE[ok], rtol=1e-6)
