"""Secure aggregation: the same pooled answer, while one node's masked sums look uniform."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from genomesh.analysis.gwas import GWAS, layout, nodesets, secure, secure_shares
from genomesh.analysis.gwas.node_stats import aligned_stats
from genomesh.analysis.gwas.secure_keys import NodeSecrets
from genomesh.analysis.wire import decode_array
from genomesh.core.errors import AccessDeniedError, ConflictError, InvalidInputError
from genomesh.testing.federation import run_rounds
from genomesh.testing.gwas import design_matrix, naive_linear, pooled, split_nodes

from .conftest import Cohort

SECURE = {"trait": "quantitative", "covariates": ["sex", "age"], "min_mac": 0, "mode": "secure"}
FLAGS, STATS = 2, 4  # round numbers: setup, shares, flags, unmask, stats, unmask


@pytest.fixture(autouse=True)
def _fresh_ledger():
    nodesets.set_ledger(nodesets.InMemoryNodeSetLedger())
    yield
    nodesets.set_ledger(nodesets.InMemoryNodeSetLedger())


def _check(rows: pd.DataFrame, ref: dict, full: np.ndarray | None = None) -> None:
    ok = np.isfinite(ref["beta"]) if full is None else np.isfinite(ref["beta"]) & full
    assert ok.sum() > 0.9 * len(rows)
    beta, se = rows.BETA.to_numpy()[ok], rows.SE.to_numpy()[ok]
    scale = np.maximum(np.abs(ref["beta"][ok]), ref["se"][ok])
    assert (np.abs(beta - ref["beta"][ok]) <= 1e-6 * scale).all()
    np.testing.assert_allclose(se, ref["se"][ok], rtol=1e-6)


def test_secure__equals_naive_float64_reference(nodes) -> None:
    record: list = []
    result, state = run_rounds(GWAS, SECURE, nodes, record=record, task_id="plain")
    people, G, sites = pooled(nodes)
    C = design_matrix(people, sites, ["sex", "age"], None)
    _check(pd.DataFrame(result["table"]), naive_linear(G, C, people.quantitative.to_numpy(float)))
    # rounds: setup, shares, flags, unmask, stats, unmask. The hub received only masked
    # vectors: the flags round, then the stats round (and the contributes flags), which has
    # no correction rows when no genotype is missing
    assert all(set(r.arrays) == {"masked"} for rnd, _, r in record if rnd == FLAGS)
    stats_replies = [r for rnd, _, r in record if rnd == STATS]
    assert all(set(r.arrays) == {"masked", "contributes"} for r in stats_replies)
    assert state["n_corr_rows"] == 0
    k, V = 5, len(state["variants"])
    assert all(len(r.arrays["masked"]) == k * (k + 1) // 2 + k + 1 + V * (k + 2)
               for r in stats_replies)  # fmt: skip


def test_secure_with_missing_genotypes__equals_reference(cohort: Cohort) -> None:
    dosages = cohort.dosages.copy()
    half = dosages[: len(dosages) // 2]  # missing calls in the first half of the variants only
    half[np.random.default_rng(2).random(half.shape) < 0.03] = -1
    nodes, _ = split_nodes(cohort.individuals, cohort.variants, dosages)
    result, state = run_rounds(GWAS, SECURE, nodes, task_id="missing")
    # corrections travel for exactly the variants with a missing call at some node
    assert state["n_corr_rows"] == int((half < 0).any(axis=1).sum()) < len(dosages)
    rows = pd.DataFrame(result["table"])
    people, G, sites = pooled(nodes)
    C = design_matrix(people, sites, ["sex", "age"], None)
    ref = naive_linear(G, C, people.quantitative.to_numpy(float))
    _check(rows, ref, full=(rows.DATASETS == "ds-1,ds-2,ds-3").to_numpy())


def test_hub_recording_everything__cannot_recover_one_nodes_CG(nodes, cohort: Cohort) -> None:
    record: list = []
    _, state = run_rounds(GWAS, SECURE, nodes, record=record, task_id="spy")
    masked = {node: r.arrays["masked"] for rnd, node, r in record if rnd == STATS}
    # each node's true fixed-point vector, computed as the node does before masking
    sites, union = state["sites"], {k: i for i, k in enumerate(state["variants"])}
    V, k = len(union), len(sites) + 2
    rows = np.flatnonzero(np.unpackbits(decode_array(state["corr_rows"]), count=V))
    segs = layout.segments(k, V, cb=1000.0, yb=10_000.0, n_max=500_000, r=len(rows))
    from genomesh.analysis.gwas.params import parse_params

    p = parse_params(SECURE)
    true = {}
    for node, data in nodes.items():
        (ds,) = data.dataset_ids
        true[node] = layout.secure_vector(
            aligned_stats(data, ds, params=p, sites=sites, union=union), segs, rows
        )
    start = sum(s.size for s in segs[:3])
    cg = slice(start, start + V * k)  # the C'G segment
    for node, vector in masked.items():
        seen, real = vector[cg], true[node][cg]
        assert (seen != real).mean() > 0.999
        # the masked values are uniform on [0, 2^64): top byte ~ uniform (chi-square)
        counts = np.bincount((seen >> np.uint64(56)).astype(np.int64), minlength=256)
        assert stats.chisquare(counts).pvalue > 1e-4
        # and carry no linear trace of the true C'G
        r = np.corrcoef(seen.astype(np.float64), real.view(np.int64).astype(np.float64))[0, 1]
        assert abs(r) < 5 / np.sqrt(len(seen))
    # the hub also recorded the unmask round: every node's self-mask seed follows from the
    # shares, yet with the self-masks removed each vector still hides behind pairwise masks
    parties = sorted(masked)
    unmask = [(node, r) for rnd, node, r in record if rnd == STATS + 1]
    unself = {}
    for owner in parties:
        points = {secure_shares.point(parties, n): int(r.values["self"][owner], 16)
                  for n, r in unmask}  # fmt: skip
        seed = secure_shares.combine(points).to_bytes(32, "big")
        with np.errstate(over="ignore"):
            unself[owner] = masked[owner] - secure.self_stream(seed, len(masked[owner]))
        assert all(owner not in (r.values.get("pair") or {}) for _, r in unmask)
        seen, real = unself[owner][cg], true[owner][cg]
        assert (seen != real).mean() > 0.999
        r = np.corrcoef(seen.astype(np.float64), real.view(np.int64).astype(np.float64))[0, 1]
        assert abs(r) < 5 / np.sqrt(len(seen))
    # and the sum over nodes is exactly the sum of the true fixed-point values
    with np.errstate(over="ignore"):
        assert np.array_equal(sum(unself.values()), sum(true.values()))
        assert not np.array_equal(sum(masked.values()), sum(true.values()))  # self-masks


def test_rerun_on_a_subset__refused(nodes) -> None:
    run_rounds(GWAS, SECURE, nodes, task_id="full")
    subset = {n: d for n, d in nodes.items() if n != "node-3"}
    with pytest.raises(AccessDeniedError, match=r"recover the sums of node-3/ds-3"):
        run_rounds(GWAS, SECURE, subset, task_id="subset")
    # the same set again, or a different definition, is fine to configure
    GWAS.configure(SECURE, {n: list(d.dataset_ids) for n, d in nodes.items()})
    GWAS.configure({**SECURE, "trait": "other"}, {"node-1": ["ds-1"], "node-2": ["ds-2"]})


def test_isolatable__by_linear_combination() -> None:
    runs = [frozenset("abc"), frozenset("bcd"), frozenset("ad")]
    # a + d = (abc - bcd) + ... : (abc) - (bcd) = a - d, with (ad) gives a and d
    assert nodesets.isolatable(runs) == ["a", "d"]
    assert nodesets.isolatable([frozenset("abc"), frozenset("abd")]) == []


def test_overflow__refused_before_anything_is_masked(nodes) -> None:
    with pytest.raises(
        InvalidInputError,
        match=r"secure aggregation cannot hold Cy: 500,000 people x bound 1e\+15 needs 69",
    ):
        GWAS.configure({**SECURE, "trait_bound": 1e12}, {"a": ["x"], "b": ["y"]})
    with pytest.raises(ConflictError, match="exceed max_participants 1,000"):
        run_rounds(GWAS, {**SECURE, "max_participants": 1000}, nodes, task_id="over-1")
    with pytest.raises(InvalidInputError, match="exceeds trait_bound 30"):
        run_rounds(GWAS, {**SECURE, "trait_bound": 30.0, "min_individuals": 5}, nodes,
                   task_id="over-2")  # fmt: skip


def test_secure_logistic__equals_pooled_logistic(nodes) -> None:
    params = {"trait": "binary", "model": "logistic", "covariates": ["sex", "age"], "min_mac": 0,
              "top_p": 1e-6, "top_max": 5}  # fmt: skip
    plain, _ = run_rounds(GWAS, params, nodes)
    record: list = []
    masked, state = run_rounds(
        GWAS, {**params, "mode": "secure"}, nodes, record=record, task_id="logistic"
    )
    a, b = pd.DataFrame(plain["table"]), pd.DataFrame(masked["table"])
    assert (a.METHOD == b.METHOD).all() and (b.METHOD == "wald").sum() == 5
    ok = a.BETA.notna()
    np.testing.assert_allclose(b.BETA[ok], a.BETA[ok], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(b.SE[ok], a.SE[ok], rtol=1e-6)
    # every data round (null steps, score, per-hit fits) reached the hub masked only
    data_rounds = [r for rnd, _, r in record if rnd > 0]
    assert data_rounds and all(set(r.arrays) <= {"masked", "contributes"} for r in data_rounds)
    assert all("loglik" not in r.values for r in data_rounds)
    assert state["n_corr_rows"] == 0  # no missing call: the score round has no corrections


def test_reasked_round__same_masked_vector_but_a_changed_party_set_is_refused() -> None:
    """A lost reply is re-asked: the node answers it again, identically (no new information).
    A hub re-asking over fewer parties could unmask the pair's sum: refused."""
    task = "reask-task"
    keys = {p: NodeSecrets.in_memory() for p in ("a", "b", "c")}
    peers = {p: k.public_hex(task, p, "mask|task") for p, k in keys.items()}
    vector = np.arange(10, dtype=np.uint64)
    ask = {"keys": keys["a"], "task_id": task, "party": "a"}
    first = secure.mask(vector, round_=1, peers=peers, **ask)
    again = secure.mask(vector, round_=1, peers=peers, **ask)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, vector)
    fewer = {p: k for p, k in peers.items() if p != "c"}
    with pytest.raises(ConflictError, match="different set of parties"):
        secure.mask(vector, round_=1, peers=fewer, **ask)
    with pytest.raises(ConflictError, match="different set of parties"):
        secure.mask(vector, round_=2, peers=fewer, **ask)
    # the node's data changed (a withdrawal) before the hub re-asked: the same masks would
    # hide two different vectors, whose difference is the withdrawn person's numbers
    with pytest.raises(ConflictError, match="answered before with other numbers"):
        secure.mask(vector + np.uint64(1), round_=1, peers=peers, **ask)


