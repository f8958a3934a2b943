"""Hub Beacon-network benchmark: fan-out latency against the slowest node, and throughput.

Setup (all real processes on loopback): 10 stand-in Beacon nodes in one process
(tests/hub/standin.py), node i answering after an injected delay of (i+1) * STEP ms; the hub
as `genomesh hub serve` in its own process, with the 10 nodes registered.

Measured, on the same nodes in the same run:
* the slowest node's own latency (direct GET, sequential) -> p50 / p95;
* the hub's network answer over all 10 nodes (sequential) -> p50 / p95; goal p95 <= slowest
  node p95 + 20 ms;
* what a researcher without a hub would do: ask the 10 beacons one after another;
* hub throughput under 50 concurrent clients, with the delays and with zero-delay nodes.

And the three goals of QA issue 12 part 5, in one run, on three real genomesh nodes (the
CINECA UK1 chr22 excerpt, `genomesh node serve`, anonymous count answers, budget lifted):
* throughput through the hub / throughput of the same load generator fanning out to the same
  three nodes itself and merging (16 clients): goal >= 0.8;
* hub CPU per node exchange (from /proc/PID/stat over the hub run): goal <= 0.2 ms;
* p95 through the hub - p95 of the slowest node: goal <= 20 ms (one client, and 16).

Writes docs/bench/hub.md. Usage: python benchmarks/hub_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
STANDIN = ROOT / "tests" / "hub" / "standin.py"
OUT = ROOT / "docs" / "bench" / "hub.md"
N_NODES = 10
STEP_MS = 10
QUERY = {"referenceName": "22", "start": "16050074", "alternateBases": "G"}


def free_base(size: int) -> int:
    import random
    import socket

    for _ in range(100):
        base = random.randint(20_000, 60_000)
        try:
            for port in range(base, base + size):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free ports")


def wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180  # a busy machine; --workers starts 3 interpreters
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def sequential(url: str, n: int, *, params: dict[str, str] | None = None) -> list[float]:
    times = []
    with httpx.Client(timeout=30) as client:
        client.get(url, params=params)  # warm
        for _ in range(n):
            started = time.perf_counter()
            response = client.get(url, params=params)
            times.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return times


def one_by_one(urls: list[str], n: int) -> list[float]:
    times = []
    with httpx.Client(timeout=30) as client:
        for _ in range(n):
            started = time.perf_counter()
            for url in urls:
                client.get(url, params=QUERY).raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
    return times


async def load(url: str, *, clients: int, seconds: float) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < stop:
            started = time.perf_counter()
            try:
                response = await http.get(url, params=QUERY)
                if response.status_code != 200:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append((time.perf_counter() - started) * 1000)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies, errors


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


CINECA = ROOT.parent / "shared" / "reference" / "beacon-testdata" / "cineca_uk1"
CINECA_DATASET = "CINECA_synthetic_cohort_EUROPE_UK1"
GOAL_CLIENTS = 16


def tree_cpu(pid: int) -> float:
    """CPU seconds of `pid` and its child processes (the workers of `hub serve --workers N`)."""
    total = cpu_seconds(pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:  # field 4 of /proc/PID/stat, the parent
            total += cpu_seconds(int(stat.parent.name))
    return total


def cineca_queries(n: int) -> list[dict[str, str]]:
    """Position queries for the first `n` biallelic SNVs of the CINECA excerpt (all present)."""
    import gzip

    queries = []
    with gzip.open(CINECA / "vcf" / "chr22.cineca_uk1.5002.annotated.vcf.gz", "rt") as vcf:
        for line in vcf:
            if line.startswith("#"):
                continue
            chrom, pos, _, ref, alt = line.split("\t", 5)[:5]
            if len(ref) == 1 and len(alt) == 1:
                queries.append(
                    {"referenceName": chrom, "start": str(int(pos) - 1), "referenceBases": ref,
                     "alternateBases": alt, "requestedGranularity": "count"}
                )  # fmt: skip
            if len(queries) == n:
                break
    return queries


def build_cineca(work: Path) -> Path:
    from genomesh.store import ingest_dataset, init_node

    node = work / "cineca-node"
    init_node(node, name="CINECA node", jurisdiction="ZZ")
    ingest_dataset(
        node,
        CINECA_DATASET,
        vcf=CINECA / "vcf" / "chr22.cineca_uk1.5002.annotated.vcf.gz",
        individuals=CINECA / "bff" / "individuals.json",
    )
    return node


async def load_many(
    urls: list[str], queries: list[dict[str, str]], *, clients: int, seconds: float
) -> tuple[float, list[float], dict[str, list[float]], int]:
    """`clients` concurrent loops for `seconds`, each asking every URL in `urls` at once and
    merging the answers (exists: any; count: sum) as a client without a hub would; with one
    URL (the hub), that is one request. Returns (network queries/s, latencies, per-URL
    latencies, errors)."""
    latencies: list[float] = []
    per_url: dict[str, list[float]] = {u: [] for u in urls}
    errors = 0
    stop = time.perf_counter() + seconds

    async def one(http: httpx.AsyncClient, url: str, query: dict[str, str]) -> dict[str, Any]:
        started = time.perf_counter()
        response = await http.get(url, params=query)
        per_url[url].append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: HTTP {response.status_code}")
        return response.json()  # type: ignore[no-any-return]

    def merge(bodies: list[dict[str, Any]]) -> dict[str, object]:
        summaries = [b.get("responseSummary") or {} for b in bodies]
        return {
            "exists": any(s.get("exists") for s in summaries),
            "count": sum(int(s.get("numTotalResults") or 0) for s in summaries),
        }

    async def worker(http: httpx.AsyncClient, offset: int) -> None:
        nonlocal errors
        i = offset
        while time.perf_counter() < stop:
            query = queries[i % len(queries)]
            i += 1
            started = time.perf_counter()
            try:
                bodies = await asyncio.gather(*(one(http, url, query) for url in urls))
                merge(bodies)  # what a client without a hub has to do itself
                network = (bodies[0].get("info") or {}).get("network")  # type: ignore[union-attr]
                if network and network["answered"] < network["queried"]:
                    errors += 1  # through the hub: a node timed out or failed
            except (httpx.HTTPError, RuntimeError):
                errors += 1
            latencies.append((time.perf_counter() - started) * 1000)

    limits = httpx.Limits(
        max_connections=clients * len(urls), max_keepalive_connections=clients * len(urls)
    )
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(worker(http, k * 7) for k in range(clients)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies, per_url, errors


async def client_cpu(url: str, query: dict[str, str], *, n: int) -> dict[str, float]:
    """CPU of this process per request (8 concurrent loops, keep-alive) with the hub's node
    client (`genomesh.hub.http11`) and with httpx, against the same node: an A/B of the one
    part of the hub that QA issue 12 part 5 found expensive."""
    from genomesh.hub.http11 import Http11Client, loads

    parts = httpx.URL(url)
    base, path = f"{parts.scheme}://{parts.host}:{parts.port}", parts.path
    params = list(query.items())
    headers = {"accept": "application/json"}
    lean = Http11Client()
    lean_loop = 0.0

    async def lean_one() -> None:
        status, body = await lean.request(base, "GET", path, params=params, headers=headers)
        assert status == 200
        loads(body)

    async def httpx_one(http: httpx.AsyncClient) -> None:
        response = await http.get(url, params=params, headers=headers)
        assert response.status_code == 200
        response.json()

    async def timed(one: Callable[[], Awaitable[None]]) -> float:
        for _ in range(20):
            await one()
        started = time.process_time()

        async def loop() -> None:
            for _ in range(n // 8):
                await one()

        await asyncio.gather(*(loop() for _ in range(8)))
        return (time.process_time() - started) / (n // 8 * 8) * 1000

    lean_loop = await timed(lean_one)
    await lean.aclose()
    raw_ms = await raw_exchange_ms(base, path, params, n=n)
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=20)  # as the hub had
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        httpx_loop = await timed(lambda: httpx_one(http))
    return {"http11_ms": lean_loop, "httpx_ms": httpx_loop, "raw_ms": raw_ms}


class _RawExchange(asyncio.Protocol):
    """The least an exchange can cost: bytes written, the answer counted by its length."""

    def __init__(self) -> None:
        self.buffer = b""
        self.done: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        head, _, body = self.buffer.partition(b"\r\n\r\n")
        if not _:
            return
        length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
        if len(body) >= length and self.done is not None:
            self.buffer = b""
            self.done.set_result(None)


async def raw_exchange_ms(base: str, path: str, params: list[tuple[str, str]], *, n: int) -> float:
    """CPU per exchange of a bare asyncio protocol (8 keep-alive connections, no HTTP parser,
    no JSON) against the same node: the floor of any client on this machine at this time."""
    from urllib.parse import urlencode

    parts = httpx.URL(base)
    request = f"GET {path}?{urlencode(params)} HTTP/1.1\r\nhost: {parts.host}\r\n\r\n".encode()
    loop = asyncio.get_running_loop()
    connections = [
        (await loop.create_connection(_RawExchange, parts.host, parts.port))[1] for _ in range(8)
    ]

    async def one(connection: _RawExchange) -> None:
        connection.done = loop.create_future()
        connection.transport.write(request)  # type: ignore[attr-defined]
        await connection.done

    for connection in connections:
        for _ in range(3):
            await one(connection)
    started = time.process_time()

    async def loop_on(connection: _RawExchange) -> None:
        for _ in range(n // 8):
            await one(connection)

    await asyncio.gather(*(loop_on(c) for c in connections))
    spent = (time.process_time() - started) / (n // 8 * 8) * 1000
    for connection in connections:
        connection.transport.close()  # type: ignore[attr-defined]
    return spent


BARE_APP = """
import sys, uvicorn
from genomesh.cli.serving import UVICORN_OPTIONS
BODY = b'{"meta":{"beaconId":"bare"},"responseSummary":{"exists":true}}'
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]})
    await send({"type": "http.response.body", "body": BODY})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False, **UVICORN_OPTIONS)
