"""A tiny real node (ingested through genomesh.store) and gates over it with fresh state."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from genomesh.access.identity import Identity, Visa
from genomesh.core.purpose import ResearchPurpose
from genomesh.core.settings import DatasetPolicy, NodeSettings
from genomesh.gate import DatasetAccess, DatasetResult, Gate
from genomesh.node.state import NodeState
from genomesh.store import NodeStore, ingest_dataset, init_node, open_node

SAMPLES = [f"S{i}" for i in range(1, 11)]
# pos -> carriers. 100: 3 carriers (below threshold), 200: 8 carriers, 300: 1 carrier.
CARRIERS = {100: {"S1", "S2", "S3"}, 200: {f"S{i}" for i in range(1, 9)}, 300: {"S9"}}
VCF = """##fileformat=VCFv4.2
##contig=<ID=1,length=1000000>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{samples}
1\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/1\t1/1\t0/0\t0/0\t0/0\t0/0\t0/0\t0/0\t0/0
1\t200\t.\tC\tT\t.\tPASS\t.\tGT\t0/1\t0/1\t0/1\t0/1\t0/1\t0/1\t0/1\t0/1\t0/0\t0/0
1\t300\t.\tG\tA\t.\tPASS\t.\tGT\t0/0\t0/0\t0/0\t0/0\t0/0\t0/0\t0/0\t0/0\t0/1\t0/0
""".format(samples="\t".join(SAMPLES))
# S1-S6 general research use; S7-S10 disease-specific (diabetes) only.
CONSENT = "individual_id\tduo\tdiseases\tcountries\texpires\tinstitutions\tprojects\tusers\tmoratorium_until\n"
CONSENT += "".join(f"S{i}\tDUO:0000042\t\t\t\t\t\t\t\n" for i in range(1, 7))
CONSENT += "".join(f"S{i}\tDUO:0000007\tMONDO:0005015\t\t\t\t\t\t\n" for i in range(7, 11))

# The exposure account these tests were written against: the beacon-frequency charge and no
# drawn line. The defaults (expected charge, line drawn from 4..8) never answer an allele of
# three carriers at the open tiers, which is what many tests below ask about; they test other
# rules. The defaults themselves: tests/gate/test_exposure_line.py, test_privacy_model.py.
PLAIN_EXPOSURE: dict[str, Any] = {"exposure_charge": "beacon_frequency", "exposure_line_max": 0}


def plain(**fields: Any) -> DatasetPolicy:
    """A dataset policy with the plain exposure account (see PLAIN_EXPOSURE)."""
    return DatasetPolicy(**{**PLAIN_EXPOSURE, **fields})


PLAIN = {"cohort": plain()}

GENERAL = ResearchPurpose(category="general", institution="Uni", country="GB")
ISSUER = "https://hub.example"


@pytest.fixture(scope="session")
def node_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gate-node")
    (root / "in.vcf").write_text(VCF)
    (root / "consent.tsv").write_text(CONSENT)
    node = root / "node"
    init_node(node, name="gate-test-node", jurisdiction="GB")
    ingest_dataset(
        node, "cohort", vcf=root / "in.vcf", consent=root / "consent.tsv", assembly="GRCh38"
    )
    ingest_dataset(node, "noterms", vcf=root / "in.vcf", assembly="GRCh38")
    return node


@pytest.fixture
def make_gate(node_dir: Path, tmp_path: Path) -> Iterator[Callable[..., Gate]]:
    states: list[NodeState] = []

    def make(**overrides: Any) -> Gate:
        settings = NodeSettings.load(
            node_dir, state_url=f"sqlite:///{tmp_path / 'state.sqlite'}", **overrides
        )
        state = NodeState.open(settings)
        states.append(state)
        return Gate(settings=settings, node=open_node(node_dir), state=state)

    yield make
    for s in states:
        s.close()


@pytest.fixture
def gate(make_gate: Callable[..., Gate]) -> Gate:
    return make_gate()


def anonymous(address: str = "10.0.0.1") -> Identity:
    return Identity(client_address=address)


def _visa(kind: str, value: str) -> Visa:
    return Visa(
        type=kind, value=value, source=ISSUER, by="dac", asserted=0, issuer=ISSUER, expires=2**31
    )


def researcher(subject: str = "alice") -> Identity:
    visas = (
        _visa("ResearcherStatus", "https://doi.org/10.1038/s41431-018-0219-y"),
        _visa("AcceptedTermsAndPolicies", "terms"),
    )
    return Identity(tier="registered", subject=subject, issuer=ISSUER, visas=visas)


def controlled(
    subject: str = "carol",
    *,
    datasets: tuple[str, ...] = ("cohort",),
    purpose: ResearchPurpose | None = GENERAL,
) -> Identity:
    visas = (
        _visa("ResearcherStatus", "https://doi.org/10.1038/s41431-018-0219-y"),
        *(_visa("ControlledAccessGrants", f"https://node.example/datasets/{d}") for d in datasets),
    )
    return Identity(
        tier="controlled",
        subject=subject,
        issuer=ISSUER,
        visas=visas,
        controlled_datasets=frozenset(datasets),
        purpose=purpose,
    )


def carriers_at(
    node: NodeStore, pos: int
) -> Callable[[Sequence[DatasetAccess]], list[DatasetResult]]:
    """A minimal surface: individuals carrying the variant at chr1:pos, among those allowed."""

    def execute(accesses: Sequence[DatasetAccess]) -> list[DatasetResult]:
        out = []
        for a in accesses:
            ds = node.dataset(a.dataset_id)
            con = ds.connect()
            row = con.execute(
                "SELECT variant_index FROM variants WHERE chrom = '1' AND pos = ?", [pos]
            ).fetchone()
            con.close()
            found = set() if row is None else {i for i, _ in ds.carriers(int(row[0]))}
            mine = found & a.allowed_individuals
            records = (
                [{"individual_id": i} for i in sorted(mine)] if a.granularity == "record" else []
            )
            out.append(
                DatasetResult(a.dataset_id, count=len(mine), records=records, contributors=mine)
            )
        return out

    return execute


def everyone_but(
    node: NodeStore, excluded: set[str]
) -> Callable[[Sequence[DatasetAccess]], list[DatasetResult]]:
    """An `/individuals`-like surface: the allowed individuals minus some (a filter)."""

    def execute(accesses: Sequence[DatasetAccess]) -> list[DatasetResult]:
        return [
            DatasetResult(
                a.dataset_id,
                count=len(a.allowed_individuals - excluded),
                contributors=set(a.allowed_individuals - excluded),
            )
            for a in accesses
        ]

    return execute
