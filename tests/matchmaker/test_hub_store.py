"""The hub matchmaker's store (peers, pairs, notifications): one contract, SQLite and
PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from genomesh.core.errors import ConflictError, InvalidInputError, NotFoundError
from genomesh.hub.matchmaker.store import MatchmakerStore, Side, pair_key
from tests.audit.pg import postgres_database

MSG = "{own} via {own_source} matches {other} via {other_source}; contact {other_contact}"
QUERY = Side("peer:clinic", "Q1", {"name": "Dr Q", "href": "mailto:Dr.Q@clinic.example"})
A = Side("node:au", "P7", {"name": "Genetics AU", "href": "mailto:gen@au.example"})
B = Side("peer:mme-x", "X2", {"name": "Dr X", "href": "https://mme-x.example/contact"})


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_database("genomesh_hub_mme") as url:
        yield url


@pytest.fixture(
    params=[
        "sqlite-file",
        pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.slow]),
    ]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MatchmakerStore]:
    url = (
        f"sqlite:///{tmp_path / 'hub.sqlite'}"
        if request.param == "sqlite-file"
        else request.getfixturevalue("postgres_url")
    )
    engine = create_engine(url)
    try:
        yield MatchmakerStore(engine)
    finally:
        if request.param == "postgresql":
            with engine.begin() as conn:
                for table in ("hub_mme_notifications", "hub_mme_matches", "hub_mme_peers"):
                    conn.execute(text(f"DELETE FROM {table}"))
        engine.dispose()


def test_store__pairs_are_recorded_once_whichever_side_asks(store: MatchmakerStore) -> None:
    assert store.record_many(QUERY, [(A, 0.9, MSG), (B, 0.5, MSG)]) == 2
    assert store.record_many(QUERY, [(A, 0.9, MSG)]) == 0
    assert pair_key(A, QUERY) == pair_key(QUERY, A)
    assert store.record(A, QUERY, score=0.9, message=MSG) is False  # the other way round
    pairs = {p["match"]["patient"]: p for p in store.matches()}
    assert pairs["P7"]["times"] == 3 and pairs["X2"]["times"] == 1
    notes = store.notifications()
    assert len(notes) == 4  # two pairs, two submitters each
    mine = store.notifications(recipients=["mailto:dr.q@clinic.example"])
    assert {n["patient"] for n in mine} == {"Q1"} and len(mine) == 2
    au = store.notifications(via="node:au")
    assert len(au) == 1 and au[0]["message"] == (
        "P7 via node:au matches Q1 via peer:clinic; contact Dr Q, mailto:Dr.Q@clinic.example"
    )
    assert store.notifications(recipients=["https://mme-x.example/contact"])[0]["patient"] == "X2"


def test_store__concurrent_answers_notify_once(store: MatchmakerStore) -> None:
    results: list[int] = []
    barrier = threading.Barrier(4)

    def answer() -> None:
        barrier.wait()
        results.append(store.record_many(QUERY, [(A, 0.9, MSG)]))

    threads = [threading.Thread(target=answer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 0, 0, 1]
    assert len(store.notifications()) == 2
    assert store.matches()[0]["times"] == 4


def test_store__peers(store: MatchmakerStore) -> None:
    token = store.add_peer("clinic-b", contact="x@y.z")
    assert token and store.peer_for_token(token) == "clinic-b"
    assert store.peer_for_token(token + "x") is None
    assert (
        store.add_peer("mme-x", base_url="https://mme.example/", token="t", inbound=False) is None
    )
    assert [(p.name, p.base_url) for p, _ in store.outbound()] == [("mme-x", "https://mme.example")]
    assert [t for _, t in store.outbound()] == ["t"]
    with pytest.raises(ConflictError, match="exists"):
        store.add_peer("clinic-b")
    with pytest.raises(InvalidInputError, match="X-Auth-Token it issued"):
        store.add_peer("y", base_url="https://y.example")
    with pytest.raises(InvalidInputError, match="inbound access, or both"):
        store.add_peer("z", inbound=False)
    store.remove_peer("clinic-b")
    assert store.peer_for_token(token) is None
    with pytest.raises(NotFoundError):
        store.remove_peer("clinic-b")