"""


def bare_server_ms(*, seconds: float) -> float:
    """CPU per request of uvicorn (the hub's server and options) around an ASGI app that
    only answers, under the same load: what no Python web app on this server can go below."""
    port = free_base(1)
    proc = subprocess.Popen([sys.executable, "-c", BARE_APP, str(port)], cwd=ROOT)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait(url, proc)
        asyncio.run(load_many([url], [{}], clients=4, seconds=1))
        before = cpu_seconds(proc.pid)
        _, latencies, _, _ = asyncio.run(
            load_many([url], [{}], clients=GOAL_CLIENTS, seconds=seconds)
        )
        return (cpu_seconds(proc.pid) - before) / len(latencies) * 1000
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def start_real_node(node_dir: Path, work: Path, k: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_base(1)
    env = {
        **os.environ,
        "GENOMESH_STATE_URL": f"sqlite:///{work / f'state-{k}.sqlite'}",  # own audit log each
        "GENOMESH_DEFAULT_POLICY__TIERS__ANONYMOUS": "count",
        "GENOMESH_QUERY_BUDGET": "100000000",  # the anonymous budget lifted, for this run only
        "GENOMESH_JURISDICTION": "ZZ",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "genomesh.cli.main", "node", "serve", str(node_dir),
         "--port", str(port)],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait(f"{url}/info", proc)
    return proc, url


def goals(work: Path, *, seconds: float, n_seq: int, workers: int = 1) -> dict[str, float]:
    """The three goals of QA issue 12 part 5 on three real nodes and the hub (`workers`
    worker processes, CPU summed over all of them), in one run."""
    node_dir = build_cineca(work)
    queries = cineca_queries(200)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        urls = []
        for k in range(3):
            proc, url = start_real_node(node_dir, work, k)
            procs.append(proc)
            urls.append(url)
        hub_port = free_base(1)
        hub_url = f"http://127.0.0.1:{hub_port}"
        env = {**os.environ, "GENOMESH_HUB_ADMIN_TOKEN": "bench",
               "GENOMESH_HUB_CATALOGUE_SYNC_SECONDS": "0",
               # the hub's per-caller budget lifted too (the load generator is one caller)
               "GENOMESH_HUB_CALLER_BUDGET": "100000000"}  # fmt: skip
        hub = subprocess.Popen(
            [sys.executable, "-m", "genomesh.cli.main", "hub", "serve", "--dir",
             str(work / "hub"), "--port", str(hub_port), "--workers", str(workers)],
            env=env, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        procs.append(hub)
        wait(f"{hub_url}/info", hub)
        for k, url in enumerate(urls):
            httpx.post(
                f"{hub_url}/nodes",
                json={"name": f"node{k}", "base_url": url, "country": "NL"},
                headers={"authorization": "Bearer bench"},
                timeout=10,
            ).raise_for_status()
        node_urls = [f"{u}/g_variants" for u in urls]
        hub_g = f"{hub_url}/g_variants"
        # warm every path, then: sequential latency, the direct fan-out, the hub
        asyncio.run(load_many(node_urls, queries, clients=4, seconds=2))
        asyncio.run(load_many([hub_g], queries, clients=4, seconds=2))
        # one client: the three nodes asked at once by the load generator (so they share the
        # cores as they do behind the hub), then the hub; the nodes' own latencies from the first
        one_direct = asyncio.run(load_many(node_urls, queries, clients=1, seconds=seconds / 2))
        seq_nodes = list(one_direct[2].values())
        seq_hub = asyncio.run(load_many([hub_g], queries, clients=1, seconds=seconds / 2))[1]
        direct = asyncio.run(load_many(node_urls, queries, clients=GOAL_CLIENTS, seconds=seconds))
        cpu_before = tree_cpu(hub.pid)
        via_hub = asyncio.run(load_many([hub_g], queries, clients=GOAL_CLIENTS, seconds=seconds))
        hub_cpu = tree_cpu(hub.pid) - cpu_before
        # the hub's floor: the same load on an endpoint that asks no node (/service-info)
        cpu_before = tree_cpu(hub.pid)
        floor = asyncio.run(
            load_many([f"{hub_url}/service-info"], [{}], clients=GOAL_CLIENTS, seconds=seconds / 2)
        )
        floor_cpu = tree_cpu(hub.pid) - cpu_before
        # the network route's own floor: a query the hub refuses before asking any node
        # (a bad requestedGranularity: received, routed, checked and answered with 400)
        cpu_before = tree_cpu(hub.pid)
        floor_net = asyncio.run(
            load_many([hub_g], [{"requestedGranularity": "none"}], clients=GOAL_CLIENTS,
                      seconds=seconds / 2)
        )  # fmt: skip
        floor_net_cpu = tree_cpu(hub.pid) - cpu_before
        # the bare server: the same load on an ASGI app that only answers (uvicorn's floor)
        server_ms = bare_server_ms(seconds=seconds / 2)
        clients = asyncio.run(client_cpu(node_urls[0], queries[0], n=n_seq * 5))
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    slowest_seq = max(pct(t, 0.95) for t in seq_nodes)
    slowest_load = max(pct(t, 0.95) for t in direct[2].values())
    return {
        "direct_qps": direct[0],
        "direct_p50": pct(direct[1], 0.5),
        "direct_p95": pct(direct[1], 0.95),
        "direct_errors": direct[3],
        "hub_qps": via_hub[0],
        "hub_p50": pct(via_hub[1], 0.5),
        "hub_p95": pct(via_hub[1], 0.95),
        "hub_errors": via_hub[3],
        "ratio": via_hub[0] / direct[0],
        "cpu_per_exchange_ms": hub_cpu / (len(via_hub[1]) * 3) * 1000,
        "cpu_per_query_ms": hub_cpu / len(via_hub[1]) * 1000,
        "seq_slowest_p95": slowest_seq,
        "seq_hub_p50": pct(seq_hub, 0.5),
        "seq_hub_p95": pct(seq_hub, 0.95),
        "seq_gap": pct(seq_hub, 0.95) - slowest_seq,
        "load_slowest_p95": slowest_load,
        "load_gap": pct(via_hub[1], 0.95) - slowest_load,
        "queries": len(via_hub[1]),
        "floor_ms": floor_cpu / len(floor[1]) * 1000,
        "floor_net_ms": floor_net_cpu / len(floor_net[1]) * 1000,
        "server_ms": server_ms,
        "marginal_ms": (hub_cpu / len(via_hub[1]) - floor_net_cpu / len(floor_net[1])) / 3 * 1000,
        **clients,
    }


class Federation:
    def __init__(self, delays_ms: list[int], work: Path) -> None:
        self.base = free_base(N_NODES + 1)
        self.hub_port = self.base + N_NODES
        self.hub_url = f"http://127.0.0.1:{self.hub_port}"
        self.node_urls = [f"http://127.0.0.1:{self.base + i}" for i in range(N_NODES)]
        delays = ",".join(str(d / 1000) for d in delays_ms)
        self.nodes = subprocess.Popen(
            [sys.executable, str(STANDIN), "--port", str(self.base), "--delays", delays],
            cwd=ROOT,
        )
        env = {
            **os.environ,
            "GENOMESH_HUB_ADMIN_TOKEN": "bench",
            "GENOMESH_HUB_CATALOGUE_SYNC_SECONDS": "0",
            "GENOMESH_HUB_CALLER_BUDGET": "100000000",  # one caller: lifted for the benchmark
        }
        self.hub = subprocess.Popen(
            [sys.executable, "-m", "genomesh.cli.main", "hub", "serve", "--dir", str(work / "hub"),
             "--port", str(self.hub_port)],
            env=env, stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def __enter__(self) -> Federation:
        for url in self.node_urls:
            wait(f"{url}/info", self.nodes)
        wait(f"{self.hub_url}/info", self.hub)
        for i, url in enumerate(self.node_urls):
            httpx.post(
                f"{self.hub_url}/nodes",
                json={"name": f"node{i}", "base_url": url, "country": "NL"},
                headers={"authorization": "Bearer bench"},
                timeout=10,
            ).raise_for_status()
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in (self.hub, self.nodes):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument(
        "--goals-only", action="store_true", help="only the part 5 goals, printed (no report)"
    )
    parser.add_argument(
        "--workers-compare",
        action="store_true",
        help="only the part 5 goals with 1 and with 2 hub workers (writes docs/bench/hub_workers.md)",
    )
    args = parser.parse_args()
    n = 40 if args.quick else 200
    seconds = 3.0 if args.quick else 10.0
    if args.workers_compare:
        return workers_compare(seconds=seconds, n=n, quick=args.quick)
    delays = [(i + 1) * STEP_MS for i in range(N_NODES)]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        g = goals(Path(tmp) / "goals", seconds=seconds * 2, n_seq=n)
        load_after_goals = os.getloadavg()
        if args.goals_only:
            print(g, "load", load_before, load_after_goals)
            return 0
        with Federation(delays, Path(tmp) / "a") as fed:
            slowest = sequential(f"{fed.node_urls[-1]}/g_variants", n, params=QUERY)
            network = sequential(f"{fed.hub_url}/g_variants", n, params=QUERY)
            serial = one_by_one([f"{u}/g_variants" for u in fed.node_urls], max(10, n // 10))
            rps, under_load, errors = asyncio.run(
                load(f"{fed.hub_url}/g_variants", clients=50, seconds=seconds)
            )
        with Federation([0] * N_NODES, Path(tmp) / "b") as fed0:
            cpu_before = cpu_seconds(fed0.hub.pid)
            rps0, under_load0, errors0 = asyncio.run(
                load(f"{fed0.hub_url}/g_variants", clients=50, seconds=seconds)
            )
            # the QA report's measure: hub CPU per node exchange over 10-node fan-outs
            cpu10 = (cpu_seconds(fed0.hub.pid) - cpu_before) / (len(under_load0) * N_NODES) * 1000
            # calibration: the same load generator against one node, no hub in between
            rps1, under_load1, errors1 = asyncio.run(
                load(f"{fed0.node_urls[0]}/g_variants", clients=50, seconds=seconds)
            )
    gap = pct(network, 0.95) - pct(slowest, 0.95)
    verdict = "met" if gap <= 20 else "NOT met"
    rows = [
        f"| slowest node alone ({delays[-1]} ms injected), direct | {pct(slowest, 0.5):.1f} | {pct(slowest, 0.95):.1f} | {n} |",
        f"| hub network answer, 10 nodes concurrently | {pct(network, 0.5):.1f} | {pct(network, 0.95):.1f} | {n} |",
        f"| the 10 beacons asked one after another (no hub) | {pct(serial, 0.5):.1f} | {pct(serial, 0.95):.1f} | {len(serial)} |",
    ]
    met = {True: "met", False: "NOT met"}
    goals_text = f"""## Hub: the three goals of QA issue 12 part 5

Command: `python benchmarks/hub_bench.py{" --quick" if args.quick else ""}` ({time.strftime("%Y-%m-%d")},
{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores; load
average {load_before:.1f} when the run started and {load_after_goals[0]:.1f} / {load_after_goals[1]:.1f}
(1 / 5 min) after this part: the machine is shared, and the hub, the three nodes and the load
generator all run on its 2 cores).

Three real genomesh nodes (`genomesh node serve`, one worker each, the CINECA UK1 chr22 excerpt,
anonymous answers at count granularity, the anonymous query budget lifted for the benchmark
only) and the hub (`genomesh hub serve`, one worker) on loopback. The load generator (Python,
httpx, {GOAL_CLIENTS} concurrent clients, {seconds * 2:.0f} s each, 200 different position
queries in turn) either asks the hub, or asks the three nodes itself at once and merges their
answers (exists: any; count: sum).

| goal | measured | goal | |
|---|---:|---:|---|
| throughput through the hub / direct fan-out | {g["hub_qps"]:.0f} / {g["direct_qps"]:.0f} q/s = **{g["ratio"]:.2f}** | ≥ 0.8 | {met[g["ratio"] >= 0.8]} |
| hub CPU per node exchange, 3 real nodes | **{g["cpu_per_exchange_ms"]:.3f} ms** ({g["cpu_per_query_ms"]:.2f} ms per 3-node query, {g["queries"]} queries) | ≤ 0.2 ms | {met[g["cpu_per_exchange_ms"] <= 0.2]} |
| hub CPU per node exchange, 10 stand-in nodes (the QA report's 0.6 ms setup; 50 clients, section below) | **{cpu10:.3f} ms** ({cpu10 * N_NODES:.2f} ms per 10-node query) | ≤ 0.2 ms | {met[cpu10 <= 0.2]} |
| p95 through the hub − p95 of the slowest node, one client (nodes' p95 when the load generator asks all three at once) | {g["seq_hub_p95"]:.1f} − {g["seq_slowest_p95"]:.1f} = **{g["seq_gap"]:.1f} ms** | ≤ 20 ms | {met[g["seq_gap"] <= 20]} |
| the same under load ({GOAL_CLIENTS} clients; nodes' p95 from the direct run) | {g["hub_p95"]:.1f} − {g["load_slowest_p95"]:.1f} = **{g["load_gap"]:.1f} ms** | ≤ 20 ms | {met[g["load_gap"] <= 20]} |

| run | q/s | p50 ms | p95 ms | errors |
|---|---:|---:|---:|---:|
| load generator → 3 nodes, merging itself | {g["direct_qps"]:.0f} | {g["direct_p50"]:.1f} | {g["direct_p95"]:.1f} | {g["direct_errors"]} |
| load generator → hub → 3 nodes | {g["hub_qps"]:.0f} | {g["hub_p50"]:.1f} | {g["hub_p95"]:.1f} | {g["hub_errors"]} |

Where the hub's CPU goes, in this run (CPU of the hub process per request, same 16 clients;
the last three rows are per exchange, measured in the load generator's process against node 0):

| part | ms |
|---|---:|
| uvicorn with the hub's options around an ASGI app that only answers (the server's floor) | {g["server_ms"]:.3f} |
| a network query refused before any node is asked (received, routed by the hub's fast path, checked, answered 400): **the network route's floor** | **{g["floor_net_ms"]:.3f}** |
| a request through FastAPI's routing (`/service-info`, asks no node; the floor this write-up used before) | {g["floor_ms"]:.3f} |
| **each node asked**, on top of the network route's floor (exchange, per-node bookkeeping, merge, and the per-query work a refused query skips, spread over the three) | **{g["marginal_ms"]:.3f}** |
| one exchange with the hub's node client alone (`genomesh.hub.http11`, 8 loops) | {g["http11_ms"]:.3f} |
| one exchange with a bare asyncio protocol: bytes out, answer counted, no HTTP parser, no JSON | {g["raw_ms"]:.3f} |
| one exchange with httpx, the hub's client before this work | {g["httpx_ms"]:.3f} |

The least any hub on this server could spend per node exchange here, with three nodes per
query, is uvicorn's floor shared by the three plus one bare exchange each:
{g["server_ms"]:.3f} / 3 + {g["raw_ms"]:.3f} = **{g["server_ms"] / 3 + g["raw_ms"]:.3f} ms**; the hub spent
{g["cpu_per_exchange_ms"]:.3f} ms, {g["cpu_per_exchange_ms"] / (g["server_ms"] / 3 + g["raw_ms"]):.1f}× that. CPU per request grows with the machine's load
(two cores shared with the nodes, the load generator and other people's work: every process
is descheduled and finds its caches cold), so compare the rows of one run, not runs.

What was cut (profiled with py-spy on the hub under this load): before, about 1 ms per query went
to charging the caller's budget (a database transaction per query, in a thread pool, with the
GIL handed back and forth), and FastAPI's routing and request handling cost more than the fan-out
itself. Now the budget is charged from per-worker leases (`genomesh.hub.callers`: one transaction
per lease of up to 256 charges, never more than an eighth of what is left, so the limit still
holds exactly near it); the network routes are served by a pure-ASGI fast path in front of
FastAPI's router (`genomesh.hub.fastpath`: same handlers, same answers and errors, tested against
FastAPI's own on the same requests); the node client is an asyncio protocol that parses answers
as they arrive, and a fan-out writes its requests on idle keep-alive connections and is answered
from their callbacks, with one time limit for all, instead of a task, a coroutine chain and a
time limit per node (`NodeClient.send_all`; about 15 % less CPU per query in an A/B in one
process); uvicorn no longer builds an access-log line per request that it then drops.
Earlier (same issue): httpx/httpcore took two thirds of the hub's CPU (5.7 ms per 3-node query),
replaced by the hub's own keep-alive HTTP/1.1 client.
Several hub workers: "Hub: one worker and two" below (`--workers-compare`).

"""
    text = (
        goals_text
        + f"""## Hub: Beacon network fan-out

Command: `python benchmarks/hub_bench.py{" --quick" if args.quick else ""}` ({time.strftime("%Y-%m-%d")},
{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores, load average
{load_before:.1f} when the run started; hub, the 10 stand-in nodes and the load generator share
the machine, so on a busy machine the throughput rows mostly measure the other work).

10 stand-in Beacon nodes (one process, `tests/hub/standin.py`) on loopback, node *i* answering
after an injected {STEP_MS}·(*i*+1) ms; the hub as `genomesh hub serve` (one uvicorn worker).
Latency in ms, sequential requests:

| what | p50 | p95 | n |
|---|---:|---:|---:|
{chr(10).join(rows)}

**p95 of the network answer − p95 of the slowest node alone = {gap:.1f} ms** (goal ≤ 20 ms:
{verdict}). Against asking the ten beacons in turn, the hub answers
{statistics.median(serial) / statistics.median(network):.1f}× faster (median).

Throughput, 50 concurrent clients for {seconds:.0f} s, each request fanned out to 10 nodes:

| nodes | requests/s | p50 ms | p95 ms | errors |
|---|---:|---:|---:|---:|
| delays {STEP_MS}–{delays[-1]} ms | {rps:.0f} | {pct(under_load, 0.5):.0f} | {pct(under_load, 0.95):.0f} | {errors} |
| no delay (hub + nodes CPU bound) | {rps0:.0f} | {pct(under_load0, 0.5):.0f} | {pct(under_load0, 0.95):.0f} | {errors0} |
| calibration: one node directly, no hub, no fan-out | {rps1:.0f} | {pct(under_load1, 0.5):.0f} | {pct(under_load1, 0.95):.0f} | {errors1} |

With delays, 50 clients can at best reach 50 / {delays[-1] / 1000:g} s = {50 / (delays[-1] / 1000):.0f}
requests/s; without delays the number is the cost of one fan-out (11 HTTP exchanges and a
merge) on a 2-core machine shared with the nodes and the load generator. The calibration row
is the ceiling of this load generator on this machine at the time (one plain HTTP exchange per
request): the hub does 11 exchanges per request, so about 1/11 of it is the expected figure
when CPU, not the hub's design, is the limit.

Where the hub's time went before QA issue 12 part 5 (`/proc/PID/stat` over 200 sequential
fan-outs to 10 zero-delay nodes): about 6 ms of hub CPU per 10-node fan-out, most of it in
httpx/httpcore. The hub now uses its own keep-alive HTTP/1.1 client for push nodes (see the
section above for the CPU per node exchange measured in this run). Throughput numbers vary
between runs by ±40 % on this shared machine; the latency gap is stable within a few ms.
"""
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(text)
    return 0


def workers_compare(*, seconds: float, n: int, quick: bool) -> int:
    """The part 5 goals with one hub worker, then two, on the same machine in one run."""
    load_before = os.getloadavg()[0]
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            runs[workers] = goals(
                Path(tmp) / f"w{workers}", seconds=seconds * 2, n_seq=n, workers=workers
            )
    load_after = os.getloadavg()
    rows = "\n".join(
        f"| {w} | {g['hub_qps']:.0f} / {g['direct_qps']:.0f} = **{g['ratio']:.2f}** | "
        f"**{g['cpu_per_exchange_ms']:.3f}** | {g['server_ms'] / 3 + g['raw_ms']:.3f} | "
        f"{g['floor_net_ms']:.3f} | {g['marginal_ms']:.3f} | "
        f"{g['hub_p50']:.1f} / {g['hub_p95']:.1f} | {g['load_gap']:.1f} | {g['seq_gap']:.1f} | "
        f"{g['hub_errors']} |"
        for w, g in runs.items()
    )
    verdicts = "; ".join(
        f"{w} worker{'s' if w > 1 else ''}: {g['cpu_per_exchange_ms']:.3f} ms, "
        + ("met" if g["cpu_per_exchange_ms"] <= 0.2 else "NOT met")
        for w, g in runs.items()
    )
    text = f"""## Hub: one worker and two

Command: `python benchmarks/hub_bench.py --workers-compare{" --quick" if quick else ""}` ({time.strftime("%Y-%m-%d")},
{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores; load
average {load_before:.1f} before, {load_after[0]:.1f} / {load_after[1]:.1f} (1 / 5 min) after).

The setup of "the three goals of QA issue 12 part 5" (three real nodes, the CINECA excerpt,
{GOAL_CLIENTS} clients, {seconds * 2:.0f} s per run), once with `genomesh hub serve` as one
process and once with `--workers 2` (two uvicorn workers on one SQLite database in WAL mode;
hub CPU summed over the supervisor and both workers). Each row is its own run of the direct
fan-out too, so the ratio compares like with like.

| hub workers | throughput hub / direct (q/s) | hub CPU per node exchange, ms | least possible here (uvicorn floor / 3 + bare exchange), ms | network route's floor per request, ms | per node asked, ms | hub p50 / p95 ms | p95 gap under load, ms | p95 gap, one client, ms | errors |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
{rows}

The ≤ 0.2 ms goal per node exchange: {verdicts}. The columns are those of the section above
("Where the hub's CPU goes"); the least possible figure is measured in the same run.

On 2 cores shared by the hub, three nodes and the load generator (and, on the project
machine, other people's work: the direct fan-out reached only a fraction of its quiet-machine
rate in these runs), a second worker cannot add cores, only scheduling: the rows to read are the
CPU per exchange and that nothing breaks. A second worker adds a second event loop, a second
keep-alive pool per node and a second lease of budget charges per caller, on the same two cores.
Several workers are for machines with more cores than the hub's one, or for several hub
machines. Push nodes keep one keep-alive pool per worker; the state
that must be shared (nonces, dial-out relay, revocation counter, task leases) is in the
database and is not touched by a push-node query except for the revocation counter when a
passport is sent, and for the caller's budget once per lease (`genomesh.hub.callers`).
"""
    out = OUT.with_name("hub_workers.md")
    out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
