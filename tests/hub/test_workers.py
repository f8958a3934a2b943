"""Several hub workers on one database: dial-out, nonces and revocation hold across them.

Two hub apps on one hub folder (one SQLite database in WAL mode) stand for two workers;
the last test runs a real `genomesh hub serve --workers 2`.
"""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine

from genomesh.hub.registry import HubStore
from genomesh.hub.shared import read_version
from genomesh.node.dialout import DialoutClient, node_key, parse_public_key, sign_for_hub
from genomesh.node.dialout import public_key_text as node_public_key_text
from tests.hub.conftest import RunningHub, start_hub
from tests.hub.standin import free_port, standin_app
from tests.hub.test_dialout import dialing_out

QUERY = {"referenceName": "22", "start": "1"}


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[RunningHub, RunningHub]]:
    """Workers A and B: two hub apps, each in its own server thread, on one hub folder."""
    a = start_hub(tmp_path)
    b = start_hub(tmp_path)
    try:
        yield a, b
    finally:
        a.server.stop()
        b.server.stop()


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    from tests.audit.pg import postgres_database

    with postgres_database("genomesh_hub_workers") as url:
        yield url


def test_workers__on_postgresql_dialout_relay_and_replays_hold_across_workers(
    tmp_path: Path, postgres_url: str
) -> None:
    a = start_hub(tmp_path, state_url=postgres_url)
    b = start_hub(tmp_path, state_url=postgres_url)
    try:
        client = _dial_out(a, tmp_path, "au-dial")
        a.register("au-dial", "dial-out", "AU", public_key=node_public_key_text(client.key))
        with dialing_out(client), b.client() as http:
            body = http.get("/g_variants", params=QUERY).json()
        [report] = body["info"]["network"]["nodes"]
        assert report["status"] == "ok", report
        poll = sign_for_hub({"type": "poll", "wait": 0}, client.key, name="au-dial")
        with a.client() as at_a, b.client() as at_b:
            assert at_a.post("/dialout/poll", json=poll).status_code == 200
            replay = at_b.post("/dialout/poll", json=poll)
        assert replay.status_code == 401 and "replayed" in replay.text
    finally:
        a.server.stop()
        b.server.stop()


def _dial_out(worker: RunningHub, node_dir: Path, name: str) -> DialoutClient:
    hub_key = (worker.hub_dir / "hub_ed25519.pem").read_bytes()
    assert hub_key  # one key for both workers: they share the folder
    from genomesh.hub.signing import load_or_create_key, public_key_text

    return DialoutClient(
        standin_app("twin"),
        hub_url=worker.url,  # polls and answers go to worker A only
        name=name,
        key=node_key(node_dir),
        hub_key=parse_public_key(public_key_text(load_or_create_key(worker.hub_dir))),
        poll_seconds=2.0,
    )


def test_workers__dialout_node_polling_worker_a_answers_a_query_at_worker_b(
    two_workers: tuple[RunningHub, RunningHub], tmp_path: Path
) -> None:
    a, b = two_workers
    client = _dial_out(a, tmp_path, "au-dial")
    a.register("au-dial", "dial-out", "AU", public_key=node_public_key_text(client.key))
    with dialing_out(client), b.client() as http:
        # B holds no poll of this node: the request goes through the relay table to A, the
        # node answers A, and B collects the answer from the database
        nodes = {n["name"]: n for n in http.get("/nodes").json()}
        body = http.get("/g_variants", params=QUERY).json()
        again = http.get("/g_variants", params=QUERY).json()
    assert nodes["au-dial"]["info"]["connected"] is True  # B sees A's poll
    for answer in (body, again):
        [report] = answer["info"]["network"]["nodes"]
        assert report["status"] == "ok", report
        assert report["dialOut"] is True
        assert answer["responseSummary"]["numTotalResults"] == 7
    assert client.executed >= 2 and client.refused == 0


