"""The hub's per-caller budget in the hub database: one contract on SQLite and PostgreSQL,
workers sharing it, and a restart (issue 13, "survives a restart and two workers")."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from genomesh.core.errors import BudgetExhaustedError
from genomesh.hub.callers import CallerBudget, caller_key, charges_table
from genomesh.hub.registry import HubStore
from tests.audit.pg import postgres_database
from tests.hub.conftest import start_hub

BACKENDS = [
    "sqlite-file",
    "sqlite-memory",
    pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.slow]),
]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_database("genomesh_hub_callers") as url:
        yield url


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgresql":
        db = request.getfixturevalue("postgres_url")
        yield db
        engine = create_engine(db)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM hub_caller_charges"))
            conn.execute(text("DELETE FROM hub_callers"))
        engine.dispose()
        return
    yield {"sqlite-file": f"sqlite:///{tmp_path / 'hub.sqlite'}", "sqlite-memory": "sqlite://"}[
        request.param
    ]


def _budget(store: HubStore, limit: int = 3, window: float = 100.0) -> CallerBudget:
    return CallerBudget(store.engine, limit, window, [])


def test_caller_budget__a_sliding_window_per_caller(url: str, tmp_path: Path) -> None:
    store = HubStore(url, hub_dir=tmp_path)
    try:
        budget = _budget(store)
        assert [budget.charge("address:203.0.113.1", now=t) for t in (1000, 1010, 1020)] == [
            1, 2, 3,
        ]  # fmt: skip
        with pytest.raises(BudgetExhaustedError, match="3 network queries per 100 s"):
            budget.charge("address:203.0.113.1", now=1030)
        assert budget.charge("address:203.0.113.2", now=1030) == 1  # another caller
        assert budget.used("address:203.0.113.1", now=1030) == 3  # the refusal was not charged
        # the first charge (t=1000) leaves the window at t=1100: one more query then
        assert budget.charge("address:203.0.113.1", now=1100.5) == 3
        with pytest.raises(BudgetExhaustedError):
            budget.charge("address:203.0.113.1", now=1101)
    finally:
        store.close()


def test_caller_budget__long_names_and_pruning(url: str, tmp_path: Path) -> None:
    store = HubStore(url, hub_dir=tmp_path)
    try:
        budget = _budget(store, limit=1)
        issuer = "https://issuer.example/" + "x" * 400
        long_a, long_b = f"subject:{issuer}|alice", f"subject:{issuer}|bob"
        assert caller_key(long_a) != caller_key(long_b) and len(caller_key(long_a)) < 255
        assert budget.charge(long_a, now=1000) == 1
        assert budget.charge(long_b, now=1000) == 1
        with pytest.raises(BudgetExhaustedError):
            budget.charge(long_a, now=1001)
        budget.prune(now=1200)  # every charge is out of the window
        with store.engine.connect() as conn:
            assert conn.execute(select(charges_table)).all() == []
        assert budget.charge(long_a, now=1200) == 1
    finally:
        store.close()


@pytest.mark.parametrize("backend", ["sqlite-file", pytest.param("postgresql", marks=[
    pytest.mark.postgres, pytest.mark.slow])])  # fmt: skip
def test_caller_budget__two_workers_on_one_database_keep_the_limit_exactly(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Two stores (as two hub processes would have) charge one caller from 12 threads at
    once: exactly `limit` queries get through, whoever asks."""
    url = (
        f"sqlite:///{tmp_path / 'hub.sqlite'}"
        if backend == "sqlite-file"
        else request.getfixturevalue("postgres_url")
    )
    stores = [HubStore(url, hub_dir=tmp_path) for _ in range(2)]
    try:
        budgets = [_budget(s, limit=5, window=3600) for s in stores]
        outcomes: list[str] = []
        start = threading.Barrier(12)

        def one(i: int) -> None:
            start.wait()
            try:
                budgets[i % 2].charge("address:198.51.100.9", now=5000.0 + i)
                outcomes.append("ok")
            except BudgetExhaustedError:
                outcomes.append("429")

        threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["429"] * 7 + ["ok"] * 5
        assert budgets[1].used("address:198.51.100.9", now=5100) == 5
    finally:
        if backend == "postgresql":
            with stores[0].engine.begin() as conn:
                conn.execute(text("DELETE FROM hub_caller_charges"))
                conn.execute(text("DELETE FROM hub_callers"))
        for s in stores:
            s.close()


def test_hub__the_budget_survives_a_restart_and_is_shared_by_two_hubs(tmp_path: Path) -> None:
    """Two hub apps on one database (two workers), then a restarted one: the caller's budget
    of 2 is spent across them; another caller is not affected."""
    options = {"trusted_proxies": ["127.0.0.1"], "caller_budget": 2}
    first, second = start_hub(tmp_path, **options), start_hub(tmp_path, **options)
    one = {"x-forwarded-for": "203.0.113.7"}
    try:
        with first.client() as a, second.client() as b:
            assert a.get("/g_variants", headers=one).status_code == 200
            assert b.get("/g_variants", headers=one).status_code == 200
            refused = a.get("/g_variants", headers=one)
            assert refused.status_code == 429 and "budget spent" in refused.text
            assert b.get("/g_variants", headers=one).status_code == 429
    finally:
        first.server.stop()
        second.server.stop()
    restarted = start_hub(tmp_path, **options)
    try:
        with restarted.client() as c:
            assert c.get("/g_variants", headers=one).status_code == 429
            other = {"x-forwarded-for": "203.0.113.8"}
            assert c.get("/g_variants", headers=other).status_code == 200
    finally:
        restarted.server.stop()


def test_caller_budget__a_frequent_caller_is_charged_from_a_lease(url: str, tmp_path: Path) -> None:
    """A caller asking many times a second gets charges reserved in bulk (one transaction per
    lease, not per query); the database never counts fewer than were answered, and the
    unused reserved charges are deleted when the lease expires or is released."""
    store = HubStore(url, hub_dir=tmp_path)
    try:
        budget = _budget(store, limit=10_000, window=3600)
        caller = "address:192.0.2.5"
        for i in range(300):
            budget.charge(caller, now=1000 + i * 0.001)
        reserved = budget.used(caller, now=1001)
        assert 300 < reserved <= 300 + 255  # a lease is open: reserved charges count already
        assert budget.take(caller, now=1000.4) is not None  # the 301st, from the lease
        # the lease expires; the next visit deletes what it did not hand out
        assert budget.charge(caller, now=1020) == 302
        assert budget.used(caller, now=1020) == 302
        for i in range(100):
            budget.charge(caller, now=1021 + i * 0.001)
        budget.release()  # as the hub does on shutdown
        assert budget.used(caller, now=1022) == 402
    finally:
        store.close()


def test_caller_budget__leases_of_two_workers_never_pass_the_limit(
    url: str, tmp_path: Path
) -> None:
    """Two workers charging one caller in turn, many times a second: exactly `limit` queries
    are answered in all (leases shrink near the limit), and the caller is refused after."""
    if url == "sqlite://":
        pytest.skip("two stores share no in-memory database")
    stores = [HubStore(url, hub_dir=tmp_path) for _ in range(2)]
    try:
        budgets = [_budget(s, limit=500, window=3600) for s in stores]
        caller = "address:192.0.2.6"
        answered = 0
        for i in range(1200):
            try:
                budgets[i % 2].charge(caller, now=2000 + i * 0.0005)
                answered += 1
            except BudgetExhaustedError:
                pass
        assert answered == 500
        assert budgets[0].used(caller, now=2001) == 500
    finally:
        for s in stores:
            s.close()
