"""Secure aggregation: pairwise masks in fixed-point arithmetic mod 2^64 that cancel exactly.

Each node turns its float64 sums into integers (fixed point: x · 2^f rounded, per segment),
adds one mask per other node, and sends the result; the hub adds all nodes' vectors mod 2^64
and the masks cancel, leaving exactly the sum of the fixed-point values. One node's vector
is uniformly distributed to anyone who lacks a key it shares with another node.

Masks. In round 0 every node makes an X25519 key pair and sends its public key through the
hub. For the pair (a, b), a < b by name, both derive the same shared secret; HKDF-SHA256
over it (salt: the task id; info: round and pair) gives a 256-bit ChaCha20 key, whose key
stream is the mask: a adds it, b subtracts it. Seeds are 256 bits, unlike the 32-bit seeds
that make Flower's SecAgg+ unsuitable, and nothing is quantised lossily beyond the declared
fixed-point resolution.

Fixed point and the overflow bound. A segment whose per-person terms are bounded by B in
absolute value (e.g. |age · y| ≤ covariate_bound · trait_bound) sums to at most N · B over N
people. With f fractional bits the integer is at most N · B · 2^f, which must stay below
2^62 (one bit spare below the int64 sign bit): f = 62 - ceil(log2(N_max · B)). For
N_max = 500,000, covariate bound 1,000 and trait bound 10,000, C'C has f = 23 (resolution
1.2e-7 on sums of order 1e8 or more), y'y f = 16, C'g f = 32. A segment with N_max · B ≥ 2^62
has no room and the analysis is refused at configure; a node refuses values beyond the
declared bounds, and the hub refuses a run whose nodes together have more than N_max people,
all before any masked value is made.

Dropouts. The masks cancel only when every node's vector arrives: a round with a node
missing is aborted with the node's name (the hub cannot unmask a partial sum).

The hub relays public keys; it is trusted not to substitute them (honest-but-curious). Node
private keys live only in the node process's memory for the task's duration.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from genomesh.core.errors import ConflictError, InvalidInputError

HEADROOM_BITS = 62
MAX_KEYS = 256  # key pairs kept per node process (oldest dropped): tasks in flight

_keys: dict[tuple[str, str], X25519PrivateKey] = {}
# the peer set a task's first masked round used: every later round (or a re-asked one) must
# use the same, or a hub could re-ask a round over fewer peers and unmask a pair's sum
_peers: dict[tuple[str, str], dict[str, str]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Segment:
    """A named run of values with its per-person bound and fixed-point bits."""

    name: str
    size: int
    bound: float  # max |per-person term|
    bits: int  # fractional bits


def fraction_bits(max_participants: int, bound: float, *, name: str) -> int:
    """f so that max_participants · bound · 2^f < 2^62; refuse when there is no room."""
    total = max_participants * max(bound, 1e-300)
    need = math.ceil(math.log2(total)) if total > 1 else 0
    bits = HEADROOM_BITS - need
    if bits < 0:
        raise InvalidInputError(
            f"secure aggregation cannot hold {name}: {max_participants:,} people x bound "
            f"{bound:g} needs {need} integer bits, more than the {HEADROOM_BITS} of a 64-bit "
            "sum; lower max_participants or the bounds",
            field="max_participants",
        )
    return bits


def encode(values: Sequence[np.ndarray], segments: Sequence[Segment]) -> np.ndarray:
    """Concatenated fixed-point integers (uint64, two's complement) of the segments."""
    parts = []
    for value, seg in zip(values, segments, strict=True):
        flat = np.asarray(value, dtype=np.float64).ravel()
        if flat.size != seg.size:
            raise InvalidInputError(f"segment {seg.name} has {flat.size} values, not {seg.size}")
        limit = 2.0 ** (HEADROOM_BITS - seg.bits)
        if flat.size and np.abs(flat).max() >= limit:
            raise InvalidInputError(
                f"{seg.name} exceeds the secure-aggregation bound (|sum| < {limit:g})",
                field=seg.name,
            )
        parts.append(np.rint(np.ldexp(flat, seg.bits)).astype(np.int64).view(np.uint64))
    return np.concatenate(parts) if parts else np.zeros(0, np.uint64)


def decode(total: np.ndarray, segments: Sequence[Segment]) -> list[np.ndarray]:
    """Float64 segments from a summed (unmasked) uint64 vector."""
    out, start = [], 0
    signed = total.view(np.int64)
    for seg in segments:
        out.append(np.ldexp(signed[start : start + seg.size].astype(np.float64), -seg.bits))
        start += seg.size
    return out


# ------------------------------------------------------------------ keys and masks
def new_public_key(task_id: str, party: str) -> str:
    """Make (or reuse) this node's key pair for the task; return the public key as hex."""
    with _lock:
        key = _keys.get((task_id, party))
        if key is None:
            key = _keys[(task_id, party)] = X25519PrivateKey.generate()
            while len(_keys) > MAX_KEYS:
                oldest = next(iter(_keys))
                _keys.pop(oldest)
                _peers.pop(oldest, None)
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def forget_key(task_id: str, party: str) -> None:
    with _lock:
        _keys.pop((task_id, party), None)
        _peers.pop((task_id, party), None)


def _pair_stream(shared: bytes, *, task_id: str, round_: int, a: str, b: str, n: int) -> np.ndarray:
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=task_id.encode(),
        info=f"genomesh-gwas-mask|round={round_}|{a}|{b}".encode(),
    ).derive(shared)
    cipher = Cipher(algorithms.ChaCha20(key, bytes(16)), mode=None).encryptor()
    return np.frombuffer(cipher.update(bytes(8 * n)), dtype=np.uint64)


