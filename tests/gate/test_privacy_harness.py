"""The privacy attack harness (benchmarks/privacy/run.py) itself, on a tiny cohort.

It runs the harness as a user would (its command line), against real `genomesh node serve`
processes on loopback: the Shringarpure-Bustamante attack must have power on the
unprotected node (else the harness measures nothing), and must lose it when the node hides
rare alleles (`boolean_min_count`), so a protection shows up in its numbers. No timings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from genomesh.testing.cohorts import requires_msprime

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "benchmarks" / "privacy" / "run.py"


@requires_msprime()
@pytest.mark.slow
def test_privacy_harness__power_on_unprotected_node_and_none_when_rare_alleles_hidden(
    tmp_path: Path,
) -> None:
    out = tmp_path / "privacy.md"
    cmd = [
        sys.executable, str(HARNESS), "--quick",
        "--members", "40", "--panel", "60", "--outsiders", "12", "--member-victims", "12",
        "--length", "1e6", "--queries", "40", "--utility-queries", "140", "--callers", "4",
        "--threads", "2", "--skip", "bcde", "--work", str(tmp_path / "work"), "--out", str(out),
        "--protected-env", "GENOMESH_DEFAULT_POLICY__BOOLEAN_MIN_COUNT=3",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    results = json.loads(out.with_suffix(".json").read_text())["results"]
    base, hidden = results["baseline"]["scenarios"]["a"], results["protected"]["scenarios"]["a"]
    assert base["power"] >= 0.9
    assert base["fpr"] <= 0.1
    assert base["answered"] == base["asked"]  # nothing refused without a budget
    assert hidden["power"] <= 0.5  # rare alleles answered "no" for members too
    # utility: the unprotected node answers everything truly; hiding costs the rare bins
    utility = results["baseline"]["utility"]
    assert all(row["true"] == 1.0 for row in utility.values())
    assert results["protected"]["utility"]["1"]["true"] == 0.0
    text = out.read_text()
    assert "power at 5% FPR, baseline" in text and "(a) one identity" in text
