"""Secure aggregation: pairwise masks in fixed-point arithmetic mod 2^64 that cancel exactly.

Each node turns its float64 sums into integers (fixed point: x · 2^f rounded, per segment),
adds one mask per other node, and sends the result; the hub adds all nodes' vectors mod 2^64
and the masks cancel, leaving exactly the sum of the fixed-point values. One node's vector
is uniformly distributed to anyone who lacks a key it shares with another node.

Masks. In round 0 every node sends an X25519 public key through the hub (derived from the
node's secret and the task: `secure_keys`, so every worker of the node, and the node after a
restart, has the same key). For the pair (a, b), a < b by name, both derive the same shared
secret; HKDF-SHA256 over it (salt: the task id; info: the key's label, round and pair) gives
a 256-bit ChaCha20 key, whose key stream is the mask: a adds it, b subtracts it. Seeds are
256 bits, unlike the 32-bit seeds that make Flower's SecAgg+ unsuitable, and nothing is
quantised lossily beyond the declared fixed-point resolution.

Fixed point and the overflow bound. A segment whose per-person terms are bounded by B in
absolute value (e.g. |age · y| ≤ covariate_bound · trait_bound) sums to at most N · B over N
people. With f fractional bits the integer is at most N · B · 2^f, which must stay below
2^62 (one bit spare below the int64 sign bit): f = 62 - ceil(log2(N_max · B)). For
N_max = 500,000, covariate bound 1,000 and trait bound 10,000, C'C has f = 23 (resolution
1.2e-7 on sums of order 1e8 or more), y'y f = 16, C'g f = 32. A segment with N_max · B ≥ 2^62
has no room and the analysis is refused at configure; a node refuses values beyond the
declared bounds, and the hub refuses a run whose nodes together have more than N_max people,
all before any masked value is made.

Dropouts. The linear rounds are dropout-tolerant (Bonawitz et al. 2017, double masking:
each node also adds a self-mask, and secret-shares its self-mask seed and its per-round
mask key with the other nodes; `secure_shares`, `secure_rounds`). The logistic rounds, whose
number is not known in advance, use pairwise masks only: a round with a node missing is
aborted with the node's name (the hub cannot unmask a partial sum).

The hub relays public keys; it is trusted not to substitute them (honest-but-curious).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from genomesh.core.errors import ConflictError, InvalidInputError

if TYPE_CHECKING:  # the hub imports this module too: only the node derives keys
    from genomesh.analysis.gwas.secure_keys import NodeSecrets

HEADROOM_BITS = 62


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


# ------------------------------------------------------------------ masks
def pair_stream(
    shared: bytes, *, task_id: str, label: str, round_: int, a: str, b: str, n: int
) -> np.ndarray:
    """The pair (a, b)'s mask for one round: ChaCha20 under HKDF(shared secret)."""
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=task_id.encode(),
        info=f"genomesh-gwas-mask|{label}|round={round_}|{a}|{b}".encode(),
    ).derive(shared)
    return _stream(key, n)


def self_stream(seed: bytes, n: int) -> np.ndarray:
    """A node's self-mask: ChaCha20 under its (secret-shared) 256-bit seed."""
    return _stream(seed, n)


def _stream(key: bytes, n: int) -> np.ndarray:
    cipher = Cipher(algorithms.ChaCha20(key, bytes(16)), mode=None).encryptor()
    return np.frombuffer(cipher.update(bytes(8 * n)), dtype=np.uint64)


def exchange(key: X25519PrivateKey, public_hex: str, *, who: str) -> bytes:
    try:
        return key.exchange(X25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)))
    except ValueError as exc:
        raise InvalidInputError(f"bad public key for {who!r}: {exc}", field="peers") from exc


def public_hex(key: X25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def mask(
    vector: np.ndarray,
    *,
    keys: NodeSecrets,
    task_id: str,
    round_: int,
    party: str,
    peers: Mapping[str, str],
    label: str = "task",
    self_mask: bool = False,
) -> np.ndarray:
    """`vector` plus this party's pairwise masks (and its self-mask) mod 2^64.

    `peers` maps every party (this one included) to its public mask key (hex) for `label`.
    The first masked round pins the task's party set; a round is masked at most once per
    vector (`NodeSecrets.pin_round`)."""
    key = keys.x25519(task_id, party, f"mask|{label}")
    if peers.get(party) != public_hex(key):
        raise ConflictError(
            f"the hub's copy of {party!r}'s public key is not this node's (the key exchange "
            "ran before this node's secure-aggregation records were reset); the task must "
            "start again"
        )
    if len(set(peers.values())) != len(peers):
        raise ConflictError("two parties share a public key; refusing to mask")
    # every round under one key label goes to the same parties: a hub re-asking over fewer
    # could otherwise take the difference of two sums (`task`: all pairwise-only rounds)
    if keys.pin_peers(task_id, party, peers, label=label) != dict(sorted(peers.items())):
        raise ConflictError(
            f"the hub sent a different set of parties for task {task_id} than in its "
            "earlier rounds; refusing to mask (a changed set could unmask a subset's sums)"
        )
    out = np.array(vector, dtype=np.uint64, copy=True)
    keys.pin_round(task_id, party, round_, peers, out)
    with np.errstate(over="ignore"):
        if self_mask:
            out = out + self_stream(keys.derive(task_id, party, f"self|{label}"), len(out))
        for other, public in sorted(peers.items()):
            if other == party:
                continue
            shared = exchange(key, public, who=other)
            a, b = sorted((party, other))
            # a labelled round's keys are its own (per task and label): the hub can rebuild
            # its stream from a dropped node's key alone
            stream = pair_stream(
                shared, task_id=task_id if label == "task" else "", label=label,
                round_=round_ if label == "task" else 0, a=a, b=b, n=len(out),
            )  # fmt: skip
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
    return add(vectors[party] for party in expected)


def add(vectors: Iterable[np.ndarray]) -> np.ndarray:
    """Sum mod 2^64."""
    total: np.ndarray | None = None
    with np.errstate(over="ignore"):
        for vector in vectors:
            v = np.asarray(vector, dtype=np.uint64)
            total = v.copy() if total is None else total + v
    if total is None:
        raise ConflictError("no masked vector arrived")
    return total
