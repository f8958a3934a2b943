"""The phenotype-scoring variants tried on the tuning split of phenopacket-store (not a benchmark).

The default of `genomesh.matchmaker.scoring` was chosen with this script on the **tuning**
queries of `matchmaker_bench.splits` (400 cases, disjoint from the evaluation and held-out
queries the benchmark reports); run it with `--split evaluation` or `--split held-out` only
to check, never to choose. Each variant is a score over all cases (three nodes merged, as in
the benchmark) built from the batch functions; printed: top-1 and top-10 same-disease rates.

Usage: python benchmarks/matchmaker_tuning.py [--split tuning] [--hubness]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from matchmaker_bench import load_cases, splits

from genomesh.matchmaker import batch, pairwise
from genomesh.matchmaker.scoring import CandidatePool, prepare, score_pool
from genomesh.matchmaker.termspace import term_space


def _parts(query: Any, pool: CandidatePool, ic: np.ndarray) -> dict[str, np.ndarray]:
    """The building blocks of every variant for one query against one node's pool."""
    space, index = term_space(), pool.index
    q = query.indices
    k, n = len(q), index.counts
    rows = batch.resnik_rows(space, index, q, ic)
    own = np.array([ic[space.ancestors(t)].max() for t in q])
    r_row, r_col = batch.best_match_sums(rows, index)
    j_row, j_col = batch.best_match_sums(batch.jc_from_resnik(rows, index, q, ic), index)
    l_row, l_col = batch.best_match_sums(batch.term_rows(space, index, q, ic, "lin"), index)
    unweighted = batch.best_match_sums(rows / np.where(own > 0, own, 1.0)[:, None], index)[0]
    cand_self = np.array([pairwise.self_similarity(space, p.indices, ic) for p in pool.prepared])
    with np.errstate(divide="ignore", invalid="ignore"):
        r_c = np.where(cand_self > 0, r_col / cand_self, 0.0)
    return {
        "rq": r_row / own.sum() if own.sum() > 0 else 0 * r_row,
        "rq_unweighted": unweighted / k,
        "rc": r_c,
        "resnik_bma": (r_row + r_col) / (k + n),
        "jc": (j_row + j_col) / (k + n),
        "jc_query": j_row / k,
        "lin": (l_row + l_col) / (k + n),
        "simgic": batch.simgic_scores(space, index, q, ic),
    }


VARIANTS: dict[str, Callable[[dict[str, np.ndarray]], np.ndarray]] = {
    **{f"{a:.1f}·R_Q + {1 - a:.1f}·JC_BMA": (lambda p, a=a: a * p["rq"] + (1 - a) * p["jc"])
       for a in (0.3, 0.4, 0.5, 0.6, 0.7)},
    "R_Q alone": lambda p: p["rq"],
    "JC_BMA alone": lambda p: p["jc"],
    "raw Resnik BMA": lambda p: p["resnik_bma"],
    "Lin BMA": lambda p: p["lin"],
    "½ R_Q (unweighted by IC) + ½ JC_BMA": lambda p: 0.5 * p["rq_unweighted"] + 0.5 * p["jc"],
    "(R_Q + JC query direction + JC_BMA) / 3": lambda p: (p["rq"] + p["jc_query"] + p["jc"]) / 3,
    "(R_Q + JC_BMA + Lin BMA) / 3": lambda p: (p["rq"] + p["jc"] + p["lin"]) / 3,
    "(R_Q + JC_BMA + simGIC) / 3": lambda p: (p["rq"] + p["jc"] + p["simgic"]) / 3,
    "√(R_Q · JC_BMA)": lambda p: np.sqrt(p["rq"] * p["jc"]),
    "¼ R_Q + ¼ R_C + ½ JC_BMA (both directions normalised)":
        lambda p: 0.25 * p["rq"] + 0.25 * p["rc"] + 0.5 * p["jc"],
}  # fmt: skip


def _hubness(pools: list[CandidatePool], top: int = 10) -> list[np.ndarray]:
    """Per candidate, the mean of its `top` best default scores against its own node (CSLS)."""
    out = []
    for pool in pools:
        r = np.zeros(len(pool))
        for i, p in enumerate(pool.prepared):
            s = score_pool(p, pool).patient.copy()
            s[i] = -np.inf
            r[i] = np.sort(s)[-top:].mean()
        out.append(r)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="tuning", choices=("tuning", "evaluation", "held-out"))
    parser.add_argument("--hubness", action="store_true", help="also CSLS (slow: N² per node)")
    args = parser.parse_args()
    cases = load_cases()
    diseases = np.array([c[0] for c in cases])
    n = len(cases)
    prepared = [prepare(c[2]) for c in cases]  # genes hidden
    nodes = [list(range(k, n, 3)) for k in range(3)]
    pools = [CandidatePool.build([prepared[i] for i in node]) for node in nodes]
    ic = term_space().ic["omim"]
    hub = _hubness(pools) if args.hubness else None
    queries = splits(n, 11, 100)[args.split]
    hits: dict[str, list[int]] = {}
    for q in queries:
        if not prepared[q].indices:
            continue
        merged: dict[str, np.ndarray] = {}
        for k, (node, pool) in enumerate(zip(nodes, pools, strict=True)):
            parts = _parts(prepared[q], pool, ic)
            variants = {name: f(parts) for name, f in VARIANTS.items()}
            if hub is not None:
                default = 0.5 * parts["rq"] + 0.5 * parts["jc"]
                for lam in (0.25, 0.5, 1.0):
                    variants[f"CSLS: default − {lam} × hubness"] = default - lam * hub[k]
            for name, s in variants.items():
                merged.setdefault(name, np.empty(n))[node] = s
        for name, s in merged.items():
            s[q] = -np.inf
            top = diseases[np.argsort(-s, kind="stable")[:10]] == diseases[q]
            h = hits.setdefault(name, [0, 0])
            h[0] += int(top[0])
            h[1] += int(top.any())
    print(f"{args.split}: {len(queries)} queries, top-1 / top-10 same disease")
    for name, (t1, t10) in sorted(hits.items(), key=lambda kv: -kv[1][0]):
        print(f"{t1 / len(queries):6.1%} {t10 / len(queries):6.1%}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
