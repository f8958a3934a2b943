"""`genomesh demo`: the whole federation as real processes; --check, then Ctrl-C shutdown."""

from __future__ import annotations

import os
import random
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from genomesh.core.settings import NodeSettings
from genomesh.testing.cohorts import requires_msprime

pytestmark = [requires_msprime(), pytest.mark.slow]


def _free_block(size: int = 4) -> int:
    """A base port with `size` consecutive free loopback ports."""
    for _ in range(50):
        base = random.randint(20_000, 60_000)
        try:
            for port in range(base, base + size):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no block of free ports")


def _pid_of(*markers: str) -> int:
    """The process whose command line holds every marker (a child of the demo)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if all(m in command for m in markers):
            return int(proc.name)
    raise AssertionError(f"no process with {markers}")


def _read_until(process: subprocess.Popen[str], text: str, *, timeout: float) -> str:
    """Lines of `process`'s stdout up to one containing `text` (fails after `timeout`)."""
    assert process.stdout is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            seen += line
            if text in line:
                return seen
    raise AssertionError(f"{text!r} not printed within {timeout} s:\n{seen}")


def _demo(directory: Path, port: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "genomesh.cli.main", "demo", "--dir", str(directory),
            "--hub-port", str(port), *extra]  # fmt: skip


SHIM = """set -e
genomesh() {
  case "$*" in
    *"login admin"*) export GENOMESH_DAC_PASSWORD="$(cat demo/hub/dac-admin-password)";;
    *"dac register rita"*|*"login rita"*) export GENOMESH_DAC_PASSWORD=Xq7-correct-horse-1;;
    *"dac register dave"*|*"login dave"*) export GENOMESH_DAC_PASSWORD=Zp9-battery-staple-2;;
  esac
  "$PYTHON" -m genomesh.cli.main "$@"
}
xdg-open() { test -s "$1"; }
"""


