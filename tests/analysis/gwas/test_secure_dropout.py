"""Dropout-tolerant secure GWAS: a node dropping mid-task leaves the survivors' exact pooled
result, or a clean refusal that says why; the hub never gets both shares of one node."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from scipy import stats

from genomesh.analysis.gwas import GWAS, nodesets, secure, secure_rounds, secure_shares
from genomesh.analysis.gwas.analysis import GwasAnalysis
from genomesh.analysis.gwas.secure_keys import NodeSecrets
from genomesh.analysis.protocol import LocalReply
from genomesh.core.errors import AccessDeniedError, ConflictError
from genomesh.testing.federation import run_rounds
from genomesh.testing.gwas import design_matrix, naive_linear, pooled

SECURE = {"trait": "quantitative", "covariates": ["sex", "age"], "min_mac": 0, "mode": "secure"}
SHARES, FLAGS, FLAGS_UNMASK, STATS, STATS_UNMASK = 1, 2, 3, 4, 5


@pytest.fixture(autouse=True)
def _fresh_ledger():
    nodesets.set_ledger(nodesets.InMemoryNodeSetLedger())
    yield
    nodesets.set_ledger(nodesets.InMemoryNodeSetLedger())


def _reference(nodes: dict, survivors: list[str]) -> dict:
    people, G, sites = pooled({n: nodes[n] for n in survivors})
    C = design_matrix(people, sites, ["sex", "age"], None)
    return naive_linear(G, C, people.quantitative.to_numpy(float))


def _equal(result: dict, ref: dict) -> None:
    rows = pd.DataFrame(result["table"])
    ok = np.isfinite(ref["beta"])
    assert ok.sum() > 0.8 * len(rows)  # two of three nodes: fewer variants vary
    scale = np.maximum(np.abs(ref["beta"][ok]), ref["se"][ok])
    assert (np.abs(rows.BETA.to_numpy()[ok] - ref["beta"][ok]) <= 1e-6 * scale).all()
    np.testing.assert_allclose(rows.SE.to_numpy()[ok], ref["se"][ok], rtol=1e-6)


@pytest.mark.parametrize(
    ("round_", "stage"), [(SHARES, "shares"), (FLAGS, "flags"), (STATS, "stats")]
)
def test_node_dropping__survivors_exact_pooled_result(nodes, round_: int, stage: str) -> None:
    record: list = []
    result, _ = run_rounds(
        GWAS, SECURE, nodes, record=record, task_id=f"drop-{stage}",
        drop=lambda rnd, node: rnd >= round_ and node == "node-2",
    )  # fmt: skip
    _equal(result, _reference(nodes, ["node-1", "node-3"]))
    assert result["nodes"] == ["node-1", "node-3"] and result["dropped_nodes"] == ["node-2"]
    assert result["datasets"] == ["ds-1", "ds-3"]
    assert set(pd.DataFrame(result["table"]).DATASETS) <= {"ds-1,ds-3", "ds-1", "ds-3", ""}
    # the survivors revealed node-2's pairwise share (it dropped) and never its self share
    # (per round label: before it dropped, its flags self-mask was opened as anyone's)
    after = [r for rnd, _, r in record if rnd in (FLAGS_UNMASK, STATS_UNMASK) and rnd > round_]
    assert after and all("node-2" not in r.values["self"] for r in after)
    assert any("node-2" in r.values["pair"] for r in after) == (stage != "shares")
    # the survivors' totals are on the ledger: a rerun on all three would isolate node-2
    with pytest.raises(AccessDeniedError, match="recover the sums of node-2/ds-2"):
        GWAS.configure(SECURE, {n: list(d.dataset_ids) for n, d in nodes.items()})


class _Spy(GwasAnalysis):
    """The GWAS, keeping every reply the nodes computed (also those that never arrived)."""

    def __init__(self) -> None:
        self.made: list[tuple[int, str, LocalReply]] = []

    def local(self, data, request):  # type: ignore[no-untyped-def]
        reply = super().local(data, request)
        self.made.append((request.round, str(request.params["party"]), reply))
        return reply


def test_late_vector_of_a_dropped_node__still_hidden_by_its_self_mask(nodes) -> None:
    """node-2's stats vector reaches the hub after the survivors revealed node-2's pairwise
    key: the hub removes every pairwise mask and is left with x + node-2's self-mask."""
    spy, record = _Spy(), []
    _, state = run_rounds(
        spy, SECURE, nodes, record=record, task_id="late",
        drop=lambda rnd, node: rnd >= STATS and node == "node-2",
    )  # fmt: skip
    (late,) = [r.arrays["masked"] for rnd, n, r in spy.made if rnd == STATS and n == "node-2"]
    parties = sorted(nodes)
    unmask = [(n, r) for rnd, n, r in record if rnd == STATS_UNMASK]
    assert all("node-2" not in r.values["self"] for _, r in unmask)  # never its self share
    points = {
        secure_shares.point(parties, n): int(r.values["pair"]["node-2"], 16) for n, r in unmask
    }
    key = X25519PrivateKey.from_private_bytes(secure_shares.combine(points).to_bytes(32, "big"))
    keys = state["secagg"]["mask_keys"]
    assert secure.public_hex(key) == keys["node-2"]["stats"]
    opened = late.copy()
    with np.errstate(over="ignore"):
        for other in ("node-1", "node-3"):
            a, b = sorted(("node-2", other))
            stream = secure.pair_stream(
                secure.exchange(key, keys[other]["stats"], who=other),
                task_id="", label="stats", round_=0, a=a, b=b, n=len(late),
            )  # fmt: skip
            opened = opened - stream if a == "node-2" else opened + stream
    # x is small fixed point (top byte 0x00 or 0xff); what is left is uniform
    top = (opened >> np.uint64(56)).astype(np.int64)
    assert np.isin(top, [0, 255]).mean() < 0.05
    assert stats.chisquare(np.bincount(top, minlength=256)).pvalue > 1e-4


