"""Dropout-tolerant secure rounds for the linear GWAS (Bonawitz et al., CCS 2017).

    setup   each node: public keys (X25519 mask key per masked round label, share key)
    shares  each node: Shamir shares of its self-mask seed and mask key per label, encrypted
            to each other node; the hub keeps the ciphertexts (it cannot read them)
    flags   masked: y_u = x_u + PRG(b_u) + sum_v ±PRG(s_uv)   (over the nodes still alive)
    unmask  each survivor: its shares of b_u for every node whose vector arrived, and of
            s_d for every node d that dropped; never both for one node and label
    stats   masked as flags (over the survivors), then unmask again

With every vector in, the hub rebuilds each b_u from t shares and removes the self-masks
(the pairwise masks cancel). With node d missing, it also rebuilds s_d and removes the
pairwise masks the survivors made with d: the total is the survivors' exact sum. The hub
never holds both b_u and s_u of one node for one round, so a vector that arrives late after
its node was declared dropped still hides behind its self-mask. Each masked round has its
own keys (label `flags`, `stats`), so what is revealed for one round opens no other.

Threshold t = floor(n/2) + 1 of the task's n nodes (2 of 3); a round completes with at
least max(t, 2) survivors, whose datasets must pass the anti-differencing ledger for that
round's quantity (`nodesets`); else the task is refused with the reason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from genomesh.analysis.gwas import nodesets, secure, secure_shares
from genomesh.analysis.gwas.secure_keys import NodeSecrets
from genomesh.analysis.protocol import LocalReply
from genomesh.analysis.wire import decode_array, encode_array
from genomesh.core.errors import AccessDeniedError, ConflictError, InvalidInputError

LABELS = ("flags", "stats")


def quantity_key(definition: str, label: str) -> str:
    """The ledger key of one masked quantity of a definition (64 hex characters)."""
    return hashlib.sha256(f"{definition}|{label}".encode()).hexdigest()


# ------------------------------------------------------------------ hub side
def start(state: dict, replies: Mapping[str, LocalReply]) -> None:
    """After setup: the nodes' public keys; next, the share round."""
    parties = sorted(state["parties"])
    state["secagg"] = {
        "t": secure_shares.threshold(len(parties)),
        "mask_keys": {n: dict(replies[n].values["mask_keys"]) for n in parties},
        "enc_keys": {n: str(replies[n].values["share_key"]) for n in parties},
        "alive": parties,
        "dropped": [],
        "shares": {},
    }
    state["phase"] = "shares"


def round_params(state: dict, node: str) -> dict[str, Any]:
    """The secure parts of one node's params for the current phase."""
    sa = state["secagg"]
    phase = state["phase"]
    out: dict[str, Any] = {"enc_peers": sa["enc_keys"], "threshold": sa["t"]}
    if phase == "shares":
        out["labels"] = list(LABELS)
    elif phase == "unmask":
        pending = sa["pending"]
        out.update(
            label=pending["label"], senders=pending["senders"], dropped=pending["dropped"],
            shares={u: sa["shares"][u][node] for u in pending["senders"] + pending["dropped"]
                    if u != node},
        )  # fmt: skip
    else:
        out.update(label=phase, peers={n: sa["mask_keys"][n][phase] for n in sa["alive"]})
    return out


def asked(state: dict) -> list[str]:
    """The nodes asked this round: the survivors (unmask: those whose vectors arrived)."""
    sa = state["secagg"]
    if state["phase"] == "unmask":
        return list(sa["pending"]["senders"])
    return list(sa["alive"])


def after_shares(state: dict, replies: Mapping[str, LocalReply]) -> None:
    sa = state["secagg"]
    senders = sorted(n for n in sa["alive"] if n in replies)
    _survivors(state, senders, stage="shares")
    for node in senders:
        shares = replies[node].values.get("shares")
        if not isinstance(shares, dict) or set(shares) != set(state["parties"]) - {node}:
            raise ConflictError(f"node {node!r} sent no share for every other node")
        sa["shares"][node] = {str(v): str(ct) for v, ct in shares.items()}
    sa["alive"] = senders
    state["dropped"] = sorted(set(state["parties"]) - set(senders))
    state["phase"] = "flags"