def test_workers__replayed_node_message_is_refused_at_the_other_worker(
    two_workers: tuple[RunningHub, RunningHub], tmp_path: Path
) -> None:
    a, b = two_workers
    key = node_key(tmp_path)
    a.register("dn", "dial-out", "AU", public_key=node_public_key_text(key))
    poll = sign_for_hub({"type": "poll", "wait": 0}, key, name="dn")
    answer = sign_for_hub({"type": "answer", "id": "x", "status": 200, "body": {}}, key, name="dn")
    with a.client() as at_a, b.client() as at_b:
        first = at_a.post("/dialout/poll", json=poll)
        replay = at_b.post("/dialout/poll", json=poll)
        answered = at_b.post("/dialout/answer", json=answer)
        answer_replay = at_a.post("/dialout/answer", json=answer)
    assert first.status_code == 200, first.text
    assert replay.status_code == 401 and "replayed" in replay.text
    assert answered.status_code == 200
    assert answer_replay.status_code == 401 and "replayed" in answer_replay.text


def test_workers__disconnected_dialout_node_is_reported_by_both_workers(
    two_workers: tuple[RunningHub, RunningHub], tmp_path: Path
) -> None:
    a, b = two_workers
    client = _dial_out(a, tmp_path, "leaver")
    a.register("leaver", "dial-out", "AU", public_key=node_public_key_text(client.key))
    with dialing_out(client), b.client() as http:
        assert http.get("/individuals").json()["info"]["network"]["nodes"][0]["status"] == "ok"
    time.sleep(1.2)  # A notices the closed poll within DISCONNECT_CHECK_SECONDS
    with b.client() as http:
        [report] = http.get("/individuals").json()["info"]["network"]["nodes"]
    assert report["status"] == "error" and "not connected" in report["reason"]


# -- a real `genomesh hub serve --workers 2` ---------------------------------------------------


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180  # three interpreters start (supervisor, 2 workers)
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"hub exited: {log.read_text()[-2000:]}"
        try:
            if httpx.get(f"{url}/nodes", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"hub did not start: {log.read_text()[-2000:]}")


def test_workers__real_two_worker_hub_relays_dialout_and_refuses_replays(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    hub_dir = tmp_path / "hub"
    env = {**os.environ, "GENOMESH_HUB_ADMIN_TOKEN": "test-admin-token"}
    env["GENOMESH_HUB_DIALOUT_POLL_SECONDS"] = "2"
    cmd = [sys.executable, "-m", "genomesh.cli.main", "hub", "serve", "--dir", str(hub_dir)]
    log = tmp_path / "hub.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*cmd, "--port", str(port), "--workers", "2"], env=env, stdout=out, stderr=out
        )
    try:
        _wait_ready(url, proc, log)
        key = node_key(tmp_path)
        admin = {"authorization": "Bearer test-admin-token"}
        registered = httpx.post(
            f"{url}/nodes",
            json={"name": "au-dial", "base_url": "dial-out", "country": "AU",
                  "public_key": node_public_key_text(key)},
            headers=admin,
        )  # fmt: skip
        assert registered.status_code == 201, registered.text
        # the worker that did not take the registration caches its node list this long
        time.sleep(HubStore.NODE_CACHE_SECONDS + 0.5)
        from genomesh.hub.signing import load_or_create_key, public_key_text

        client = DialoutClient(
            standin_app("twin"), hub_url=url, name="au-dial", key=key, poll_seconds=2.0,
            hub_key=parse_public_key(public_key_text(load_or_create_key(hub_dir))),
        )  # fmt: skip

        def query(_: int) -> dict:
            with httpx.Client(timeout=30) as http:  # a fresh connection: either worker
                return http.get(f"{url}/g_variants", params=QUERY).json()

        with dialing_out(client), concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(query, range(24)))
        statuses = [a["info"]["network"]["nodes"][0]["status"] for a in answers]
        assert statuses == ["ok"] * 24
        # the node polls one worker; queries that reached the other went through the relay
        engine = create_engine(f"sqlite:///{hub_dir / 'hub.sqlite'}")
        with engine.connect() as conn:
            assert read_version(conn, "dialout") > 0
        engine.dispose()

        poll = sign_for_hub({"type": "poll", "wait": 0}, key, name="someone")
        replays = [httpx.post(f"{url}/dialout/poll", json=poll).status_code for _ in range(8)]
        assert replays.count(401) == 8  # unknown node: refused everywhere

        mine = sign_for_hub({"type": "poll", "wait": 0}, key, name="au-dial")
        codes = [httpx.post(f"{url}/dialout/poll", json=mine).status_code for _ in range(8)]
        assert sorted(codes) == [200] + [401] * 7  # one worker took it, no worker again
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_workers__passport_revoked_at_worker_a_is_refused_at_worker_b_at_once(
    two_workers: tuple[RunningHub, RunningHub],
) -> None:
    a, b = two_workers
    from tests.hub.standin import serving

    with serving(standin_app("n1")) as node:
        a.register("n1", node.url, "NL")
        bearer = b.bearer()
        with b.client() as http:
            before = http.get("/individuals", headers={"authorization": bearer})
            again = http.get("/individuals", headers={"authorization": bearer})
            from genomesh.access.passports import unverified_parts

            jti = unverified_parts(bearer.split()[1])[1]["jti"]
            a.app.state.broker.revocations.revoke(jti, reason="test")  # at worker A
            after = http.get("/individuals", headers={"authorization": bearer})
    assert before.status_code == 200 and again.status_code == 200
    assert after.status_code == 401 and "revoked" in after.text


