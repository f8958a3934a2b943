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

import numpy as np
import pytest
from scipy import stats

from genomesh.testing.cohorts import requires_msprime

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "benchmarks" / "privacy" / "run.py"
sys.path.insert(0, str(HARNESS.parent))

import attacks  # noqa: E402  (benchmarks/privacy/attacks.py)


def test_lrt_terms__equal_the_binomial_likelihoods() -> None:
    """S&B's per-answer log-likelihood ratios from scipy's binomial pmf (independent form)."""
    f = np.array([1e-4, 0.003, 0.02, 0.2])
    n, delta = 400, 1e-6
    yes, no = attacks.lrt_terms(f, n, delta=delta)
    d_n = stats.binom.pmf(0, 2 * n, f)  # no copy among the beacon's 2N haplotypes
    d_n1 = stats.binom.pmf(0, 2 * n - 2, f)  # ... among the other N - 1 people's
    np.testing.assert_allclose(yes, np.log((1 - delta * d_n1) / (1 - d_n)), rtol=1e-9)
    np.testing.assert_allclose(no, np.log(delta * d_n1 / d_n), rtol=1e-9)


def test_threshold_and_power__randomises_ties_to_the_stated_false_positive_rate() -> None:
    null = np.array([0.0] * 18 + [5.0] * 2)  # 10 % of the null ties at the top value
    members = np.array([5.0] * 10)
    t, power, fpr = attacks.threshold_and_power(null, members, fpr=0.05)
    assert t == 5.0
    assert fpr == pytest.approx(0.05)
    assert power == pytest.approx(0.5)  # members tied at t are called with gamma = 0.5
    assert attacks.threshold_and_power(null, members + 1)[1] == 1.0


def test_query_order__victims_alleles_rarest_in_the_panel_first() -> None:
    dosage = np.array([1, 0, 2, 1, 1])
    f = np.array([0.3, 0.0001, 0.01, 0.01, 0.2])
    assert attacks.query_order(dosage, f, limit=3).tolist() == [2, 3, 4]


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