def collect(state: dict, replies: Mapping[str, LocalReply], *, keep: dict | None = None) -> None:
    """A masked round's vectors: keep their sum until the unmask round."""
    sa = state["secagg"]
    label = state["phase"]
    senders = sorted(n for n in sa["alive"] if n in replies)
    dropped = sorted(set(sa["alive"]) - set(senders))
    _survivors(state, senders, stage=label)
    total = secure.add(replies[n].arrays["masked"] for n in senders)
    sa["pending"] = {
        "label": label, "senders": senders, "dropped": dropped,
        "total": encode_array(total), "keep": keep or {},
    }  # fmt: skip
    sa["alive"] = senders
    state["phase"] = "unmask"


def finish(state: dict, replies: Mapping[str, LocalReply]) -> tuple[str, np.ndarray, dict]:
    """The unmask round: rebuild the self-mask seeds and dropped keys, remove their masks;
    (label, the survivors' exact fixed-point total, what `collect` kept)."""
    sa = state["secagg"]
    pending = sa.pop("pending")
    label, senders, dropped = pending["label"], pending["senders"], pending["dropped"]
    t = sa["t"]
    answered = sorted(n for n in senders if n in replies)
    if len(answered) < t:
        raise ConflictError(
            f"secure round aborted: only {len(answered)} node(s) answered the unmask round of "
            f"{label!r} ({', '.join(sorted(set(senders) - set(answered)))} did not), fewer "
            f"than the threshold {t}; nothing was unmasked"
        )
    record(state, label)  # the total is about to be revealed
    parties = sorted(state["parties"])
    shares: dict[str, dict[str, dict[int, int]]] = {"self": {}, "pair": {}}
    for node in answered:
        x = secure_shares.point(parties, node)
        for kind, owners in (("self", senders), ("pair", dropped)):
            got = replies[node].values.get(kind) or {}
            for owner in owners:
                if owner not in got:
                    raise ConflictError(f"node {node!r} sent no {kind} share of {owner!r}")
                shares[kind].setdefault(owner, {})[x] = int(str(got[owner]), 16)
    total = decode_array(pending["total"], field="total").astype(np.uint64)
    n = len(total)
    with np.errstate(over="ignore"):
        for owner in senders:
            seed = _rebuild(shares["self"][owner], t, what=f"the self-mask seed of {owner!r}")
            total = total - secure.self_stream(seed, n)
        for gone in dropped:
            raw = _rebuild(shares["pair"][gone], t, what=f"the {label} mask key of {gone!r}")
            key = secure.X25519PrivateKey.from_private_bytes(raw)
            if secure.public_hex(key) != sa["mask_keys"][gone][label]:
                raise ConflictError(
                    f"the rebuilt mask key of {gone!r} does not match its public key"
                )
            for node in senders:
                shared = secure.exchange(key, sa["mask_keys"][node][label], who=node)
                a, b = sorted((node, gone))
                stream = secure.pair_stream(
                    shared, task_id="", label=label, round_=0, a=a, b=b, n=n
                )
                # the survivor added the pair's stream when it was `a`, subtracted it if `b`
                total = total - stream if node == a else total + stream
    if dropped:
        state["dropped"] = sorted(set(state.get("dropped", [])) | set(dropped))
    return label, total, pending["keep"]


def _rebuild(points: Mapping[int, int], t: int, *, what: str) -> bytes:
    xs = sorted(points)
    if len(xs) < t:
        raise ConflictError(f"too few shares to rebuild {what}")
    first = secure_shares.combine({x: points[x] for x in xs[:t]})
    if secure_shares.combine({x: points[x] for x in xs[-t:]}) != first or first >= 2**256:
        raise ConflictError(f"the shares of {what} disagree; nothing was unmasked")
    return first.to_bytes(32, "big")


def _survivors(state: dict, alive: list[str], *, stage: str) -> None:
    """Refuse to go on with too few nodes, or with a set the hub could difference out."""
    sa = state["secagg"]
    gone = sorted(set(sa["alive"]) - set(alive))
    if not gone:
        return
    need = max(sa["t"], 2)
    if len(alive) < need:
        raise ConflictError(
            f"secure round {stage!r} aborted: {', '.join(gone)} dropped out and {len(alive)} "
            f"node(s) remain, fewer than the {need} needed to unmask without revealing one "
            "node's numbers; nothing was unmasked"
        )
    units = frozenset(f"{n}/{d}" for n in alive for d in state["parties"][n])
    definition = state["definition"]
    for label in LABELS:  # every quantity still to come is over the survivors
        if stage in ("shares", "flags") or label == "stats":
            try:
                nodesets.check(quantity_key(definition, label), units)
            except AccessDeniedError as exc:
                raise AccessDeniedError(
                    f"secure round {stage!r}: {', '.join(gone)} dropped out, and the survivors' "
                    f"total is {exc.message}"
                ) from exc