def test_secure_logistic_with_missing_genotypes__corrections_only_where_needed(
    cohort: Cohort,
) -> None:
    dosages = cohort.dosages.copy()
    half = dosages[: len(dosages) // 2]  # missing calls in the first half of the variants only
    half[np.random.default_rng(3).random(half.shape) < 0.03] = -1
    nodes, _ = split_nodes(cohort.individuals, cohort.variants, dosages)
    params = {"trait": "binary", "model": "logistic", "covariates": ["sex", "age"], "min_mac": 0,
              "top_p": 1e-6, "top_max": 2}  # fmt: skip
    # the hub state goes through strict JSON after every round (variants made constant by
    # their missing calls are untestable: NA in the table, never NaN in the state)
    plain, _ = run_rounds(GWAS, params, nodes, task_id="lm-plain")
    masked, state = run_rounds(GWAS, {**params, "mode": "secure"}, nodes, task_id="lm-secure")
    # the score round carried corrections for exactly the variants with a missing call
    assert state["n_corr_rows"] == int((half < 0).any(axis=1).sum()) < len(dosages)
    a, b = pd.DataFrame(plain["table"]), pd.DataFrame(masked["table"])
    ok = a.BETA.notna()
    assert (~ok).any() and (b.BETA.isna() == ~ok).all() and (b.ERRCODE[~ok] == "CONST_ALLELE").all()
    assert (a.OBS_CT == b.OBS_CT).all() and (a.OBS_CT.max() > a.OBS_CT).any()
    np.testing.assert_allclose(b.BETA[ok], a.BETA[ok], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(b.SE[ok], a.SE[ok], rtol=1e-6)


def test_flags__packed_eight_per_word_and_summed_lane_by_lane() -> None:
    """The flags round's words: summed mod 2^64 over up to 255 nodes (with masks that cancel),
    each variant's lane holds how many nodes flagged it."""
    from genomesh.analysis.gwas import layout

    rng = np.random.default_rng(1)
    V, nodes = 45, 255
    flags = rng.random((nodes, V)) < 0.5
    flags[:, 3] = True  # every node: the lane reaches 255 without carrying
    words = [layout.pack_flags(f) for f in flags]
    assert all(w.dtype == np.uint64 and len(w) == 6 for w in words)
    masks = rng.integers(0, 2**63, size=(nodes, 6), dtype=np.uint64)
    masks[-1] = -masks[:-1].sum(axis=0, dtype=np.uint64)  # pairwise-style: they cancel
    with np.errstate(over="ignore"):
        total = sum((w + m for w, m in zip(words, masks, strict=True)), np.zeros(6, np.uint64))
    np.testing.assert_array_equal(layout.unpack_flags(total, V), flags.sum(axis=0))
