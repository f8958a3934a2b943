"""The node anchors its audit head at a real hub, and `genomesh audit verify` uses the anchors.

A real hub (uvicorn on loopback) with the node registered under its signing key; the node's
state is a real SQLite file; tampering edits that file as someone with write access would.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from genomesh.audit.anchor import AnchorRecords
from genomesh.audit.chain import entry_hash
from genomesh.cli.main import main
from genomesh.core.settings import NodeSettings
from genomesh.hub.signing import load_or_create_key
from genomesh.node.anchor import AnchorSender
from genomesh.node.app import create_app
from genomesh.node.dialout import build_client, node_key, public_key_text
from genomesh.node.state import Disclosure, NodeState
from genomesh.store import init_node
from tests.hub.conftest import RunningHub, start_hub
from tests.hub.standin import serving
from tests.hub.test_dialout import dialing_out

NAME = "anchored-node"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    running = start_hub(tmp_path)
    try:
        yield running
    finally:
        running.server.stop()


@pytest.fixture
def node_dir(tmp_path: Path, hub: RunningHub) -> Path:
    """A node folder whose settings point at the hub (anchor every 5 entries, by count only),
    registered at the hub with the node's signing key."""
    path = tmp_path / "node"
    init_node(path, name=NAME, jurisdiction="NL")
    with (path / "genomesh.toml").open("a") as handle:
        handle.write(
            f'hub_url = "{hub.url}"\naudit_anchor_entries = 5\naudit_anchor_seconds = 0\n'
            "audit_anchor_check_seconds = 0.05\n"
        )
    hub.register(NAME, "http://127.0.0.1:9", public_key=public_key_text(node_key(path)))
    return path


def _append(state: NodeState, n: int, *, start: int = 0) -> None:
    for i in range(start, start + n):
        state.append_audit(
            {
                "who": {"identity_key": "iss|alice", "tier": "registered"},
                "what": {"surface": "beacon", "operation": "individuals", "parameters": {"i": i}},
                "outcome": "answered",
            },
            disclosures=[Disclosure("ds1", "P1", "aggregate")],
            recipient_subject="alice",
        )


def _hub_heads(hub: RunningHub, name: str = NAME) -> dict[str, object]:
    with hub.client() as http:
        response = http.get(f"/nodes/{name}/audit-heads")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _latest_entries(hub: RunningHub, name: str = NAME) -> int | None:
    latest = _hub_heads(hub, name)["latest"]
    return None if latest is None else int(latest["entries"])  # type: ignore[index]


def _send_due(node_dir: Path) -> str | None:
    settings = NodeSettings.load(node_dir)
    with NodeState.open(settings) as state:
        sender = AnchorSender.from_settings(state, settings)
        assert sender is not None
        return asyncio.run(sender.send_if_due())


def _cut_tail(node_dir: Path, *, keep: int) -> None:
    con = sqlite3.connect(node_dir / "state.sqlite")
    con.execute("DELETE FROM gs_audit WHERE seq > ?", (keep,))
    digest = con.execute("SELECT hash FROM gs_audit WHERE seq = ?", (keep,)).fetchone()
    con.execute(
        "UPDATE gs_audit_head SET seq = ?, hash = ? WHERE id = 1",
        (keep, digest[0] if digest else "0" * 64),
    )
    con.commit()
    con.close()


def test_anchor__node_sends_its_head_after_n_entries(hub: RunningHub, node_dir: Path) -> None:
    settings = NodeSettings.load(node_dir)
    with NodeState.open(settings) as state:
        _append(state, 4)
    assert _send_due(node_dir) is None  # 4 < 5 entries: not due
    assert _latest_entries(hub) is None
    with NodeState.open(settings) as state:
        _append(state, 1)
        head = state.head()
    assert _send_due(node_dir) == "acknowledged"
    latest = _hub_heads(hub)["latest"]
    assert latest["entries"] == 5 and latest["hash"] == head[1]  # type: ignore[index]
    assert _send_due(node_dir) is None  # nothing new
    with NodeState.open(settings) as state:
        _append(state, 5)
    assert _send_due(node_dir) == "acknowledged"
    assert [h["entries"] for h in _hub_heads(hub)["heads"]] == [5, 10]  # type: ignore[attr-defined]