def record(state: dict, label: str) -> None:
    """A quantity's total is about to be revealed: check and record its dataset set."""
    units = frozenset(f"{n}/{d}" for n in state["secagg"]["alive"] for d in state["parties"][n])
    nodesets.check_and_record(quantity_key(state["definition"], label), units)


# ------------------------------------------------------------------ node side
def node_shares(keys: NodeSecrets, task_id: str, party: str, params: Mapping[str, Any]) -> dict:
    enc_peers = _mapping(params.get("enc_peers"), "enc_peers")
    if party not in enc_peers:
        raise InvalidInputError("this node is not among the task's parties", field="enc_peers")
    if enc_peers[party] != keys.public_hex(task_id, party, "shares"):
        raise ConflictError(f"the hub's copy of {party!r}'s share key is not this node's")
    _pin_parties(keys, task_id, party, enc_peers)
    t = _threshold(params, len(enc_peers))
    labels = [str(label) for label in params.get("labels") or LABELS]
    return {"shares": secure_shares.encrypt_shares(keys, task_id, party, enc_peers, t, labels)}


def node_unmask(
    keys: NodeSecrets, task_id: str, party: str, round_: int, params: Mapping[str, Any]
) -> dict:
    """This node's shares for one unmask round, after checking it reveals nothing twice."""
    label = str(params.get("label"))
    senders = [str(n) for n in params.get("senders") or []]
    dropped = [str(n) for n in params.get("dropped") or []]
    enc_peers = _mapping(params.get("enc_peers"), "enc_peers")
    _pin_parties(keys, task_id, party, enc_peers)
    t = _threshold(params, len(enc_peers))
    masked = keys.records.get(task_id, party, f"peers:{label}")
    if masked is None:
        raise ConflictError(f"this node masked no {label!r} round of task {task_id}")
    if (
        party not in senders
        or set(senders) & set(dropped)
        or set(senders) | set(dropped) != set(json.loads(masked))
    ):
        raise ConflictError(
            f"the unmask request for {label!r} does not split the parties this node masked "
            "with into those whose vectors arrived and those that dropped; refused"
        )
    if len(senders) < max(t, 2):
        raise ConflictError(
            f"only {len(senders)} vectors of {label!r} arrived, fewer than max(threshold, 2); "
            "this node reveals no share (one node's numbers would follow)"
        )
    for owner, kind in [*((s, "self") for s in senders), *((d, "pair") for d in dropped)]:
        kept = keys.records.reveal(task_id, party, f"{owner}|{label}", kind, round_)
        if kept != kind:
            raise ConflictError(
                f"this node revealed {owner!r}'s {kept} share for {label!r} before; revealing "
                f"its {kind} share too would let the hub unmask {owner!r}'s vector"
            )
    relayed = _mapping(params.get("shares"), "shares")
    own = secure_shares.own_shares(keys, task_id, party, sorted(enc_peers), t, [label])
    x = secure_shares.point(sorted(enc_peers), party)
    out: dict[str, dict[str, str]] = {"self": {}, "pair": {}}
    for owner, kind in [*((s, "self") for s in senders), *((d, "pair") for d in dropped)]:
        if owner == party:
            out[kind][owner] = hex(own[label][kind][x])
            continue
        if owner not in relayed:
            raise ConflictError(f"the hub relayed no share from {owner!r}")
        got = secure_shares.decrypt_shares(
            keys, task_id, party, owner, enc_peers[owner], relayed[owner]
        )
        out[kind][owner] = hex(got[label][kind])
    return out


def _pin_parties(keys: NodeSecrets, task_id: str, party: str, enc_peers: dict[str, str]) -> None:
    """One party set and share keys per task: shares re-made for another set (other
    evaluation points, or keys the hub chose) would give the hub more than t - 1 of them."""
    if keys.pin_peers(task_id, party, enc_peers, label="shares") != dict(sorted(enc_peers.items())):
        raise ConflictError(
            f"the hub sent other parties or share keys for task {task_id} than before; refused"
        )


def _mapping(value: Any, field: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidInputError(f"{field} must map node names to hex strings", field=field)
    return {str(k): v for k, v in value.items()}


def _threshold(params: Mapping[str, Any], n: int) -> int:
    t = params.get("threshold")
    if t != secure_shares.threshold(n):
        raise InvalidInputError(
            f"the share threshold must be {secure_shares.threshold(n)} for {n} nodes",
            field="threshold",
        )
    return int(t)
