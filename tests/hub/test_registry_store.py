"""The hub's registry + catalogue store: one contract on SQLite (file, memory) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from genomesh.core.errors import ConflictError, InvalidInputError, NotFoundError
from genomesh.hub.catalogue import search_catalogue
from genomesh.hub.registry import HubStore, NodeCreate
from genomesh.hub.signing import public_key_text
from tests.audit.pg import postgres_database


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_database("genomesh_hub") as url:
        yield url


@pytest.fixture(
    params=[
        "sqlite-file",
        "sqlite-memory",
        pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.slow]),
    ]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HubStore]:
    url = {
        "sqlite-file": f"sqlite:///{tmp_path / 'hub.sqlite'}",
        "sqlite-memory": "sqlite://",
    }.get(request.param) or request.getfixturevalue("postgres_url")
    hub = HubStore(url, hub_dir=tmp_path)
    try:
        yield hub
    finally:
        if request.param == "postgresql":
            with hub.engine.begin() as conn:
                conn.execute(text("DELETE FROM hub_catalogue"))
                conn.execute(text("DELETE FROM hub_nodes"))
        hub.close()


def test_registry_store__nodes_and_catalogue_round_trip(store: HubStore) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = public_key_text(Ed25519PrivateKey.generate())
    store.add_node(NodeCreate(name="nl-umc", base_url="http://127.0.0.1:8001/", country="nl"))
    store.add_node(NodeCreate(name="au-rd", base_url="dial-out", country="AU", public_key=key))
    with pytest.raises(ConflictError, match="already registered"):
        store.add_node(NodeCreate(name="au-rd", base_url="dial-out", country="AU", public_key=key))

    nodes = {n.name: n for n in store.nodes()}
    assert nodes["nl-umc"].base_url == "http://127.0.0.1:8001" and nodes["nl-umc"].country == "NL"
    assert nodes["au-rd"].dial_out and nodes["au-rd"].base_url is None
    assert [n.name for n in store.select_nodes(["nl-umc"])] == ["nl-umc"]
    with pytest.raises(InvalidInputError, match="unknown node"):
        store.select_nodes(["nl-umc", "nowhere"])

    entry = {"datasetId": "au-rd-epilepsy", "node": "au-rd", "name": "Épilepsie — 発作",
             "duo": [{"id": "DUO:0000007", "label": "disease specific research"}],
             "country": "AU", "jurisdiction": "AU", "phenotypes": ["HP:0001250"]}  # fmt: skip
    store.replace_catalogue("au-rd", [entry], info={"response": {"id": "org.au"}})
    [stored] = store.catalogue()
    assert stored["name"] == "Épilepsie — 発作" and stored["duo"] == entry["duo"]
    assert store.catalogue_size() == 1
    assert store.node("au-rd").last_sync is not None
    assert store.node("au-rd").info == {"response": {"id": "org.au"}}
    assert search_catalogue(store.catalogue(), duo="DUO:0000007", country="au") == [stored]

    store.record_sync_error("au-rd", "au-rd /info: timeout")
    assert store.node("au-rd").last_sync_error == "au-rd /info: timeout"
    store.replace_node(
        NodeCreate(name="nl-umc", base_url="http://127.0.0.1:9001", country="NL", contact="x@y")
    )
    assert store.node("nl-umc").base_url == "http://127.0.0.1:9001"  # cache dropped on write

    store.remove_node("au-rd")
    assert store.catalogue() == [] and [n.name for n in store.nodes()] == ["nl-umc"]
    with pytest.raises(NotFoundError, match="no node named 'au-rd'"):
        store.node("au-rd")


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"name": "bad name", "base_url": "http://x", "country": "NL"}, "letters, digits"),
        ({"name": "n", "base_url": "ftp://x", "country": "NL"}, "http"),
        ({"name": "n", "base_url": "http://x", "country": "NLD"}, "alpha-2"),
        ({"name": "n", "base_url": "dial-out", "country": "NL"}, "public_key"),
        ({"name": "n", "base_url": "dial-out", "country": "NL", "public_key": "abc"}, "Ed25519"),
    ],
)
def test_registry_store__bad_node_is_refused_naming_the_field(
    fields: dict[str, str], problem: str
) -> None:
    with pytest.raises((ValidationError, InvalidInputError), match=problem):
        NodeCreate(**fields)


def test_registry__a_hub_database_from_before_node_audiences_is_upgraded(tmp_path: Path) -> None:
    """QA F23 added `hub_nodes.audience`; a hub (e.g. `genomesh demo` rerun) reusing its old
    database gets the column, and the nodes registered before keep their default audience."""
    import sqlite3

    path = tmp_path / "hub.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE hub_nodes (name VARCHAR(64) PRIMARY KEY, base_url VARCHAR(512), "
            "dial_out BOOLEAN NOT NULL, country VARCHAR(2) NOT NULL, contact VARCHAR(256) "
            "NOT NULL, public_key TEXT, created DATETIME NOT NULL, last_sync DATETIME, "
            "last_sync_error TEXT, node_info JSON)"
        )
        db.execute(
            "INSERT INTO hub_nodes VALUES ('old', 'http://127.0.0.1:9', 0, 'NL', '', NULL, "
            "'2026-01-01 00:00:00', NULL, NULL, NULL)"
        )
    store = HubStore(f"sqlite:///{path}")
    try:
        assert store.node("old").audience is None
        store.add_node(NodeCreate(name="new", base_url="http://127.0.0.1:10", country="NL",
                                  audience="urn:genomesh:node:new"))  # fmt: skip
        assert store.node("new").audience == "urn:genomesh:node:new"
    finally:
        store.close()
    HubStore(f"sqlite:///{path}").close()  # opening it again changes nothing