def test_anchor__running_node_app_anchors_by_itself(hub: RunningHub, node_dir: Path) -> None:
    app = create_app(NodeSettings.load(node_dir), warm=False)
    with serving(app):
        _append(app.state.node_state, 7)
        deadline = time.monotonic() + 30
        while _latest_entries(hub) is None:
            assert time.monotonic() < deadline, "the node never anchored its head at the hub"
            time.sleep(0.05)
        assert _latest_entries(hub) in (5, 6, 7)  # due once 5 entries were there
        _append(app.state.node_state, 1, start=7)
    # on shut-down the node sends what it has, so the last entries are anchored too
    assert _latest_entries(hub) == 8


def test_anchor__dial_out_node_anchors_at_the_hub_it_dials(hub: RunningHub, tmp_path: Path) -> None:
    path = tmp_path / "dialer"
    init_node(path, name="dialer", jurisdiction="NL")
    with (path / "genomesh.toml").open("a") as handle:  # no hub_url: the dial-out hub is used
        handle.write(
            "audit_anchor_entries = 3\naudit_anchor_seconds = 0\naudit_anchor_check_seconds = 0.05\n"
        )
    hub.register("dialer", "dial-out", public_key=public_key_text(node_key(path)))
    hub_key = public_key_text(load_or_create_key(hub.hub_dir))
    client = build_client(path, hub_url=hub.url, hub_key=hub_key, poll_seconds=2.0)
    with dialing_out(client):
        _append(client.node_app.state.node_state, 3)
        deadline = time.monotonic() + 30
        while _latest_entries(hub, "dialer") is None:
            assert time.monotonic() < deadline, "the dial-out node never anchored its head"
            time.sleep(0.05)
    with NodeState.open(NodeSettings.load(path)) as state:  # (the hub's own queries add some)
        assert _latest_entries(hub, "dialer") == state.head()[0] >= 3


