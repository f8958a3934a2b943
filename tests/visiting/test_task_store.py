"""Analysis tasks in the hub's database: one contract, on SQLite and on PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson
import pytest

from genomesh.core.errors import NotFoundError
from genomesh.hub.analysis.tasks import TaskStore, dump_result, dump_state, load_state
from genomesh.hub.registry import HubStore
from tests.audit.pg import create_database, postgres_server, require_postgres

_counter = itertools.count()


@pytest.fixture(scope="module")
def postgres_admin_url() -> Iterator[str]:
    require_postgres()
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TaskStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    else:
        admin = request.getfixturevalue("postgres_admin_url")
        url = create_database(admin, f"genomesh_tasks_{next(_counter)}")
    hub = HubStore(url, hub_dir=tmp_path)
    yield TaskStore(hub.engine)
    hub.close()


def _create(store: TaskStore, submitter: str = "iss|rita") -> str:
    return store.create(
        analysis="cohort-summary",
        params={"age_bands": [18, 65]},
        nodes={"nl-a": ["ds1"], "nl-b": ["ds2", "ds3"]},
        submitter=submitter,
        claims={"sub": "rita", "jti": "j1", "exp": 2_000_000_000},
    ).id


def test_tasks__create_update_and_read_back(store: TaskStore) -> None:
    task_id = _create(store)
    task = store.get(task_id)
    assert task.state == "queued" and task.rounds_done == 0
    assert task.public()["datasets"] == ["nl-a/ds1", "nl-b/ds2", "nl-b/ds3"]
    assert "claims" not in task.public()
    state = {"sums": np.array([2**62 + 1, -3], dtype=np.int64), "x": np.arange(3.0) / 7}
    assert store.update(task_id, state="running", hub_state=state, rounds_done=1, rounds_expected=3)
    store.set_node_status(task_id, "nl-a", {"status": "done", "round": 0})
    task = store.get(task_id)
    assert task.state == "running" and task.public()["progress"]["fraction"] == pytest.approx(
        1 / 3, abs=1e-4
    )
    assert task.hub_state["sums"].tolist() == [2**62 + 1, -3]  # exact, not via float
    assert task.hub_state["x"].tobytes() == (np.arange(3.0) / 7).tobytes()
    assert task.node_status["nl-a"] == {"status": "done", "round": 0}
    assert task.node_status["nl-b"] == {"status": "queued"}
    assert [t.id for t in store.list(submitter="iss|rita")] == [task_id]
    assert store.list(submitter="iss|other") == []
    assert [t.id for t in store.list(states=("running",))] == [task_id]


def test_tasks__a_finished_task_does_not_change(store: TaskStore) -> None:
    task_id = _create(store)
    assert store.update(task_id, state="cancelled", reason="cancelled by the submitter")
    # a round finishing late must not bring a cancelled task back (compare-and-set)
    assert not store.update(task_id, state="done", result={"rows": []})
    task = store.get(task_id)
    assert task.state == "cancelled" and task.result is None


def test_tasks__unknown_id_is_not_found(store: TaskStore) -> None:
    with pytest.raises(NotFoundError, match="no analysis 'nope'"):
        store.get("nope")


def test_state__round_trips_nested_arrays_and_scalars() -> None:
    state = {"a": [np.uint64(2**64 - 1), np.float64(0.1)], "m": {"k": np.eye(2, dtype=np.float32)}}
    back = load_state(dump_state(state))
    assert back["a"] == [2**64 - 1, 0.1]
    assert back["m"]["k"].dtype == np.float32 and back["m"]["k"].tolist() == [[1, 0], [0, 1]]


def test_result_body__the_stored_text_is_served_with_the_extra_keys() -> None:
    from genomesh.hub.analysis.routes import _splice

    extra = {"stale": None, "rerun_of": {"task": "t1"}}
    result = {"rows": [{"P": float("nan"), "ID": "rs1"}], "columns": ["ID", "P"]}
    body = _splice(dump_state(result), extra)
    assert body is not None
    assert orjson.loads(body) == {"rows": [{"P": None, "ID": "rs1"}], "columns": ["ID", "P"],
                                  **extra}  # fmt: skip
    assert orjson.loads(_splice("{}", extra) or b"") == extra
    # what cannot be served as stored is left to the general path
    assert _splice(dump_state({"a": np.arange(2)}), extra) is None  # a stored array
    assert _splice('{"x": NaN}', extra) is None  # the standard library's NaN
    assert _splice(dump_state({"stale": 1}), extra) is None  # the key is there already
    assert _splice(None, extra) is None


def test_result__stored_as_served() -> None:
    result = {"rows": [{"P": np.float64("nan"), "N": np.int64(3)}], "x": np.arange(2),
              "stale": "not stored: the route adds it"}  # fmt: skip
    assert orjson.loads(dump_result(result)) == {"rows": [{"P": None, "N": 3}], "x": [0, 1]}
    beyond = {"sum": 2**70, "v": float("inf")}  # orjson refuses the integer: the fallback
    assert orjson.loads(dump_result(beyond)) == {"sum": 2**70, "v": None}