def test_workers__one_worker_drives_each_analysis_task(tmp_path: Path) -> None:
    from genomesh.hub.analysis.tasks import TaskStore

    store = HubStore(f"sqlite:///{tmp_path / 'hub.sqlite'}", hub_dir=tmp_path)
    try:
        tasks = TaskStore(store.engine)
        task = tasks.create(analysis="t", params={}, nodes={"n": ["d"]}, submitter="s", claims={})
        assert tasks.claim(task.id, "worker-a", seconds=30)
        assert not tasks.claim(task.id, "worker-b", seconds=30)  # A's lease is live
        assert tasks.claim(task.id, "worker-a", seconds=30)  # A renews its own
        tasks.renew("worker-b", [task.id], seconds=30)  # not B's to renew
        assert not tasks.claim(task.id, "worker-b", seconds=30)
        assert tasks.claim(task.id, "worker-a", seconds=-1)  # A stops renewing: it lapses
        assert tasks.claim(task.id, "worker-b", seconds=30)  # B takes over a dead worker's
        tasks.release("worker-b")  # B stops cleanly: the next one may start at once
        assert tasks.claim(task.id, "worker-c", seconds=30)
        tasks.update(task.id, state="done")
        assert not tasks.claim(task.id, "worker-d", seconds=30)  # finished: nobody drives it
    finally:
        store.close()


def test_workers__failed_logins_at_one_worker_count_at_the_other(tmp_path: Path) -> None:
    from genomesh.hub.dac.throttle import LoginThrottledError
    from genomesh.hub.dac.throttle_sql import SqlLoginThrottle

    store = HubStore(f"sqlite:///{tmp_path / 'hub.sqlite'}", hub_dir=tmp_path)
    try:
        a, b = SqlLoginThrottle(store.engine, free=3), SqlLoginThrottle(store.engine, free=3)
        keys = ["user:alice", "addr:192.0.2.7"]
        for throttle in (a, b, a):  # three failures, spread over both workers
            throttle.check(keys)
            throttle.failed(keys)
        with pytest.raises(LoginThrottledError, match="too many failed logins"):
            b.check(keys)
        with pytest.raises(LoginThrottledError):
            a.check(["user:alice"])
        a.check(["user:bob"])  # others are not held back
        b.succeeded("user:alice")  # a right password at B clears the name at A too
        a.check(["user:alice"])
    finally:
        store.close()
