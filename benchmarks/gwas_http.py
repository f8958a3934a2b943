"""The GWAS benchmark's end-to-end mode: a real hub and three real node processes on loopback.

`genomesh hub serve` and three `genomesh node serve` processes (push nodes, as a custodian
runs them), each node holding one part of the cohort ingested into its own store (VCF Zarr +
Parquet). The researcher's passport is minted with the hub's own signing keys (standing in
for the DAC), the catalogue is synced, and then a GWAS is submitted over HTTP and timed from
the POST of the task to the result body in hand: hub signing, node verification, guard and
audit, the nodes reading their Zarr stores, the rounds over HTTP, the hub's state kept in its
database after every round, and the result rows. Ingest and start-up are not timed.

Used by `gwas_bench.py --http`; everything lives under benchmarks/.work (not committed).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

TRAIT = "LOINC:39156-5"  # the simulated quantitative trait, as nodes hold it (BMI)
PURPOSE = {
    "category": "health_medical", "institution": "uni.example.org", "country": "NL",
    "ethics_approval": "METC-2026-031", "will_publish": True,
}  # fmt: skip
ADMIN = "admin-token-for-the-benchmark"
# the result request waits at the hub until the task has ended (a long poll): no polling
# interval is added to the measured time, and no request per interval costs the hub
WAIT_SECONDS = 30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes], label: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{label} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{label} did not come up at {url}")


def split_parts(cohort: Any, out: Path, parts: int) -> list[tuple[Path, Path]]:
    """The cohort split round-robin in sample order (as `genomesh.testing.split_cohort`
    splits it, so the pooled data is the union of the parts): each part's genotypes as BCF,
    written in one pass over the cohort's VCF by `bcftools +split` (split_cohort holds the
    whole VCF in memory as Python strings: at 20,000 x 124,740 that is ~10 GB of text),
    its individuals.json and consent.tsv. [(bcf, individuals)] per part; consent.tsv beside."""
    import csv

    out.mkdir(parents=True, exist_ok=True)
    samples = subprocess.run(
        ["bcftools", "query", "-l", str(cohort.vcf)], check=True, capture_output=True, text=True
    ).stdout.split()
    groups = out / "groups.tsv"
    groups.write_text("".join(f"{s}\t-\tpart{i % parts}\n" for i, s in enumerate(samples)))
    subprocess.run(
        ["bcftools", "+split", "-G", str(groups), "-O", "u", "-o", str(out), str(cohort.vcf)],
        check=True, capture_output=True,
    )  # fmt: skip
    people = json.loads(Path(cohort.individuals).read_text())
    with Path(cohort.consent).open() as handle:
        consent = list(csv.DictReader(handle, delimiter="\t"))
    result = []
    for p in range(parts):
        chosen = set(samples[p::parts])
        folder = out / f"part{p}"
        folder.mkdir(exist_ok=True)
        bcf = out / f"part{p}.bcf"
        (folder / "individuals.json").write_text(
            json.dumps([d for d in people if d["id"] in chosen])
        )
        with (folder / "consent.tsv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(consent[0]), delimiter="\t")
            writer.writeheader()
            writer.writerows(r for r in consent if r["individual_id"] in chosen)
        result.append((bcf, folder / "individuals.json"))
    return result


def _ingest(node_dir: Path, bcf: Path, individuals: Path) -> float:
    """One node's part through the store's ingest (genotypes to VCF Zarr, variant index and
    carriers to Parquet, people, consent), as `genomesh ingest` does; seconds taken."""
    from genomesh.core.consent import DataUseTerm
    from genomesh.store import ingest_dataset, init_node

    start = time.perf_counter()
    if not (node_dir / "genomesh.toml").is_file():
        init_node(node_dir, name=node_dir.name, jurisdiction="NL")
    ingest_dataset(
        node_dir, f"{node_dir.name}-ds", vcf=bcf, individuals=individuals,
        duo=[DataUseTerm(id="DUO:0000006")], name=f"{node_dir.name} cohort", threads=2,
    )  # fmt: skip
    return time.perf_counter() - start


def prepare(root: Path, cohort: Any, names: list[str]) -> list[Path]:
    """Split the simulated cohort round-robin over the nodes and ingest each part (once; the
    parts side by side in worker processes). Not timed."""
    from concurrent.futures import ProcessPoolExecutor

    dirs = [root / name for name in names]
    if all((d / "datasets" / f"{d.name}-ds" / "CURRENT").is_file() for d in dirs):
        return dirs
    start = time.perf_counter()
    parts = split_parts(cohort, root / "parts", len(names))
    split = time.perf_counter() - start
    with ProcessPoolExecutor(max_workers=min(len(dirs), os.cpu_count() or 1)) as pool:
        seconds = list(pool.map(_ingest, dirs, *zip(*parts, strict=True)))
    print(f"split {split:.0f} s, ingest {', '.join(f'{s:.0f}' for s in seconds)} s per node "
          f"(in parallel; {time.perf_counter() - start:.0f} s in all)", flush=True)  # fmt: skip
    return dirs


class LoopbackFederation:
    """The hub and node processes; `stop()` ends exactly the processes it started."""

    def __init__(self, root: Path, node_dirs: list[Path], *, threads: int, chunk: int) -> None:
        self.root, self.node_dirs = root, node_dirs
        self.hub_url = f"http://127.0.0.1:{_free_port()}"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.env = {
            **os.environ,
            "OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
            "MKL_NUM_THREADS": str(threads), "DASK_NUM_WORKERS": str(threads),
        }  # fmt: skip
        self.chunk = chunk
        self.token = ""

    def _spawn(self, label: str, args: list[str], env: dict[str, str] | None = None) -> None:
        log = (self.root / f"{label}.log").open("wb")
        self.procs[label] = subprocess.Popen(
            [sys.executable, "-m", "genomesh.cli.main", *args],
            stdout=log, stderr=subprocess.STDOUT, env={**self.env, **(env or {})},
        )  # fmt: skip

    def start(self) -> None:
        from genomesh.core.settings import HubSettings
        from genomesh.hub.broker import BrokerState
        from genomesh.hub.signing import load_or_create_key, public_key_text
        from genomesh.node.dialout import node_key
        from genomesh.node.dialout import public_key_text as node_public_key

        hub_dir = self.root / "hub"
        shutil.rmtree(hub_dir, ignore_errors=True)  # a fresh hub: nodes move to new ports
        hub_key = public_key_text(load_or_create_key(hub_dir))
        port = self.hub_url.rsplit(":", 1)[1]
        self._spawn(
            "hub", ["hub", "serve", "--dir", str(hub_dir), "--port", port],
            {"GENOMESH_HUB_ADMIN_TOKEN": ADMIN, "GENOMESH_HUB_CATALOGUE_SYNC_SECONDS": "0"},
        )  # fmt: skip
        urls = {}
        for node_dir in self.node_dirs:
            node_port = _free_port()
            urls[node_dir.name] = f"http://127.0.0.1:{node_port}"
            config = [
                f"name = {json.dumps(node_dir.name)}", 'jurisdiction = "NL"',
                f"base_url = {json.dumps(urls[node_dir.name])}",
                f"hub_url = {json.dumps(self.hub_url)}", f"hub_key = {json.dumps(hub_key)}",
                "anti_differencing_answers = 0", "query_budget = 1000000000",
                "analysis_min_mac = 0",  # as plink2: every variant (the default floor is 5)
                # dosages kept uncompressed after the warm-up run reads them (plink2 reads its
                # own pgen; converting to it is not timed either)
                "analysis_dosage_cache = true",
                f"analysis_chunk_variants = {self.chunk}",
                "", "[default_policy]", "min_count = 5",
                "", "[[trusted_issuers]]", f"iss = {json.dumps(self.hub_url)}",
                f"jwks_url = {json.dumps(self.hub_url + '/.well-known/jwks.json')}",
            ]  # fmt: skip
            (node_dir / "genomesh.toml").write_text("\n".join(config) + "\n")
            self._spawn(node_dir.name, ["node", "serve", str(node_dir), "--port", str(node_port)])
        _wait(f"{self.hub_url}/info", self.procs["hub"], "hub")
        admin = {"Authorization": f"Bearer {ADMIN}"}
        with httpx.Client(base_url=self.hub_url, timeout=120) as http:
            for name, url in urls.items():
                _wait(f"{url}/info", self.procs[name], name)
                key = node_public_key(node_key(self.root / name))
                body = {"name": name, "base_url": url, "country": "NL", "public_key": key}
                response = http.post("/nodes", json=body, headers=admin)
                assert response.status_code == 201, response.text
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:  # nodes answer the sync once warm
                assert http.post("/catalogue/sync", headers=admin).status_code == 200
                if len(http.get("/catalogue").json()["datasets"]) >= len(urls):
                    break
                time.sleep(1.0)
            else:
                raise RuntimeError("the hub's catalogue never listed every node's dataset")
        settings = HubSettings(hub_dir=hub_dir, base_url=self.hub_url, issuer=self.hub_url)
        issuer = BrokerState.from_settings(settings).visa_issuer()
        from genomesh.core.purpose import ResearchPurpose

        visas = [issuer.researcher_status("rita"), issuer.accepted_terms("rita")]
        visas += [
            issuer.controlled_access_grant("rita", dataset_url=f"{url}/datasets/{name}-ds")
            for name, url in urls.items()
        ]
        visas.append(issuer.research_purpose("rita", purpose=ResearchPurpose(**PURPOSE)))
        self.token = issuer.passport("rita", visas, audience=settings.hub_audience, lifetime=3600)

    def cpu(self) -> float:
        """User + system CPU seconds used so far by the hub and node processes."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for proc in self.procs.values():
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        return total

    def gwas(self, params: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        """Submit, wait, fetch: (seconds from submit to the result's body received, result)."""
        headers = {"Authorization": f"Bearer {self.token}"}
        datasets = [f"{d.name}/{d.name}-ds" for d in self.node_dirs]
        with httpx.Client(base_url=self.hub_url, timeout=600) as http:
            start = time.perf_counter()
            submitted = http.post(
                "/analysis/tasks",
                json={"type": "gwas", "params": params, "datasets": datasets},
                headers=headers,
            )
            assert submitted.status_code == 201, submitted.text
            task = submitted.json()["id"]
            while True:  # the result route waits for the task to end, then answers with it
                answer = http.get(
                    f"/analysis/tasks/{task}/result", params={"wait": WAIT_SECONDS},
                    headers=headers,
                )  # fmt: skip
                active = ("is queued" in answer.text) or ("is running" in answer.text)
                if answer.status_code != 409 or not active:
                    break
            assert answer.status_code == 200, answer.text
            raw = answer.content
            elapsed = time.perf_counter() - start  # the body in hand; parsing it is the reader's
            return elapsed, orjson.loads(raw)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
