"""Real services for the attacks: `genomesh node serve` and `genomesh hub serve` processes on
loopback, and a Beacon client whose identity is a real socket peer address.

Each scenario gets a fresh node process with a fresh state database (budgets and any
exposure ledger start from zero), so one scenario's queries never weaken the next one.

Identities: Linux routes all of 127.0.0.0/8 to loopback, so a client that binds its socket
to 127.a.b.c before connecting *is* a different caller to the node (the socket peer), with
no proxy header involved. `identity_address(i)` gives the i-th such address.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

GENOMESH = [sys.executable, "-m", "genomesh.cli.main"]
HUB_ADMIN_TOKEN = "privacy-bench-admin"

# Protections off: what "unprotected" means for today's settings. Defences added later need
# their own off-switch passed with --baseline-env (see docs/bench/privacy.md).
BASELINE_ENV = {
    "GENOMESH_QUERY_BUDGET": "1000000000",
    "GENOMESH_DEFAULT_POLICY__BOOLEAN_MIN_COUNT": "1",
    "GENOMESH_ANTI_DIFFERENCING_ANSWERS": "0",
    "GENOMESH_DEFAULT_POLICY__EXPOSURE_BUDGET": "off",  # per-participant accounting (issue 13)
    "GENOMESH_DEFAULT_POLICY__SCRUTINY_BUDGET": "off",  # per-participant scrutiny (issue 13)
}


def identity_address(i: int) -> str:
    """The i-th loopback source address (127.1.1.1, 127.1.1.2, ...; never 127.0.0.1)."""
    return f"127.{1 + i // 64516}.{1 + (i // 254) % 254}.{1 + i % 254}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes], seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the process for {url} exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/info", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up in {seconds:.0f} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def node_process(
    node_dir: Path, state_db: Path, env: Mapping[str, str], *, log: Path
) -> Iterator[str]:
    """`genomesh node serve` on a free port with a fresh SQLite state; yields its URL."""
    port = free_port()
    state_db.unlink(missing_ok=True)
    full_env = {
        **os.environ,
        "GENOMESH_STATE_URL": f"sqlite:///{state_db}",
        "GENOMESH_BASE_URL": f"http://127.0.0.1:{port}",
        **env,
    }
    cmd = [*GENOMESH, "node", "serve", str(node_dir), "--port", str(port)]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, proc)
        yield url
    finally:
        _stop(proc)


@contextmanager
def hub_process(hub_dir: Path, node_url: str, *, log: Path) -> Iterator[str]:
    """`genomesh hub serve` on a free port with `node_url` registered; yields its URL."""
    port = free_port()
    hub_dir.mkdir(parents=True, exist_ok=True)
    for old in hub_dir.glob("hub.sqlite*"):
        old.unlink()
    env = {
        **os.environ,
        "GENOMESH_HUB_ADMIN_TOKEN": HUB_ADMIN_TOKEN,
        "GENOMESH_HUB_CATALOGUE_SYNC_SECONDS": "0",
    }
    cmd = [*GENOMESH, "hub", "serve", "--dir", str(hub_dir), "--port", str(port)]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, proc)
        register_node(url, node_url)
        yield url
    finally:
        _stop(proc)


def register_node(hub_url: str, node_url: str) -> None:
    httpx.post(
        f"{hub_url}/nodes",
        json={"name": "bench-node", "base_url": node_url, "country": "ZZ"},
        headers={"authorization": f"Bearer {HUB_ADMIN_TOKEN}"},
        timeout=30,
    ).raise_for_status()


@dataclass(frozen=True)
class Answer:
    """One Beacon answer as the attacker reads it: present (True/False) or refused (None)."""

    present: bool | None
    count: int | None = None
    status: int = 200


class BeaconClient:
    """A keep-alive Beacon client bound to one source address and optional passport.

    stdlib http.client rather than httpx: the attack sends hundreds of thousands of small
    requests from a few threads, and the lighter client leaves the shared cores to the node.
    """

    def __init__(
        self, base_url: str, *, address: str | None = None, bearer: str | None = None
    ) -> None:
        url = urlsplit(base_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.address = address
        self.headers = {"authorization": bearer} if bearer else {}
        self.conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            source = (self.address, 0) if self.address else None
            self.conn = http.client.HTTPConnection(
                self.host, self.port, timeout=120, source_address=source
            )
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def get(self, path: str, params: Mapping[str, str]) -> tuple[int, bytes]:
        """One GET (one retry on a dropped keep-alive connection)."""
        target = f"{path}?{urlencode(params)}"
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request("GET", target, headers=self.headers)
                response = conn.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, ConnectionError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def ask(self, params: Mapping[str, str], *, granularity: str = "boolean") -> Answer:
        """GET /g_variants for one allele; a refusal (429, 403 ...) is `present=None`."""
        status, body = self.get("/g_variants", {**params, "requestedGranularity": granularity})
        if status != 200:
            return Answer(None, status=status)
        return read_answer(json.loads(body))


def read_answer(body: dict[str, Any]) -> Answer:
    """`responseSummary.exists` (and the count when one is given) of a node or hub answer."""
    summary = body.get("responseSummary") or {}
    exists = summary.get("exists")
    if exists is None:
        return Answer(None, status=200)
    count = summary.get("numTotalResults")
    return Answer(bool(exists), count if isinstance(count, int) else None)
