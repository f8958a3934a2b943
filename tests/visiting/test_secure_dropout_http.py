"""A node dropping out of a secure GWAS over real HTTP: a hub and three nodes on loopback;
the hub's coordinator gives the analysis the survivors' replies, and the result equals the
pooled GWAS of the survivors' datasets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    analysis = protocol.register(DropBeforeStats())
    fed = start_federation(
        tmp_path_factory.mktemp("secure-drop"), shared_cohort(**COHORT),
        analysis_retries=1, analysis_retry_seconds=0.1, analysis_round_timeout_seconds=10,
    )  # fmt: skip
    analysis.fed = fed
    try:
        yield fed
    finally:
        stop_federation(fed)
        protocol._REGISTRY.pop(DropBeforeStats.name, None)


def _run(fed: Federation, kind: str, params: dict, datasets: Any) -> dict[str, Any]:
    submitted = fed.submit(kind, params, datasets=datasets)
    assert submitted.status_code == 201, submitted.text
    status = fed.wait(submitted.json()["id"], timeout=180)
    assert status["state"] == "done", status
    return {**fed.result(status["id"]).json(), "_status": status}


def test_node_dying_mid_task__survivors_exact_result_over_http(fed: Federation) -> None:
    params = {"trait": BMI, "covariates": ["sex", "age"]}
    secure = _run(fed, DropBeforeStats.name, {**params, "mode": "secure"},
                  ("nl-a", "nl-b", "nl-c"))  # fmt: skip
    assert secure["dropped_nodes"] == [GONE] and secure["nodes"] == ["nl-a", "nl-c"]
    assert {a["node"] for a in secure["attribution"]} == {"nl-a", "nl-c"}
    assert secure["_status"]["nodes"][GONE]["status"] == "failed"
    pooled = _run(fed, "gwas", {**params, "mode": "pooled"}, ("nl-a", "nl-c"))
    a, b = pd.DataFrame(pooled["rows"]), pd.DataFrame(secure["rows"])
    assert (a.ID == b.ID).all() and (a.DATASETS == b.DATASETS).all()
    ok = a.BETA.notna()
    assert ok.sum() >= 100 and (b.BETA.notna() == ok).all()
    # to 1e-6 of max(|beta|, SE), as test_secure.py: fixed point resolves sums absolutely
    scale = np.maximum(a.BETA[ok].abs(), a.SE[ok])
    assert ((b.BETA[ok] - a.BETA[ok]).abs() <= 1e-6 * scale).all()
    np.testing.assert_allclose(b.SE[ok], a.SE[ok], rtol=1e-6)
    np.testing.assert_array_equal(b.OBS_CT, a.OBS_CT)