def mask(
    vector: np.ndarray,
    *,
    task_id: str,
    round_: int,
    party: str,
    peers: Mapping[str, str],
) -> np.ndarray:
    """`vector` plus this party's pairwise masks (mod 2^64); `peers` maps every party
    (this one included) to its public key hex."""
    with _lock:
        key = _keys.get((task_id, party))
        pinned = _peers.setdefault((task_id, party), dict(peers)) if key is not None else None
    if pinned is not None and pinned != dict(peers):
        raise ConflictError(
            f"the hub sent a different set of parties for task {task_id} than in its earlier "
            "rounds; refusing to mask (a changed set could unmask a subset's sums)"
        )
    if key is None:
        raise ConflictError(
            f"no secure-aggregation key for task {task_id} at {party!r}: the key exchange "
            "round ran elsewhere or this node restarted; the task must start again"
        )
    own = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if peers.get(party) != own.hex():
        raise ConflictError(f"the hub's copy of {party!r}'s public key is not this node's")
    if len(set(peers.values())) != len(peers):
        raise ConflictError("two parties share a public key; refusing to mask")
    out = np.array(vector, dtype=np.uint64, copy=True)
    for other, public in sorted(peers.items()):
        if other == party:
            continue
        try:
            shared = key.exchange(X25519PublicKey.from_public_bytes(bytes.fromhex(public)))
        except ValueError as exc:
            raise InvalidInputError(f"bad public key for {other!r}: {exc}", field="peers") from exc
        a, b = sorted((party, other))
        stream = _pair_stream(shared, task_id=task_id, round_=round_, a=a, b=b, n=len(out))
        with np.errstate(over="ignore"):
            out = out + stream if party == a else out - stream
    return out


def unmask(vectors: Mapping[str, np.ndarray], expected: Sequence[str]) -> np.ndarray:
    """The sum mod 2^64 of every party's masked vector; a missing party aborts the round."""
    missing = sorted(set(expected) - set(vectors))
    if missing:
        raise ConflictError(
            f"secure round aborted: {', '.join(missing)} dropped out, so the pairwise masks "
            "cannot cancel; nothing was unmasked"
        )
    total = np.zeros_like(next(iter(vectors.values())), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for party in expected:
            total = total + np.asarray(vectors[party], dtype=np.uint64)
    return total
