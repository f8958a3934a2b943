"""Shamir secret sharing of a node's mask secrets, encrypted to the other nodes.

For dropout tolerance (Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving
Machine Learning", CCS 2017) each node u, per masked round label L, has two secrets: the
seed b_u of its self-mask and the private X25519 key s_u of its pairwise masks. It splits
each with Shamir's scheme over GF(p), p = 2^521 - 1 (a Mersenne prime above the 2^256
secrets), threshold t: any t shares give the secret, t - 1 shares say nothing about it. The
share for node v (evaluation point x = v's position + 1 in the sorted party list) travels
encrypted to v (X25519 between u's and v's share keys, HKDF-SHA256, ChaCha20-Poly1305 with
the task and both names as associated data): the hub relays it but cannot read it.

The polynomial's coefficients are derived from the node's secret (`secure_keys`), so a
re-asked share round sends the very same shares (two sharings of one secret would give the
hub 2(t - 1) shares).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from genomesh.analysis.gwas.secure import exchange
from genomesh.core.errors import ConflictError

if TYPE_CHECKING:
    from genomesh.analysis.gwas.secure_keys import NodeSecrets

P = 2**521 - 1
COEFF_BYTES = 72  # 576 bits reduced mod p: bias below 2^-55
KINDS = ("self", "pair")  # the self-mask seed b_u, the pairwise mask key s_u


def threshold(n: int) -> int:
    """Shares needed to rebuild a secret: a majority of the task's n nodes (2 of 3)."""
    return n // 2 + 1


def split(secret: int, coefficients: Sequence[int], xs: Sequence[int]) -> dict[int, int]:
    """Shares f(x) of f(z) = secret + c1 z + ... + c_{t-1} z^{t-1} (mod p)."""
    out = {}
    for x in xs:
        value = 0
        for c in reversed([secret, *coefficients]):
            value = (value * x + c) % P
        out[x] = value
    return out


def combine(shares: Mapping[int, int]) -> int:
    """f(0) from shares {x: f(x)} by Lagrange interpolation (mod p)."""
    secret = 0
    for i, yi in shares.items():
        num, den = 1, 1
        for j in shares:
            if j != i:
                num = num * (-j) % P
                den = den * (i - j) % P
        secret = (secret + yi * num * pow(den, -1, P)) % P
    return secret


def point(parties: Sequence[str], party: str) -> int:
    return sorted(parties).index(party) + 1


def secret_of(keys: NodeSecrets, task_id: str, party: str, label: str, kind: str) -> bytes:
    """The 32 bytes shared: the self-mask seed, or the raw private mask key."""
    if kind == "self":
        return keys.derive(task_id, party, f"self|{label}")
    return keys.derive(task_id, party, f"mask|{label}")


def own_shares(
    keys: NodeSecrets,
    task_id: str,
    party: str,
    parties: Sequence[str],
    t: int,
    labels: Sequence[str],
) -> dict[str, dict[str, dict[int, int]]]:
    """label -> kind -> {x: share} of this node's secrets, for every party's point."""
    xs = [point(parties, p) for p in parties]
    out: dict[str, dict[str, dict[int, int]]] = {}
    for label in labels:
        out[label] = {}
        for kind in KINDS:
            secret = int.from_bytes(secret_of(keys, task_id, party, label, kind), "big")
            raw = keys.derive(task_id, party, f"shamir|{label}|{kind}", COEFF_BYTES * (t - 1))
            coefficients = [
                int.from_bytes(raw[i : i + COEFF_BYTES], "big") % P
                for i in range(0, len(raw), COEFF_BYTES)
            ]
            out[label][kind] = split(secret, coefficients, xs)
    return out


def _aead(
    keys: NodeSecrets, task_id: str, party: str, other_public: str, other: str
) -> ChaCha20Poly1305:
    shared = exchange(keys.x25519(task_id, party, "shares"), other_public, who=other)
    a, b = sorted((party, other))
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=task_id.encode(),
        info=f"genomesh-secagg-shares|{a}|{b}".encode(),
    ).derive(shared)
    return ChaCha20Poly1305(key)


def encrypt_shares(
    keys: NodeSecrets,
    task_id: str,
    party: str,
    enc_peers: Mapping[str, str],
    t: int,
    labels: Sequence[str],
) -> dict[str, str]:
    """recipient -> hex ciphertext of its shares of this node's secrets (every label)."""
    parties = sorted(enc_peers)
    shares = own_shares(keys, task_id, party, parties, t, labels)
    out = {}
    for other in parties:
        if other == party:
            continue
        x = point(parties, other)
        body = {label: {kind: hex(shares[label][kind][x]) for kind in KINDS} for label in labels}
        aead = _aead(keys, task_id, party, enc_peers[other], other)
        aad = f"{task_id}|{party}|{other}".encode()
        out[other] = aead.encrypt(bytes(12), json.dumps(body).encode(), aad).hex()
    return out


def decrypt_shares(
    keys: NodeSecrets, task_id: str, party: str, sender: str, sender_public: str, text: str
) -> dict[str, dict[str, int]]:
    """label -> kind -> share, from `sender`'s ciphertext to this node."""
    aead = _aead(keys, task_id, party, sender_public, sender)
    try:
        plain = aead.decrypt(bytes(12), bytes.fromhex(text), f"{task_id}|{sender}|{party}".encode())
    except (InvalidTag, ValueError) as exc:
        raise ConflictError(
            f"the shares relayed from {sender!r} do not decrypt at this node (tampered with, "
            "or not addressed to it)"
        ) from exc
    body = json.loads(plain)
    return {label: {kind: int(v, 16) for kind, v in kinds.items()} for label, kinds in body.items()}
