"""KeyStore: persistence with private files 0600, rotation, pruning, removal."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest

from genomesh.access.keys import EXP_GRANULARITY, KeyStore
from genomesh.core.errors import ConflictError, InvalidInputError, NotFoundError, StoreError
from genomesh.testing.passports import decode_part


def test_key_store__persists_with_private_files_0600(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    store = KeyStore.open(folder)
    kid = store.active_kid
    assert stat.S_IMODE((folder / f"{kid}.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    token = store.sign({"iss": "x", "exp": int(time.time()) + 60})

    reopened = KeyStore.open(folder)
    assert reopened.active_kid == kid
    assert reopened.jwks() == store.jwks()
    assert decode_part(token.split(".")[0])["kid"] == kid
    exp = decode_part(token.split(".")[1])["exp"]
    assert exp <= reopened.record(kid).max_exp < exp + EXP_GRANULARITY  # rounded up


def test_key_store__open_without_create_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no key store at"):
        KeyStore.open(tmp_path / "nothing", create=False)


def test_key_store__corrupt_metadata_is_a_store_error(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    KeyStore.open(folder)
    (folder / "keys.json").write_text("{not json")
    with pytest.raises(StoreError, match=r"keys\.json"):
        KeyStore.open(folder)


def test_key_store__rotation_keeps_old_public_key_until_its_tokens_expire(tmp_path: Path) -> None:
    store = KeyStore.open(tmp_path / "keys")
    old = store.active_kid
    now = int(time.time())
    store.sign({"exp": now + 100})
    new = store.rotate()
    assert store.active_kid == new
    assert [k["kid"] for k in store.jwks(now=now)["keys"]] == [new, old]
    # it stays while its last token is valid (the expiry is recorded rounded up to the
    # minute: never early, at most EXP_GRANULARITY late) ...
    assert [k["kid"] for k in store.jwks(now=now + 100)["keys"]] == [new, old]
    assert store.prune(now=now + 100) == []
    # ... then it leaves the JWKS, and prune deletes it
    gone = now + 101 + EXP_GRANULARITY
    assert [k["kid"] for k in store.jwks(now=gone)["keys"]] == [new]
    assert store.prune(now=gone) == [old]
    assert not (tmp_path / "keys" / f"{old}.pem").exists()
    assert KeyStore.open(tmp_path / "keys").kids() == [new]


def test_key_store__rotated_key_without_tokens_leaves_jwks_at_once() -> None:
    store = KeyStore.ephemeral()
    old = store.active_kid
    store.rotate()
    assert old not in [k["kid"] for k in store.jwks()["keys"]]


def test_key_store__remove_compromised_key(tmp_path: Path) -> None:
    store = KeyStore.open(tmp_path / "keys")
    old = store.active_kid
    store.sign({"exp": int(time.time()) + 10_000})
    with pytest.raises(ConflictError, match="rotate first"):
        store.remove(old)
    store.rotate()
    store.remove(old)
    assert old not in [k["kid"] for k in store.jwks()["keys"]]
    with pytest.raises(NotFoundError, match="no key with kid"):
        store.remove(old)
    data = json.loads((tmp_path / "keys" / "keys.json").read_text())
    assert [k["kid"] for k in data["keys"]] == [store.active_kid]


def test_key_store__rs256_and_algorithm_switch() -> None:
    store = KeyStore.ephemeral(alg="RS256")
    assert store.jwks()["keys"][0]["kty"] == "RSA"
    store.rotate(alg="ES256")
    assert store.active_alg == "ES256"
    with pytest.raises(InvalidInputError, match="unsupported signing algorithm"):
        store.rotate(alg="HS256")  # type: ignore[arg-type]


def test_key_store__second_instance_sees_rotation(tmp_path: Path) -> None:
    """The broker and the DAC may hold separate KeyStore objects on the same folder."""
    broker_view = KeyStore.open(tmp_path / "keys")
    dac_view = KeyStore.open(tmp_path / "keys")
    dac_view.sign({"exp": int(time.time()) + 600})
    new = dac_view.rotate()
    assert broker_view.active_kid == new
    assert [k["kid"] for k in broker_view.jwks()["keys"]] == [new, dac_view.kids()[0]]


def test_key_store__rotates_when_due(tmp_path: Path) -> None:
    store = KeyStore.open(tmp_path / "keys", rotate_after=3600)
    first = store.active_kid
    created = store.record(first).created
    assert store.rotate_if_due(now=created + 3599) is None
    store.sign({"exp": created + 7200})
    assert store.active_kid == first
    second = store.rotate_if_due(now=created + 3600)
    assert second is not None and store.active_kid == second
    assert [k["kid"] for k in store.jwks(now=created + 3600)["keys"]] == [second, first]
    assert KeyStore.ephemeral().rotate_if_due(now=2**40) is None  # no policy: never
