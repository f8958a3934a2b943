"""The hub's store of nodes' signed audit heads: verified, append-only, refusing backwards moves.

A real hub on a loopback port; the node side signs with `genomesh.node.dialout.sign_for_hub`,
the format the anchor sender uses.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from genomesh.core.errors import AuthenticationError, ConflictError
from genomesh.hub.anchors import AuditHeads
from genomesh.hub.registry import HubStore, NodeCreate
from genomesh.node.dialout import public_key_text, sign_for_hub
from tests.audit.pg import postgres_database
from tests.hub.conftest import RunningHub

NODE = "anchor-node"


def _head(
    key: Ed25519PrivateKey,
    entries: int,
    digest: str,
    name: str = NODE,
    previous: tuple[int, str] | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {"type": "audit_head", "entries": entries, "hash": digest}
    if previous is not None:
        payload["previous"] = {"entries": previous[0], "hash": previous[1]}
    return sign_for_hub(payload, key, name=name)


@pytest.fixture
def node_key(hub: RunningHub) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    hub.register(NODE, "http://127.0.0.1:9", public_key=public_key_text(key))
    return key


def test_audit_heads__signed_heads_are_kept_and_public(
    hub: RunningHub, node_key: Ed25519PrivateKey
) -> None:
    with hub.client() as http:
        assert http.get(f"/nodes/{NODE}/audit-heads").json()["latest"] is None
        first = http.post(f"/nodes/{NODE}/audit-heads", json=_head(node_key, 100, "a" * 64))
        assert first.status_code == 201, first.text
        again = http.post(f"/nodes/{NODE}/audit-heads", json=_head(node_key, 100, "a" * 64))
        assert again.status_code == 200 and again.json()["new"] is False
        assert (
            http.post(f"/nodes/{NODE}/audit-heads", json=_head(node_key, 200, "b" * 64)).status_code
            == 201
        )
        body = http.get(f"/nodes/{NODE}/audit-heads").json()  # no credentials: public
    assert body["latest"]["entries"] == 200 and body["latest"]["hash"] == "b" * 64
    assert [h["entries"] for h in body["heads"]] == [100, 200] and body["refused"] == []
    # the node's own signature travels with each head (checkable without trusting the hub)
    assert body["heads"][0]["envelope"]["payload"]["iss"] == NODE


def test_audit_heads__forged_head_is_refused_and_not_stored(
    hub: RunningHub, node_key: Ed25519PrivateKey
) -> None:
    impostor = Ed25519PrivateKey.generate()
    with hub.client() as http:
        forged = http.post(f"/nodes/{NODE}/audit-heads", json=_head(impostor, 50, "c" * 64))
        assert forged.status_code == 401
        assert "bad signature" in forged.json()["error"]["errorMessage"]
        # a genuine envelope with its numbers changed after signing
        tampered = _head(node_key, 50, "c" * 64)
        tampered["payload"]["entries"] = 5000
        assert http.post(f"/nodes/{NODE}/audit-heads", json=tampered).status_code == 401
        # signed by the right key, but posted for another node's path
        other = http.post("/nodes/someone-else/audit-heads", json=_head(node_key, 50, "c" * 64))
        assert other.status_code == 401
        replay = _head(node_key, 60, "d" * 64)
        assert http.post(f"/nodes/{NODE}/audit-heads", json=replay).status_code == 201
        assert http.post(f"/nodes/{NODE}/audit-heads", json=replay).status_code == 401
        body = http.get(f"/nodes/{NODE}/audit-heads").json()
    assert [h["entries"] for h in body["heads"]] == [60] and body["refused"] == []


def test_audit_heads__backwards_count_and_hash_conflict_are_refused_and_flagged(
    hub: RunningHub, node_key: Ed25519PrivateKey, caplog: pytest.LogCaptureFixture
) -> None:
    with hub.client() as http, caplog.at_level(logging.ERROR, logger="genomesh.hub.anchors"):
        assert (
            http.post(f"/nodes/{NODE}/audit-heads", json=_head(node_key, 400, "e" * 64)).status_code
            == 201
        )
        back = http.post(f"/nodes/{NODE}/audit-heads", json=_head(node_key, 380, "f" * 64))
        assert back.status_code == 409
        assert "count goes backwards" in back.json()["error"]["errorMessage"]
        clash = http.post(f"/nodes/{NODE}/audit-heads", json=_head(node_key, 400, "0" * 64))
        assert clash.status_code == 409 and "hash conflict" in clash.json()["error"]["errorMessage"]
        body = http.get(f"/nodes/{NODE}/audit-heads").json()
    assert body["latest"]["entries"] == 400 and body["latest"]["hash"] == "e" * 64
    assert [(r["entries"], r["problem"].split(":")[0]) for r in body["refused"]] == [
        (380, "count goes backwards"),
        (400, "hash conflict"),
    ]
    assert sum("REFUSED audit head" in r.getMessage() for r in caplog.records) == 2


def test_audit_heads__grown_head_over_a_rewritten_earlier_head_is_refused(
    hub: RunningHub, node_key: Ed25519PrivateKey
) -> None:
    with hub.client() as http:
        assert (
            http.post(f"/nodes/{NODE}/audit-heads", json=_head(node_key, 100, "a" * 64)).status_code
            == 201
        )
        grown = _head(node_key, 200, "b" * 64, previous=(100, "a" * 64))
        assert http.post(f"/nodes/{NODE}/audit-heads", json=grown).status_code == 201
        # restored from an older backup, rewritten and grown past the hub's latest head
        rewritten = _head(node_key, 300, "c" * 64, previous=(200, "d" * 64))
        refused = http.post(f"/nodes/{NODE}/audit-heads", json=rewritten)
        assert refused.status_code == 409
        assert "hash conflict" in refused.json()["error"]["errorMessage"]
        assert "entry 200" in refused.json()["error"]["errorMessage"]
        bad = http.post(
            f"/nodes/{NODE}/audit-heads", json=_head(node_key, 5, "e" * 64, previous=(9, "f" * 64))
        )
        assert bad.status_code == 400 and "previous" in bad.json()["error"]["errorMessage"]
        body = http.get(f"/nodes/{NODE}/audit-heads").json()
    assert body["latest"]["entries"] == 200 and [r["entries"] for r in body["refused"]] == [300]


def test_audit_heads__bad_input_and_unknown_node(
    hub: RunningHub, node_key: Ed25519PrivateKey
) -> None:
    with hub.client() as http:
        bad = http.post(f"/nodes/{NODE}/audit-heads", json=_head(node_key, 0, "a" * 64))
        assert bad.status_code == 400 and "entries" in bad.json()["error"]["errorMessage"]
        bad = http.post(f"/nodes/{NODE}/audit-heads", json=_head(node_key, 3, "XYZ"))
        assert bad.status_code == 400 and "hash" in bad.json()["error"]["errorMessage"]
        assert http.post(f"/nodes/{NODE}/audit-heads", json={"nonsense": 1}).status_code == 400
        assert http.get("/nodes/nobody/audit-heads").status_code == 404


@pytest.mark.postgres
def test_audit_heads__store_on_postgresql(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    with postgres_database("genomesh_hub_heads") as url:
        store = HubStore(url)
        try:
            store.add_node(
                NodeCreate(
                    name=NODE, base_url="dial-out", country="NL", public_key=public_key_text(key)
                )
            )
            heads = AuditHeads(store, max_skew=60)
            assert heads.submit(NODE, _head(key, 10, "1" * 64))[0] is True
            assert heads.submit(NODE, _head(key, 10, "1" * 64))[0] is False
            with pytest.raises(ConflictError, match="count goes backwards"):
                heads.submit(NODE, _head(key, 9, "2" * 64))
            with pytest.raises(AuthenticationError, match="bad signature"):
                heads.submit(NODE, _head(Ed25519PrivateKey.generate(), 11, "3" * 64))
            history = heads.history(NODE, limit=10)
            assert history["latest"]["entries"] == 10 and len(history["refused"]) == 1
        finally:
            store.close()