def test_anchor__verify_finds_cut_tail_from_the_node_record_and_from_the_hub(
    hub: RunningHub, node_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with NodeState.open(NodeSettings.load(node_dir)) as state:
        _append(state, 10)
    assert _send_due(node_dir) == "acknowledged"
    assert main(["audit", "verify", str(node_dir)]) == 0
    assert "matches the anchored head 10:" in capsys.readouterr().out

    _cut_tail(node_dir, keep=7)
    assert main(["audit", "verify", str(node_dir)]) == 7
    err = capsys.readouterr().err
    assert "tail cut: 3 entries missing after entry 7" in err
    assert "ledger rows point at missing audit entries" in err

    # The forger also deletes the node's record of its anchors and the orphaned ledger rows:
    # the node alone cannot tell any more; the hub's copy still can.
    con = sqlite3.connect(node_dir / "state.sqlite")
    con.execute("DELETE FROM gs_audit_anchor")
    con.execute("DELETE FROM gs_ledger WHERE audit_seq > 7")
    con.commit()
    con.close()
    assert main(["audit", "verify", str(node_dir)]) == 0
    assert "no anchored head" in capsys.readouterr().err
    assert main(["audit", "verify", str(node_dir), "--hub", hub.url]) == 7
    assert "tail cut: 3 entries missing after entry 7" in capsys.readouterr().err


def test_anchor__verify_finds_a_wiped_log_and_the_hub_refuses_the_lower_head(
    hub: RunningHub, node_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with NodeState.open(NodeSettings.load(node_dir)) as state:
        _append(state, 5)
    assert _send_due(node_dir) == "acknowledged"
    (node_dir / "state.sqlite").unlink()  # the whole state file replaced by a fresh one
    for suffix in ("-wal", "-shm"):
        (node_dir / f"state.sqlite{suffix}").unlink(missing_ok=True)
    assert main(["audit", "verify", str(node_dir)]) == 0  # a fresh, empty log on its own
    out = capsys.readouterr()
    assert "audit log is empty: 0 entries" in out.out and "no anchored head" in out.err
    assert main(["audit", "verify", str(node_dir), "--hub", hub.url]) == 7
    assert "log wiped: it is empty, but it had 5 entries" in capsys.readouterr().err

    # the node, restarted on the fresh log, anchors 5 entries again: a different hash at the
    # same count, which the hub refuses and keeps as evidence
    with NodeState.open(NodeSettings.load(node_dir)) as state:
        _append(state, 5, start=100)
    assert _send_due(node_dir) == "refused"
    refused = _hub_heads(hub)["refused"]
    assert len(refused) == 1 and "hash conflict" in refused[0]["problem"]  # type: ignore[index]
    assert main(["audit", "show", str(node_dir)]) == 0  # the node shows the refusal loudly
    assert "REFUSED by the hub" in capsys.readouterr().out
    with httpx.Client() as http:  # the hub's copy is public
        assert http.get(f"{hub.url}/nodes/{NAME}/audit-heads").status_code == 200


def test_anchor__unreachable_hub_is_recorded_and_not_hammered(tmp_path: Path) -> None:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    with NodeState.from_url(f"sqlite:///{tmp_path / 'state.sqlite'}") as state:
        _append(state, 3)
        sender = AnchorSender(
            state,
            hub_url=dead,
            name=NAME,
            key=Ed25519PrivateKey.generate,
            every_entries=2,
            every_seconds=0,
            retry_seconds=3600,
        )
        assert asyncio.run(sender.send_if_due()) == "failed"
        _append(state, 2, start=3)  # due again by count, but the hub just failed
        assert asyncio.run(sender.send_if_due()) is None
        [attempt] = AnchorRecords(state.engine).all()
        assert attempt.status == "failed" and "ConnectError" in (attempt.detail or "")
        assert AnchorRecords(state.engine).acknowledged() == []


def test_anchor__rewritten_and_grown_log_is_refused_by_the_hub(
    hub: RunningHub, node_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with NodeState.open(NodeSettings.load(node_dir)) as state:
        _append(state, 5)
    assert _send_due(node_dir) == "acknowledged"
    # Someone rewrites entry 2 and recomputes the whole chain (the chain alone verifies) ...
    con = sqlite3.connect(node_dir / "state.sqlite")
    prev = "0" * 64
    for seq, body in con.execute("SELECT seq, body FROM gs_audit ORDER BY seq").fetchall():
        if seq == 2:
            body = body.replace('"i":1', '"i":99')
        digest = entry_hash(prev, body)
        con.execute(
            "UPDATE gs_audit SET body = ?, prev_hash = ?, hash = ? WHERE seq = ?",
            (body, prev, digest, seq),
        )
        prev = digest
    con.execute("UPDATE gs_audit_head SET hash = ? WHERE id = 1", (prev,))
    con.commit()
    con.close()
    # ... and the log grows past the anchor: the next head names what entry 5 is now
    with NodeState.open(NodeSettings.load(node_dir)) as state:
        assert state.verify().ok
        _append(state, 5, start=5)
    assert _send_due(node_dir) == "refused"
    [refused] = _hub_heads(hub)["refused"]  # type: ignore[misc]
    assert refused["entries"] == 10 and "hash conflict" in refused["problem"]
    assert main(["audit", "verify", str(node_dir), "--hub", hub.url]) == 7
    assert "log rewritten: entry 5 does not hash" in capsys.readouterr().err


def test_anchor__time_trigger_sends_a_grown_log_after_m_seconds(tmp_path: Path) -> None:
    with NodeState.from_url(f"sqlite:///{tmp_path / 'state.sqlite'}") as state:
        sender = AnchorSender(
            state,
            hub_url="http://hub.example",
            name=NAME,
            key=Ed25519PrivateKey.generate,
            every_entries=100,
            every_seconds=60,
        )
        assert sender.due() is None  # an empty log has nothing to anchor
        _append(state, 1)
        first = sender.due()  # never anchored: the first entries go at once
        assert first is not None and (first.entries, first.previous) == (1, None)
        records = AnchorRecords(state.engine)
        row = records.claim(
            hub_url="http://hub.example", entries=1, hash=first.hash, envelope="{}", retry_after=0
        )
        assert row is not None
        records.settle(row, status="acknowledged")
        signed = records.acknowledged()[0].signed_at
        assert sender.due(now=signed + 61) is None  # time is up, but nothing new
        _append(state, 1, start=1)
        assert sender.due(now=signed + 30) is None  # 1 new entry < 100, and 30 s < 60 s
        due = sender.due(now=signed + 61)
        assert due is not None and due.entries == 2 and due.previous == (1, first.hash)
