"""Fixtures: one CINECA UK1 node (ingested once per session) served over loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from genomesh.store import NodeStore, ingest_dataset, init_node
from tests.beacon.helpers import CINECA_ID, open_settings, serve


@pytest.fixture(scope="session")
def cineca(reference: Path) -> Path:
    return reference / "beacon-testdata" / "cineca_uk1"


@pytest.fixture(scope="session")
def cineca_node(tmp_path_factory: pytest.TempPathFactory, cineca: Path) -> NodeStore:
    path = tmp_path_factory.mktemp("beacon-cineca") / "node"
    node = init_node(path, name="CINECA node", jurisdiction="GB")
    ingest_dataset(
        path,
        CINECA_ID,
        vcf=cineca / "vcf" / "chr22.cineca_uk1.5002.annotated.vcf.gz",
        individuals=cineca / "bff" / "individuals.json",
    )
    return node


@pytest.fixture(scope="session")
def client(cineca_node: NodeStore) -> Iterator[httpx.Client]:
    """The CINECA node with an open policy (anyone gets records, no small-count suppression)."""
    with serve(open_settings(cineca_node.path)) as c:
        yield c
