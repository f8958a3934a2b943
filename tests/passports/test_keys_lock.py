"""KeyStore across processes: concurrent rotations and expiry records on one folder lose
nothing (keys.json is changed under an flock), and a signature within the recorded
minute does not rewrite keys.json."""

from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path
from typing import Any

from genomesh.access.keys import EXP_GRANULARITY, KeyStore
from genomesh.testing.passports import decode_part

ROUNDS = 40
BASE_EXP = 4_000_000_000  # far future; a fresh minute per token so each one must be recorded


def _rotator(folder: str, start: Any, out: Any) -> None:
    try:
        store = KeyStore.open(folder)
        start.wait()
        out.put(("rotated", [store.rotate() for _ in range(ROUNDS)]))
    except Exception as exc:  # reported to the test instead of leaving it waiting
        out.put(("error", repr(exc)))


def _signer(folder: str, start: Any, out: Any, offset: int) -> None:
    try:
        _sign_all(folder, start, out, offset)
    except Exception as exc:
        out.put(("error", repr(exc)))


def _sign_all(folder: str, start: Any, out: Any, offset: int) -> None:
    store = KeyStore.open(folder)
    start.wait()
    signed = []
    for i in range(ROUNDS):
        exp = BASE_EXP + (2 * i + offset) * EXP_GRANULARITY
        token = store.sign({"iss": "t", "exp": exp})
        signed.append((decode_part(token.split(".")[0])["kid"], exp))
    out.put(("signed", signed))


def test_key_store__concurrent_processes_lose_no_rotation_or_expiry(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    first = KeyStore.open(folder).active_kid
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Barrier(4), ctx.Queue()
    procs = [
        ctx.Process(target=_rotator, args=(str(folder), start, out)),
        ctx.Process(target=_rotator, args=(str(folder), start, out)),
        ctx.Process(target=_signer, args=(str(folder), start, out, 0)),
        ctx.Process(target=_signer, args=(str(folder), start, out, 1)),
    ]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    assert [r for r in results if r[0] == "error"] == []

    rotated = [kid for kind, kids in results if kind == "rotated" for kid in kids]
    signed = [pair for kind, pairs in results if kind == "signed" for pair in pairs]
    assert len(rotated) == 2 * ROUNDS and len(signed) == 2 * ROUNDS

    data = json.loads((folder / "keys.json").read_text())
    records = {raw["kid"]: raw for raw in data["keys"]}
    # every rotation is on record (none overwritten by a concurrent write) ...
    assert set(records) == {first, *rotated}
    assert all((folder / f"{kid}.pem").is_file() for kid in records)
    # ... exactly one key is active, every other one retired ...
    assert data["active"] in rotated
    assert [kid for kid, raw in records.items() if raw["retired"] is None] == [data["active"]]
    # ... and each key's recorded latest expiry covers every token it signed
    for kid, exp in signed:
        assert records[kid]["max_exp"] >= exp, (kid, exp, records[kid]["max_exp"])
    # a fresh store sees the same: the keys of all tokens in flight stay published
    published = {jwk["kid"] for jwk in KeyStore.open(folder).jwks(now=BASE_EXP)["keys"]}
    assert {kid for kid, _ in signed} <= published


def test_key_store__signature_within_recorded_minute_leaves_keys_json_alone(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "keys"
    store = KeyStore.open(folder)
    kid = store.active_kid
    exp = (int(time.time()) // EXP_GRANULARITY + 10) * EXP_GRANULARITY + 1  # minute start + 1s
    store.sign({"iss": "t", "exp": exp})
    meta = folder / "keys.json"
    written = meta.read_text()
    assert json.loads(written)["keys"][0]["max_exp"] == exp - 1 + EXP_GRANULARITY
    inode = meta.stat().st_ino
    for later in range(exp, exp + EXP_GRANULARITY - 1, 7):  # same recorded minute
        store.sign({"iss": "t", "exp": later})
    assert meta.stat().st_ino == inode and meta.read_text() == written  # not rewritten
    store.sign({"iss": "t", "exp": exp + EXP_GRANULARITY})  # the next minute is recorded
    assert KeyStore.open(folder).record(kid).max_exp == exp - 1 + 2 * EXP_GRANULARITY