def _run_readme_tour(root: Path, port: int) -> None:
    """README steps 3-5 as written (passwords given instead of typed; the GWAS's ID is the
    one the submit printed), against this demo: access, withdrawal, audit, the GWAS and its
    Manhattan plot."""
    import re

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    tour = readme[readme.index("**3. Ask for access.**") : readme.index("**7. ")]
    lines = "\n".join(re.findall(r"```bash\n(.*?)```", tour, flags=re.S)).replace("\\\n", "")
    assert "analysis submit gwas" in lines and "--manhattan bmi.png" in lines
    assert "analysis submit case-search" in lines and "match submit" in lines
    last_id = "$(grep -o 'as analysis [0-9a-f]*' submitted.txt | cut -d' ' -f3)"
    lines = (
        lines.replace("--wait", "--wait | tee submitted.txt")
        .replace("plot ID", f"plot {last_id}")
        .replace("result ID", f"result {last_id}")
        .replace("http://127.0.0.1:8000", "$GENOMESH_HUB_URL")
    )
    script = root / "tour.sh"
    script.write_text(SHIM + lines + "\n")
    env = {**os.environ, "GENOMESH_HUB_URL": f"http://127.0.0.1:{port}", "HOME": str(root),
           "PYTHON": sys.executable, "COLUMNS": "200"}  # fmt: skip
    done = subprocess.run(
        ["bash", str(script)], cwd=root, env=env, capture_output=True, text=True, timeout=600,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "(gwas): done" in done.stdout
    assert "(case-search): done" in done.stdout
    assert "120290001" in done.stdout  # the window holding the planted RNU4-2 variants
    assert "at node au-rd" in done.stdout  # the NL patient's match at the AU node
    assert (root / "bmi.png").read_bytes()[:4] == b"\x89PNG"
    assert (root / "bmi-qq.png").stat().st_size > 5_000


def test_demo__check_then_interactive_run_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port = _free_block()
    env = {**os.environ, "COLUMNS": "200"}
    check = subprocess.run(
        _demo(tmp_path / "demo", port, "--check"),
        capture_output=True, text=True, timeout=240, env=env, check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-3000:]
    assert "check passed: every node answered" in check.stdout
    # QA F8: nodes poll the hub's revocation list; F9: nodes' keys are registered for notices
    assert "stopped honouring a revoked visa" in check.stdout
    assert "accepts withdrawal notices signed by every node" in check.stdout
    for name in ("nl-umc", "gb-biobank", "au-rd (dial-out)", "CINECA_synthetic_cohort_EUROPE_UK1"):
        assert name in check.stdout
    # the wiring is in each node's own config, so the custodian's CLI reaches the same hub
    for node in ("nl-umc", "gb-biobank", "au-rd"):
        settings = NodeSettings.load(tmp_path / "demo" / "nodes" / node)
        assert settings.hub_url == f"http://127.0.0.1:{port}"
        assert (
            settings.trusted_issuers[0].revocations_url
            == f"http://127.0.0.1:{port}/ga4gh/revocations"
        )
    with pytest.raises(httpx.HTTPError):  # everything stopped after --check
        httpx.get(f"http://127.0.0.1:{port}/info", timeout=1)

    # second run: reuses the data, stays up until Ctrl-C
    demo = subprocess.Popen(
        _demo(tmp_path / "demo", port), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env={**env, "COLUMNS": "60"},  # narrow: commands must still be one line
    )  # fmt: skip
    try:
        output = ""
        assert demo.stdout is not None
        for line in demo.stdout:
            output += line
            if "up in" in line:
                break
        assert "up in" in output, output
        # the web portal's address comes first, before the panel and the commands
        portal = output.index(f"portal: http://127.0.0.1:{port}/")
        assert portal < output.index("genomesh demo federation") < output.index("try:")
        assert "simulating" not in output  # reused
        hub_flag = f"--hub http://127.0.0.1:{port}"
        assert f"  genomesh catalogue search --country AU {hub_flag}\n" in output  # pasteable
        # QA F2: the catalogue is complete when "up" is printed, no node left to a later sync
        catalogue = httpx.get(f"http://127.0.0.1:{port}/catalogue", timeout=10).json()
        # 3 cohorts + CINECA UK1 + the GWAS study's 3 parts + the rare-disease study's 3
        assert catalogue["count"] == 10
        assert {f"{n}-{s}" for n in ("nl-umc", "gb-biobank", "au-rd") for s in ("bmi", "renu")} <= {
            d["datasetId"] for d in catalogue["datasets"]
        }
        assert {d["node"] for d in catalogue["datasets"]} == {"nl-umc", "gb-biobank", "au-rd"}
        au = httpx.get(f"http://127.0.0.1:{port}/catalogue", params={"country": "AU"}, timeout=10)
        assert au.json()["count"] == 3
        nodes = httpx.get(f"http://127.0.0.1:{port}/nodes", timeout=10).json()
        assert {n["name"]: n["dial_out"] for n in nodes} == {
            "au-rd": True,
            "gb-biobank": False,
            "nl-umc": False,
        }

        _run_readme_tour(tmp_path, port)

        # QA F22: a node exiting is reported; the hub and the other nodes keep running
        au_rd = _pid_of("genomesh.cli.main", "dial-out", str(tmp_path / "demo" / "nodes"))
        os.kill(au_rd, signal.SIGTERM)
        output += _read_until(demo, "au-rd exited", timeout=20)
        assert "the other nodes keep running" in output
        deadline = time.monotonic() + 10
        while True:
            answer = httpx.get(f"http://127.0.0.1:{port}/individuals", timeout=30).json()
            statuses = {n["node"]: n["status"] for n in answer["info"]["network"]["nodes"]}
            if statuses["au-rd"] == "error" or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert statuses == {"au-rd": "error", "gb-biobank": "ok", "nl-umc": "ok"}
        assert demo.poll() is None

        demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=30)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert demo.returncode == 0, output + rest
    assert "stopped hub and nodes" in rest
    for offset in range(3):  # hub and both push nodes are gone
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port + offset}/info", timeout=1)
