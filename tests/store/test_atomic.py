"""Atomic ingest: kill -9 at several moments leaves the previous version intact and readable."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from genomesh.store import NodeStore, ingest_dataset, open_node
from tests.store.conftest import rec, write_vcf

# The child ingests a bigger VCF in small batches and reports each step on stdout; with
# PAUSE_AT set it also stops (sleeps) at that step so the parent can kill it exactly there.
CHILD = textwrap.dedent(
    """
    import os, sys, time
    from genomesh.store import ingest_dataset
    pause_at = os.environ.get("PAUSE_AT", "")
    def say(what):
        print(what, flush=True)
        if what == pause_at:
            time.sleep(60)
    real_rename, real_replace = os.rename, os.replace
    def rename(a, b):
        say("before-rename")
        real_rename(a, b)
        say("after-rename")
    def replace(a, b):
        if str(b).endswith("CURRENT"):
            say("before-switch")
        real_replace(a, b)
    os.rename, os.replace = rename, replace
    batches = [0]
    def progress(done, total):
        batches[0] += 1
        say(f"batch-{batches[0]}")
    say("start")
    ingest_dataset(sys.argv[1], "ds", vcf=sys.argv[2], progress=progress, batch_records=100)
    say("done")
    """
)


def _tree(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


@pytest.fixture()
def first_version(node: NodeStore, tmp_path: Path) -> tuple[NodeStore, str, dict[str, str]]:
    vcf = write_vcf(tmp_path / "v1.vcf", [rec(1, 100, "A", "G", "0/1", "1/1", "0/0")])
    summary = ingest_dataset(node.path, "ds", vcf=vcf)
    return node, summary.version, _tree(summary.path)


@pytest.mark.slow
@pytest.mark.parametrize(
    "moment", ["start", "batch-1", "batch-6", "before-rename", "after-rename", "before-switch"]
)
def test_ingest__kill_9_leaves_previous_version_intact(first_version, reference: Path, moment: str):
    node, version, files = first_version
    big = reference / "1kg-phase3-subset" / "1KG_phase3_subset_chr22.vcf.gz"
    env = {**os.environ, "PAUSE_AT": moment}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(node.path), str(big)],
        stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert child.stdout is not None
    seen = []
    for line in child.stdout:
        seen.append(line.strip())
        if line.strip() == moment:
            child.send_signal(signal.SIGKILL)
            break
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL, seen
    assert moment in seen
    # the previous version is still the live one, byte for byte, and answers queries
    reopened = open_node(node.path)
    ds = reopened.dataset("ds")
    assert ds.info.version == version
    assert _tree(ds.path) == files
    assert ds.connect().execute("SELECT count(*) FROM variants").fetchone()[0] == 1
    assert ds.carriers(0) == [("S1", 1), ("S2", 2)]
    # and the next ingest succeeds and clears what the killed one left behind
    summary = ingest_dataset(node.path, "ds", vcf=big)
    assert open_node(node.path).dataset("ds").info.version == summary.version
    staging = [
        p for p in (node.path / "datasets" / "ds" / "versions").iterdir() if p.name.startswith(".")
    ]
    assert staging == []


def test_ingest__reingest_replaces_and_second_dataset_coexists(first_version, tmp_path: Path):
    node, version, _ = first_version
    v2 = write_vcf(
        tmp_path / "v2.vcf",
        [rec(1, 100, "A", "G", "0/1", "1/1", "0/0"), rec(2, 5, "C", "T", "0/0", "0/0", "0/1")],
    )
    ingest_dataset(node.path, "other", vcf=v2)
    old = node.dataset("ds")
    replaced = ingest_dataset(node.path, "ds", vcf=v2)
    assert replaced.version != version
    assert node.dataset_ids() == ["ds", "other"]
    assert node.dataset("ds").info.n_variants == 2
    assert node.dataset("other").info.n_variants == 2
    # a reader that opened the old version keeps working after the switch
    assert old.info.version == version and old.carriers(0) == [("S1", 1), ("S2", 2)]
    assert replaced.n_datasets == 2
