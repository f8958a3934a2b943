"""`genomesh demo`: a real local federation (hub + three nodes in three countries) on loopback.

What it does, reusing anything already in `--dir` from an earlier run:

1. simulates the three demo cohorts (`genomesh.simulate.presets.DEMO_COHORTS`): a Dutch
   hospital (NL), a UK biobank-like cohort (GB), an Australian rare-disease programme (AU);
2. creates three nodes and ingests them; the UK node also gets the CINECA UK1 synthetic
   cohort (real 1000 Genomes chr22 genotypes, CC-BY, attribution kept with the dataset);
   and every node gets a third of the GWAS study, one simulated population with a planted
   body-mass-index trait (`genomesh.cli.demo_gwas`);
3. starts the hub (`genomesh hub serve`) and the nodes (`genomesh node serve`; the Australian
   node with `genomesh node dial-out`, so it opens no port) as child processes on 127.0.0.1,
   registers them, syncs the catalogue and prints where to look;
4. stops every child on Ctrl-C. `--check` runs one network query and stops instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.panel import Panel

from genomesh.cli.apps import app
from genomesh.cli.demo_gwas import prepare_gwas_study
from genomesh.cli.demo_rare import cohort_roles, prepare_rare_study, register_clinic
from genomesh.cli.query_commands import console, hub_request, print_network_answer
from genomesh.core.errors import ConflictError, GenomeshError, UpstreamError

START_TIMEOUT = 90.0
SYNC_TIMEOUT = 120.0  # cold nodes on a busy machine: keep re-syncing until each one answers
REVOCATION_REFRESH_SECONDS = 5  # demo nodes poll the hub's revocation list this often


@dataclass(frozen=True)
class DemoNode:
    name: str  # registered node name, also the folder name
    preset: str  # DEMO_COHORTS key
    country: str
    dial_out: bool = False
    cineca: bool = False


NODES = (
    DemoNode("nl-umc", "nl-hospital", "NL"),
    DemoNode("gb-biobank", "gb-biobank", "GB", cineca=True),
    DemoNode("au-rd", "au-rare-disease", "AU", dial_out=True),
)
CINECA_ID = "CINECA_synthetic_cohort_EUROPE_UK1"


def _has_dataset(node_dir: Path, dataset_id: str) -> bool:
    return (node_dir / "datasets" / dataset_id / "CURRENT").is_file()


def prepare_nodes(root: Path) -> None:
    """Simulate and ingest whatever is not there yet (a second run reuses everything)."""
    from genomesh.core.consent import DataUseTerm
    from genomesh.simulate.presets import DEMO_COHORTS
    from genomesh.store import cineca_attribution, ingest_dataset, init_node
    from genomesh.testing.reference import reference_dir

    for node in NODES:
        preset = DEMO_COHORTS[node.preset]
        node_dir = root / "nodes" / node.name
        if not (node_dir / "genomesh.toml").is_file():
            init_node(node_dir, name=node.name, jurisdiction=node.country)
        if not _has_dataset(node_dir, preset.dataset_id):
            data_dir = root / "data" / preset.key
            with console.status(f"simulating {preset.name} ({preset.n_individuals} people)"):
                if (data_dir / "manifest.json").is_file():
                    files = preset.simulate(data_dir, overwrite=True)  # same seed: same data
                else:
                    files = preset.simulate(data_dir)
            with console.status(f"ingesting {preset.dataset_id} into {node.name}"):
                ingest_dataset(
                    node_dir, preset.dataset_id, vcf=files.vcf, individuals=files.individuals,
                    consent=files.consent, duo=preset.dataset_terms(), name=preset.name,
                    description=preset.description, attribution=files.attribution,
                )  # fmt: skip
            console.print(f"[green]✓[/] {node.name}: {preset.dataset_id}")
        if node.cineca and not _has_dataset(node_dir, CINECA_ID):
            ref = reference_dir() / "beacon-testdata" / "cineca_uk1"
            with console.status("ingesting the CINECA UK1 synthetic cohort (2,504 people)"):
                ingest_dataset(
                    node_dir, CINECA_ID,
                    vcf=ref / "vcf" / "chr22.cineca_uk1.5002.annotated.vcf.gz",
                    individuals=ref / "bff" / "individuals.json",
                    duo=[DataUseTerm(id="DUO:0000042"), DataUseTerm(id="DUO:0000019")],
                    assembly="GRCh37", name="CINECA synthetic cohort EUROPE UK1",
                    description="Synthetic phenotypes over real 1000 Genomes chr22 genotypes "
                    "(CINECA, EC H2020 grant 825775).",
                    attribution=cineca_attribution(),
                )  # fmt: skip
            console.print(f"[green]✓[/] {node.name}: {CINECA_ID}")
    # the GWAS study: one simulated population with a planted trait, a third at each node
    prepare_gwas_study(root, NODES, console=console)
    # the rare disease: ReNU syndrome planted at AU and NL, GB as the population cohort
    prepare_rare_study(root, NODES, console=console)


class Federation:
    """The hub and node processes; stops them all (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, root: Path, *, host: str, hub_port: int, node_port: int) -> None:
        self.root = root
        self.host = host
        self.hub_url = f"http://{host}:{hub_port}"
        self.hub_port = hub_port
        self.node_ports = {n.name: node_port + i for i, n in enumerate(NODES)}
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.logs = root / "logs"

    def _spawn(self, label: str, args: list[str], env: dict[str, str] | None = None) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = (self.logs / f"{label}.log").open("wb")
        self.children[label] = subprocess.Popen(
            [sys.executable, "-m", "genomesh.cli.main", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,  # Ctrl-C reaches the demo only; it stops the children
        )

    def node_url(self, name: str) -> str:
        return f"http://{self.host}:{self.node_ports[name]}"

    def start(self) -> None:
        from genomesh.hub.signing import load_or_create_key, public_key_text
        from genomesh.node.dialout import node_key
        from genomesh.node.dialout import public_key_text as node_public_key

        hub_dir = self.root / "hub"
        hub_key = public_key_text(load_or_create_key(hub_dir))
        password_file = hub_dir / "dac-admin-password"
        if not password_file.is_file():
            password_file.write_text(secrets.token_urlsafe(18) + "\n")
            password_file.chmod(0o600)
        self._spawn(
            "hub",
            [
                "hub",
                "serve",
                "--dir",
                str(hub_dir),
                "--host",
                self.host,
                "--port",
                str(self.hub_port),
            ],
            {"GENOMESH_HUB_ADMIN_PASSWORD": password_file.read_text().strip()},
        )
        for node in NODES:
            node_dir = self.root / "nodes" / node.name
            # every node's Ed25519 key is registered with the hub: dial-out nodes sign their
            # answers with it, and every node signs its withdrawal notices with it (QA F9)
            node_key(node_dir)
            # the wiring goes into the node's own genomesh.toml, not the server's environment,
            # so the custodian's CLI (withdraw, notifications ...) sees the same hub
            base_url = (
                f"{self.hub_url}/nodes/{node.name}" if node.dial_out else self.node_url(node.name)
            )
            self._configure_node(node_dir, node, base_url, hub_key)
            if node.dial_out:
                continue  # started after the hub is up (it dials the hub)
            port = str(self.node_ports[node.name])
            self._spawn(
                node.name, ["node", "serve", str(node_dir), "--host", self.host, "--port", port]
            )
        self._wait(f"{self.hub_url}/info", "hub")
        token = (hub_dir / "admin.token").read_text().strip()
        headers = {"authorization": f"Bearer {token}"}
        for node in NODES:
            node_dir = self.root / "nodes" / node.name
            body: dict[str, Any] = {
                "name": node.name,
                "base_url": "dial-out" if node.dial_out else self.node_url(node.name),
                "country": node.country,
                "contact": f"data-access@{node.name}.example",
                "public_key": node_public_key(node_key(node_dir)),
            }
            try:
                hub_request("POST", f"{self.hub_url}/nodes", json_body=body, headers=headers)
            except ConflictError:
                hub_request(
                    "PUT", f"{self.hub_url}/nodes/{node.name}", json_body=body, headers=headers
                )
            if node.dial_out:
                self._spawn(
                    node.name,
                    # `node serve --dial-out`: the same command a custodian runs; no port opened
                    ["node", "serve", str(node_dir), "--dial-out", self.hub_url, "--hub-key", hub_key],
                )  # fmt: skip
        for node in NODES:
            if not node.dial_out:
                self._wait(f"{self.node_url(node.name)}/info", node.name)
        self._wait_dial_out()
        self._sync(headers)
        register_clinic(self.root, self.hub_url)  # the tour's clinic submits to the hub's /match

    def _configure_node(self, node_dir: Path, node: DemoNode, base_url: str, hub_key: str) -> None:
        """Write the demo's wiring (hub, trusted issuer, addresses) into the node's genomesh.toml."""
        from genomesh.core.settings import NODE_CONFIG_NAME

        config = node_dir / NODE_CONFIG_NAME
        kept = tomllib.loads(config.read_text())
        values: dict[str, Any] = {
            "name": kept.get("name", node.name),
            "jurisdiction": kept.get("jurisdiction", node.country),
            "base_url": base_url,
            "beacon_id": f"org.genomesh.demo.{node.name}",
            "hub_url": self.hub_url,
            "revocation_refresh_seconds": REVOCATION_REFRESH_SECONDS,
            "hub_key": hub_key,  # analysis rounds must be signed by this hub
        }
        lines = ["# written by `genomesh demo`"]
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
        lines += [
            "",
            "[[trusted_issuers]]",
            f"iss = {json.dumps(self.hub_url)}",
            f"jwks_url = {json.dumps(self.hub_url + '/.well-known/jwks.json')}",
            # without it nodes never learn of revoked visas (QA F8)
            f"revocations_url = {json.dumps(self.hub_url + '/ga4gh/revocations')}",
        ]
        for dataset, role in cohort_roles(node.name).items():  # the catalogue's cohort role
            lines += [
                "",
                f"[dataset_policies.{json.dumps(dataset)}]",
                f"cohort_role = {json.dumps(role)}",
            ]
        config.write_text("\n".join(lines) + "\n")

    def _sync(self, headers: dict[str, str]) -> None:
        """Warm every push node (its first answers are slow), then sync the catalogue until
        every node has answered, so the catalogue is complete when "up" is printed (QA F2)."""
        import httpx

        for node in NODES:
            if not node.dial_out:
                for path in ("/datasets", "/filtering_terms"):
                    with contextlib.suppress(httpx.HTTPError):
                        httpx.get(f"{self.node_url(node.name)}{path}", timeout=60)
        deadline = time.monotonic() + SYNC_TIMEOUT
        names: list[str] = [n.name for n in NODES]
        while True:
            self._check_children()
            result = hub_request(
                "POST",
                f"{self.hub_url}/catalogue/sync",
                params=[("node", n) for n in names],
                headers=headers,
                timeout=120,
            )["nodes"]
            names = [n for n, status in result.items() if status != "ok"]
            if not names:
                return
            if time.monotonic() > deadline:
                raise UpstreamError(
                    "catalogue sync failed: "
                    + "; ".join(f"{n}: {result[n]}" for n in names)
                    + f" (logs in {self.logs})"
                )
            time.sleep(1.0)

    def _check_children(self) -> None:
        for label, child in self.children.items():
            if child.poll() is not None:
                raise UpstreamError(
                    f"{label} exited with code {child.returncode}; see {self.logs / (label + '.log')}"
                )

    def watch(self, *, poll: float = 0.5) -> None:
        """Run until interrupted. A node that exits is reported and the rest keeps running
        (the hub reports it as `error`, as it would a real node going down; QA F22); the
        hub exiting ends the demo."""
        reported: set[str] = set()
        while True:
            for label, child in self.children.items():
                if label in reported or child.poll() is None:
                    continue
                log = self.logs / f"{label}.log"
                if label == "hub":
                    raise UpstreamError(f"the hub exited with code {child.returncode}; see {log}")
                reported.add(label)
                console.print(
                    f"[yellow]{label} exited with code {child.returncode}[/] (see {log}); "
                    "the hub and the other nodes keep running",
                    soft_wrap=True,  # one line: the log path stays pasteable
                )
            time.sleep(poll)

    def _wait(self, url: str, label: str) -> None:
        import httpx

        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            self._check_children()
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise UpstreamError(f"{label} did not come up at {url} within {START_TIMEOUT:.0f} s")

    def _wait_dial_out(self) -> None:
        """Wait for the demo's own dial-out nodes only: the hub may know others that someone
        registered by hand and stopped (a rerun then waited for them and failed; QA F31)."""
        waiting = [n.name for n in NODES if n.dial_out]
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            self._check_children()
            nodes = {n["name"]: n for n in hub_request("GET", f"{self.hub_url}/nodes")}
            waiting = [
                name
                for name in waiting
                if not ((nodes.get(name) or {}).get("info") or {}).get("connected")
            ]
            if not waiting:
                return
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        raise UpstreamError(
            f"dial-out node {', '.join(waiting)} did not connect to the hub within "
            f"{START_TIMEOUT:.0f} s; see {self.logs}"
        )

    def stop(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in self.children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def portal_banner(fed: Federation) -> str:
    """The first line `genomesh demo` prints: where to open the web portal."""
    return f"portal: {fed.hub_url}/  (open it in a browser: discover, apply, committee, my data)"


def _panel(fed: Federation) -> Panel:
    lines = [
        f"[bold]portal[/]      {fed.hub_url}/   (web pages, for a browser)",
        f"[bold]hub[/]         {fed.hub_url}   (Beacon network at the root: /info, /g_variants ...)",
        f"             API docs {fed.hub_url}/docs · catalogue {fed.hub_url}/catalogue",
    ]
    for node in NODES:
        url = fed.node_url(node.name)
        where = "dial-out (no open port)" if node.dial_out else f"{url}   custodian {url}/portal"
        lines.append(f"[bold]{node.name:<11}[/] {node.country}  {where}")
    lines += [
        "",
        f"admin token: {fed.root / 'hub' / 'admin.token'} · DAC admin password: "
        f"{fed.root / 'hub' / 'dac-admin-password'} · logs: {fed.logs}",
        f"custodian view: sign in with {fed.root / 'nodes' / '<node>' / 'admin.token'}",
        "CINECA UK1: CC-BY, CINECA project (EC H2020 grant 825775). Ctrl-C stops everything.",
    ]
    return Panel("\n".join(lines), title="genomesh demo federation", border_style="green")


def try_commands(fed: Federation) -> list[str]:
    """Commands to try, each on one line (printed unwrapped so they can be pasted; QA F14)."""
    hub = f" --hub {fed.hub_url}" if fed.hub_port != 8000 else ""
    return [
        f"genomesh catalogue search{hub}",
        f"genomesh catalogue search --country AU{hub}",
        f"genomesh query variant 22:16050075:A:G --assembly GRCh37{hub}",
        f"genomesh query individuals --filter HP:0001250{hub}",
        f"genomesh query individuals --filter NCIT:C16576 --granularity boolean{hub}",
        f"genomesh hub nodes{hub}",
        f"curl '{fed.hub_url}/g_variants?referenceName=22&start=16050074&alternateBases=G'",
    ]


def check_network(hub_url: str) -> dict[str, str]:
    """One network query to the demo's own nodes (`nodes=`: others registered with the same
    hub are not the demo's to check; QA F31); the nodes that did not answer, with status."""
    body = {
        "meta": {"apiVersion": "v2.1.1"},
        "query": {"filters": [{"id": "NCIT:C16576"}], "requestedGranularity": "count"},
    }
    names = [n.name for n in NODES]
    answer = hub_request(
        "POST", f"{hub_url}/individuals", json_body=body, params=[("nodes", ",".join(names))]
    )
    print_network_answer(answer, title="check: individuals --filter NCIT:C16576 (female)")
    statuses = {n["node"]: n["status"] for n in answer["info"]["network"]["nodes"]}
    return {
        name: statuses.get(name, "not asked")
        for name in names
        if statuses.get(name) not in ("ok", "refused")
    }


def run_check(fed: Federation) -> int:
    """One network query; 0 if every node answered (ok or refused by its own rules)."""
    bad = check_network(fed.hub_url)
    if bad:
        console.print(f"[red]check failed:[/] {bad}; logs in {fed.logs}")
        return 1
    console.print("[green]check passed:[/] every node answered")
    from genomesh.cli.demo_check import check_notification, check_revocation

    gb = next(n for n in NODES if n.cineca)
    seconds = check_revocation(
        fed.root / "hub",
        fed.hub_url,
        node_url=fed.node_url(gb.name),
        dataset=CINECA_ID,
        within=3 * REVOCATION_REFRESH_SECONDS + 10,
    )
    console.print(
        f"[green]check passed:[/] {gb.name} stopped honouring a revoked visa after {seconds:.1f} s"
    )
    for node in NODES:
        check_notification(fed.hub_url, fed.root / "nodes" / node.name, node.name)
    console.print("[green]check passed:[/] the hub accepts withdrawal notices signed by every node")
    return 0


@app.command("demo")
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="where data, nodes and hub live")] = Path(
        "demo"
    ),
    hub_port: Annotated[int, typer.Option(help="hub port; nodes use the ports after it")] = 8000,
    node_port: Annotated[int | None, typer.Option(help="first node port (default hub+1)")] = None,
    host: Annotated[str, typer.Option(help="loopback address to bind")] = "127.0.0.1",
    check: Annotated[bool, typer.Option(help="run one network query, then stop")] = False,
) -> None:
    """Start a local federation: hub + three nodes (NL, GB with CINECA UK1, AU dial-out)."""
    started = time.monotonic()
    root = directory.resolve()
    prepare_nodes(root)
    fed = Federation(root, host=host, hub_port=hub_port, node_port=node_port or hub_port + 1)
    code = 0
    interrupted = False

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, on_term) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with console.status("starting hub and nodes"):
            fed.start()
        print(portal_banner(fed))  # first: most people start in the browser
        console.print(_panel(fed))
        print("try:")
        for command in try_commands(fed):
            print(f"  {command}")  # plain print: never wrapped, whatever the terminal width
        console.print(f"up in {time.monotonic() - started:.1f} s")
        if check:
            code = run_check(fed)
        else:
            fed.watch()
    except KeyboardInterrupt:
        interrupted = True
    except GenomeshError:
        fed.stop()
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        with console.status("stopping"):
            fed.stop()
    if interrupted:
        console.print("stopped hub and nodes")
    if code:
        raise UpstreamError("demo check failed: a node did not answer (see the table above)")
