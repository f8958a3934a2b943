"""Secure GWAS across node worker processes and a node restart between rounds.

Two real worker processes stand for `node serve --workers 2`: every round of a node runs in
the other process than its previous round, and one worker is restarted mid-task. The node's
keys and round records live in its folder (`secure_keys`), so the result is exact; without
the folder, each process has its own keys and the task fails cleanly.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from genomesh.analysis.gwas import GWAS, nodesets
from genomesh.analysis.gwas.analysis import GwasAnalysis
from genomesh.analysis.gwas.secure_keys import RECORDS_FILE, SECRET_FILE
from genomesh.core.errors import ConflictError
from genomesh.testing.federation import InMemoryLocalData, run_rounds
from genomesh.testing.gwas import design_matrix, naive_linear, pooled

SECURE = {"trait": "quantitative", "covariates": ["sex", "age"], "min_mac": 0, "mode": "secure"}


class _TwoWorkers(GwasAnalysis):
    """The GWAS whose node side runs in worker process (round mod 2); `restart_after`
    replaces worker 0 with a fresh process after that round (a node restart)."""

    def __init__(self, restart_after: int | None = None) -> None:
        self.context = multiprocessing.get_context("spawn")
        self.workers = [self._new(), self._new()]
        self.restart_after = restart_after
        self.pids: set[int] = set()

    def _new(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=1, mp_context=self.context)

    def local(self, data, request):  # type: ignore[no-untyped-def]
        if self.restart_after is not None and request.round == self.restart_after + 1:
            self.workers[0].shutdown()
            self.workers[0], self.restart_after = self._new(), None
        worker = self.workers[request.round % 2]
        self.pids.add(worker.submit(_pid).result())
        return worker.submit(GWAS.local, data, request).result()

    def close(self) -> None:
        for worker in self.workers:
            worker.shutdown()


def _pid() -> int:
    import os

    return os.getpid()


@pytest.fixture(scope="module")
def pool() -> Iterator[_TwoWorkers]:
    spy = _TwoWorkers()  # started once: a process start costs seconds
    yield spy
    spy.close()


@pytest.fixture
def workers(pool: _TwoWorkers) -> Iterator[_TwoWorkers]:
    nodesets.set_ledger(nodesets.InMemoryNodeSetLedger())
    pool.pids.clear()
    yield pool
    nodesets.set_ledger(nodesets.InMemoryNodeSetLedger())


V = 300  # the first variants only: each round's data travels to a worker process


def _small(nodes: dict[str, InMemoryLocalData], root: Path | None) -> dict[str, InMemoryLocalData]:
    """The nodes' first V variants; each node with its own folder (a real node's
    `settings.node_dir`) unless `root` is None."""
    out = {}
    for name, data in nodes.items():
        parts = {ds: (people, variants.iloc[:V], dosages[:V])
                 for ds, (people, variants, dosages) in data._data.items()}  # fmt: skip
        out[name] = InMemoryLocalData(parts, min_count=5)
        if root is not None:
            out[name].settings = SimpleNamespace(node_dir=root / name)  # type: ignore[attr-defined]
    return out


def test_secure__two_worker_processes_and_a_restart__exact(nodes, workers, tmp_path) -> None:
    disk = _small(nodes, tmp_path)
    workers.restart_after = 2  # worker 0 restarts between the flags and the stats rounds
    result, _ = run_rounds(workers, SECURE, disk, task_id="two-workers")
    assert len(workers.pids) == 3  # two workers, one of them restarted
    people, G, sites = pooled(disk)
    ref = naive_linear(G, design_matrix(people, sites, ["sex", "age"], None),
                       people.quantitative.to_numpy(float))  # fmt: skip
    rows = pd.DataFrame(result["table"])
    ok = np.isfinite(ref["beta"])
    scale = np.maximum(np.abs(ref["beta"][ok]), ref["se"][ok])
    assert (np.abs(rows.BETA.to_numpy()[ok] - ref["beta"][ok]) <= 1e-6 * scale).all()
    np.testing.assert_allclose(rows.SE.to_numpy()[ok], ref["se"][ok], rtol=1e-6)
    # nothing secret per task is stored: the node secret file (0600) and non-secret records
    for name in nodes:
        secret = tmp_path / name / SECRET_FILE
        assert secret.stat().st_mode & 0o777 == 0o600 and len(secret.read_bytes()) == 32
        assert (tmp_path / name / RECORDS_FILE).is_file()


def test_secure__keys_in_process_memory_only__fail_cleanly_across_workers(nodes, workers) -> None:
    """The control: without the node folder each worker makes its own keys."""
    with pytest.raises(ConflictError, match="key is not this node's"):
        run_rounds(workers, SECURE, _small(nodes, None), task_id="memory-only")
