"""Fixtures for the store tests: node folders, tiny VCFs written on the fly, reference paths."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from genomesh.store import NodeStore, init_node

HEADER = """##fileformat=VCFv4.2
##reference=GRCh38
##contig=<ID=1,length=248956422>
##contig=<ID=2,length=242193529>
##contig=<ID=X,length=156040895>
##INFO=<ID=END,Number=1,Type=Integer,Description="End">
##INFO=<ID=SVTYPE,Number=1,Type=String,Description="SV type">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
"""


def write_vcf(path: Path, records: list[str], *, samples=("S1", "S2", "S3"), header=HEADER) -> Path:
    """A small VCF; records are tab-separated strings without the trailing newline."""
    cols = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples)
    text = header + cols + "\n" + "".join(r + "\n" for r in records)
    if path.suffix == ".gz":
        plain = path.with_suffix("")
        plain.write_text(text)
        subprocess.run(["bgzip", "-f", str(plain)], check=True)
    else:
        path.write_text(text)
    return path


def rec(chrom, pos, ref, alt, *gts, info=".", vid="."):
    return "\t".join([str(chrom), str(pos), vid, ref, alt, ".", "PASS", info, "GT", *gts])


@pytest.fixture()
def node(tmp_path: Path) -> NodeStore:
    return init_node(tmp_path / "node", name="Test node", jurisdiction="GB")


@pytest.fixture(scope="session")
def cineca(reference: Path) -> Path:
    return reference / "beacon-testdata" / "cineca_uk1"


@pytest.fixture(scope="session")
def synthetic_vcf(reference: Path) -> Path:
    return (
        reference / "beacon-testdata" / "synthetic" / "synthetic_usecases_4beacon_testingV4.vcf.gz"
    )


@pytest.fixture(scope="session")
def cineca_node(tmp_path_factory: pytest.TempPathFactory, cineca: Path) -> NodeStore:
    """One CINECA UK1 ingest shared by the tests that only read it."""
    from genomesh.store import cineca_attribution, ingest_dataset

    path = tmp_path_factory.mktemp("cineca") / "node"
    node = init_node(path, name="CINECA node", jurisdiction="GB")
    ingest_dataset(
        path,
        "CINECA_synthetic_cohort_EUROPE_UK1",
        vcf=cineca / "vcf" / "chr22.cineca_uk1.5002.annotated.vcf.gz",
        individuals=cineca / "bff" / "individuals.json",
        duo=None,
        consent=None,
        attribution=cineca_attribution(),  # the custodian states the credits (issue 10)
    )
    return node
