"""The node's secure-round records: one contract on SQLite (two workers on one file), in
memory and PostgreSQL; keys derived alike by every worker, never stored."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from genomesh.analysis.gwas.secure_keys import SECRET_FILE, NodeSecrets, RoundRecords
from tests.audit.pg import postgres_database, require_postgres


@pytest.fixture(params=["sqlite-file", "memory", "postgresql"])
def two_workers(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], RoundRecords]]:
    """A factory of record stores that share one database (a worker each)."""
    if request.param == "memory":
        one = RoundRecords.from_url("sqlite://")
        yield lambda: one
    elif request.param == "sqlite-file":
        url = f"sqlite:///{tmp_path / 'records.sqlite'}"
        yield lambda: RoundRecords.from_url(url)
    else:
        require_postgres()
        with postgres_database("genomesh_secagg") as url:
            yield lambda: RoundRecords.from_url(url)


def test_records__first_value_wins_for_every_worker(two_workers) -> None:
    a, b = two_workers(), two_workers()
    nonce = a.nonce("t1", "node-1")
    assert len(nonce) == 32 and b.nonce("t1", "node-1") == nonce
    assert a.nonce("t1", "node-2") != nonce and a.nonce("t2", "node-1") != nonce
    assert a.pin("t1", "node-1", "round:4", "digest-1") == "digest-1"
    assert b.pin("t1", "node-1", "round:4", "digest-2") == "digest-1"
    assert b.get("t1", "node-1", "round:4") == "digest-1" and b.get("t1", "node-1", "x") is None
    assert a.reveal("t1", "node-1", "node-3|stats", "self", 5) == "self"
    assert b.reveal("t1", "node-1", "node-3|stats", "pair", 6) == "self"


def test_records__pruned_after_the_retention(two_workers) -> None:
    records = two_workers()
    old = records.nonce("old-task", "node-1")
    records.pin("old-task", "node-1", "round:1", "d")
    time.sleep(0.05)
    records.prune(older_than=0.01)
    assert records.get("old-task", "node-1", "round:1") is None
    assert records.nonce("old-task", "node-1") != old  # a new nonce: other keys


def test_keys__derived_alike_by_two_workers_of_one_node_folder(tmp_path: Path) -> None:
    one, two = NodeSecrets.at(tmp_path), NodeSecrets.at(tmp_path)  # two processes' views
    assert one.public_hex("t", "p", "mask|stats") == two.public_hex("t", "p", "mask|stats")
    assert one.public_hex("t", "p", "mask|stats") != one.public_hex("t", "p", "mask|flags")
    assert one.derive("t", "p", "self|stats") == two.derive("t", "p", "self|stats")
    other = NodeSecrets.at(tmp_path / "other-node")
    assert other.public_hex("t", "p", "mask|stats") != one.public_hex("t", "p", "mask|stats")
    assert (tmp_path / SECRET_FILE).stat().st_mode & 0o777 == 0o600
