"""A real node holding the 50 MME benchmark patients as individuals, served on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from genomesh.core.settings import NodeSettings
from genomesh.matchmaker.registry import CONSENT_STATEMENT, MatchmakerRegistry
from genomesh.store import ingest_dataset, init_node
from tests.gate.serve import serve_node

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "mme"
BENCHMARK = REFERENCE / "testing" / "benchmark_patients.json"
FHS = REFERENCE / "testing" / "fhs.json"
NO_START = {"P0001017", "P0001018"}  # the two benchmark records whose variant lacks `start`
MME = "application/vnd.ga4gh.matchmaker.v1.1+json"


def benchmark() -> list[dict[str, Any]]:
    return json.loads(BENCHMARK.read_text())


def _vcf(samples: list[str]) -> str:
    header = (
        "##fileformat=VCFv4.2\n##contig=<ID=1,length=1000000>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples) + "\n"
    )
    row = "1\t100\t.\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join("0/1" for _ in samples) + "\n"
    return header + row


@pytest.fixture(scope="session")
def mme_node(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Node `rare`, dataset `mme`: the benchmark (test data) and FHS (as real) patients enrolled."""
    root = tmp_path_factory.mktemp("mme-node")
    patients = benchmark()
    fhs = json.loads(FHS.read_text())
    # the FHS set stands in for real patients here; the benchmark is test data (`test: true`)
    fhs_patients = [{k: v for k, v in p.items() if k != "test"} for p in fhs]
    ids = [p["id"] for p in patients] + [p["id"] for p in fhs_patients] + ["GONE1"]
    (root / "in.vcf").write_text(_vcf(ids))
    (root / "people.tsv").write_text(
        "individual_id\tsex\n" + "".join(f"{i}\tunknown\n" for i in ids)
    )
    (root / "consent.tsv").write_text(
        "individual_id\tduo\n" + "".join(f"{i}\tDUO:0000042\n" for i in ids)
    )
    node = root / "node"
    init_node(node, name="rare", jurisdiction="GB")
    ingest_dataset(
        node, "mme", vcf=root / "in.vcf", individuals=root / "people.tsv",
        consent=root / "consent.tsv", assembly="GRCh37",
    )  # fmt: skip
    registry = MatchmakerRegistry(node)
    known = frozenset(ids)
    valid = [p for p in patients if p["id"] not in NO_START]
    registry.enrol(valid, dataset_id="mme", known_individuals=known, consent=CONSENT_STATEMENT)
    registry.enrol(
        fhs_patients, dataset_id="mme", known_individuals=known, consent=CONSENT_STATEMENT
    )
    return node


@pytest.fixture
def served(mme_node: Path, tmp_path: Path) -> Iterator[tuple[httpx.Client, Any, str]]:
    """The node served by uvicorn with fresh state; yields (client, app, peer token)."""
    registry = MatchmakerRegistry(mme_node)
    name = f"peer-{tmp_path.name}"[-60:]
    token = registry.add_peer(name)
    settings = NodeSettings.load(mme_node, state_url=f"sqlite:///{tmp_path / 'state.sqlite'}")
    try:
        with serve_node(settings) as (client, app):
            yield client, app, token
    finally:
        registry.remove_peer(name)


def post_match(client: httpx.Client, token: str, body: Any, **headers: str) -> httpx.Response:
    send = {"Content-Type": MME, "X-Auth-Token": token, **headers}
    content = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post("/match", content=content, headers=send)
