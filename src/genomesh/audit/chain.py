"""The audit hash chain: canonical JSON, entry hashes, and verification of a whole log.

Entry `n` stores `hash_n = sha256(hash_{n-1} || canonical_json(body_n))` with
`hash_0 = GENESIS`. The body carries its own sequence number, so editing, deleting,
reordering or inserting a row breaks the chain at the first affected entry; a head row
records the last sequence number and hash so that deleting the newest rows alone shows too.
Someone able to write the database can delete the newest rows *and* roll the head row back,
or recompute the whole chain; a head kept outside the database closes that: one published
by hand (`verify(..., expected_head=...)`) or anchored at the hub (`genomesh.audit.anchor`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 kept, no NaN."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def entry_hash(prev_hash: str, body: str) -> str:
    """The hash of one entry given the previous hash and its canonical body."""
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


class ChainRow(Protocol):
    """What verification needs from a stored row."""

    seq: int
    body: str
    prev_hash: str
    hash: str
    identity_key: str
    surface: str
    operation: str
    outcome: str


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of checking a log: `ok`, or the first bad entry and what is wrong with it."""

    ok: bool
    n_entries: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None

    def describe(self) -> str:
        if self.ok:
            return (
                f"audit log intact: {self.n_entries} entries, head {self.head_seq}:{self.head_hash}"
            )
        return f"audit log TAMPERED at entry {self.first_bad_seq}: {self.problem}"


def _bad(n: int, seq: int, head: tuple[int, str], problem: str) -> VerifyResult:
    return VerifyResult(False, n, head[0], head[1], first_bad_seq=seq, problem=problem)


def verify_rows(
    rows: Iterable[ChainRow],
    *,
    head: tuple[int, str] | None,
    expected_head: tuple[int, str] | None = None,
) -> VerifyResult:
    """Walk the rows in storage order of `seq` and report the first inconsistency."""
    prev, expected_seq, n = GENESIS, 1, 0
    stored_head = head or (0, GENESIS)
    seen: dict[int, str] = {}
    for row in rows:
        n += 1
        if row.seq != expected_seq:
            what = "missing (deleted)" if row.seq > expected_seq else "out of order or duplicated"
            return _bad(n, expected_seq, stored_head, f"entry {expected_seq} is {what}")
        try:
            body = json.loads(row.body)
        except (TypeError, ValueError):
            return _bad(n, row.seq, stored_head, "body is not valid JSON (edited)")
        if not isinstance(body, dict) or body.get("seq") != row.seq:
            return _bad(
                n, row.seq, stored_head, "body names another position (reordered or inserted)"
            )
        if canonical_json(body) != row.body:
            return _bad(n, row.seq, stored_head, "body is not in canonical form (edited)")
        if row.prev_hash != prev:
            return _bad(
                n, row.seq, stored_head, "previous-hash link broken (entry before it changed)"
            )
        if entry_hash(prev, row.body) != row.hash:
            return _bad(n, row.seq, stored_head, "hash does not match the content (edited)")
        who, what = body.get("who", {}), body.get("what", {})
        columns = (row.identity_key, row.surface, row.operation, row.outcome)
        stated = (
            who.get("identity_key"),
            what.get("surface"),
            what.get("operation"),
            body.get("outcome"),
        )
        if columns != stated:
            return _bad(
                n, row.seq, stored_head, "indexed columns disagree with the hashed body (edited)"
            )
        prev, expected_seq = row.hash, expected_seq + 1
        seen[row.seq] = row.hash
    last = (expected_seq - 1, prev)
    if head is not None and head != last:
        if head[0] > last[0]:
            return _bad(n, last[0] + 1, stored_head, f"entries {last[0] + 1}..{head[0]} deleted")
        return _bad(n, head[0], stored_head, "chain head does not match the last entry")
    if expected_head is not None:
        seq, digest = expected_head
        if seen.get(seq) != digest:
            return _bad(n, seq, stored_head, "does not match the published head (log rewritten)")
    return VerifyResult(True, n, last[0], last[1])


__all__ = ["GENESIS", "VerifyResult", "canonical_json", "entry_hash", "verify_rows"]