def test_two_of_three_dropping__refused_with_the_reason(nodes) -> None:
    with pytest.raises(ConflictError, match=r"node-2, node-3 dropped out and 1 node\(s\) remain"):
        run_rounds(GWAS, SECURE, nodes, task_id="two-drop",
                   drop=lambda rnd, node: rnd >= FLAGS and node != "node-1")  # fmt: skip


def test_dropout_that_would_difference_out_a_node__refused(nodes) -> None:
    run_rounds(GWAS, SECURE, nodes, task_id="complete")
    with pytest.raises(AccessDeniedError, match=r"node-3 dropped out.*recover the sums of node-3"):
        run_rounds(GWAS, SECURE, nodes, task_id="then-drop",
                   drop=lambda rnd, node: rnd >= STATS and node == "node-3")  # fmt: skip


def test_node_dropping_in_the_unmask_round__threshold_still_met(nodes) -> None:
    result, _ = run_rounds(
        GWAS, SECURE, nodes, task_id="drop-unmask",
        drop=lambda rnd, node: rnd == STATS_UNMASK and node == "node-3",
    )  # fmt: skip
    _equal(result, _reference(nodes, sorted(nodes)))
    assert "dropped_nodes" not in result


def test_too_few_answers_to_an_unmask_round__refused(nodes) -> None:
    with pytest.raises(ConflictError, match=r"only 1 node\(s\) answered the unmask round"):
        run_rounds(GWAS, SECURE, nodes, task_id="unmask-two-drop",
                   drop=lambda rnd, node: rnd == STATS_UNMASK and node != "node-1")  # fmt: skip


def test_node_reveals_one_share_per_peer__never_both() -> None:
    """A hub that first says everyone's vector arrived, then that node c dropped, would get
    c's self-mask seed and its pairwise key: the node refuses the second reveal."""
    task, label = "both-task", "stats"
    keys = {p: NodeSecrets.in_memory() for p in "abc"}
    masks = {p: k.public_hex(task, p, f"mask|{label}") for p, k in keys.items()}
    enc = {p: k.public_hex(task, p, "shares") for p, k in keys.items()}
    t = secure_shares.threshold(3)
    shares = {p: secure_rounds.node_shares(k, task, p, {"enc_peers": enc, "threshold": t})["shares"]
              for p, k in keys.items()}  # fmt: skip
    vector = np.zeros(4, dtype=np.uint64)
    secure.mask(vector, keys=keys["a"], task_id=task, round_=4, party="a", peers=masks,
                label=label, self_mask=True)  # fmt: skip
    relayed = {u: shares[u]["a"] for u in "bc"}
    ask = {"label": label, "enc_peers": enc, "threshold": t, "shares": relayed}
    first = secure_rounds.node_unmask(keys["a"], task, "a", 5, {**ask, "senders": ["a", "b", "c"]})
    assert set(first["self"]) == {"a", "b", "c"} and not first["pair"]
    with pytest.raises(ConflictError, match=r"revealed 'c''s self share .* before"):
        secure_rounds.node_unmask(
            keys["a"], task, "a", 6, {**ask, "senders": ["a", "b"], "dropped": ["c"]}
        )
    # shares are made for one party set and key set only
    fake = {**enc, "c": keys["b"].public_hex(task, "b", "shares")}
    with pytest.raises(ConflictError, match="other parties or share keys"):
        secure_rounds.node_shares(keys["a"], task, "a", {"enc_peers": fake, "threshold": t})
    # and a node reveals nothing when too few vectors arrived
    with pytest.raises(ConflictError, match="split the parties"):
        secure_rounds.node_unmask(keys["a"], task, "a", 7, {**ask, "senders": ["a"]})


def test_shamir__any_t_shares_rebuild_fewer_do_not() -> None:
    secret = int.from_bytes(bytes(range(32)), "big")
    shares = secure_shares.split(secret, [12345, 67890], [1, 2, 3, 4, 5])  # t = 3
    assert secure_shares.combine({x: shares[x] for x in (1, 3, 5)}) == secret
    assert secure_shares.combine({x: shares[x] for x in (2, 4, 5)}) == secret
    assert secure_shares.combine({x: shares[x] for x in (1, 2)}) != secret
