"""Matchmaking realism and speed: phenopacket-store cases matched with genomesh's scoring.

Realism (issue 15): the published cases of phenopacket-store (`../shared/reference/`) are
converted to MME patients (`genomesh.matchmaker.phenopacket`), spread round-robin over three
nodes, and query cases are each matched against all other cases: the issue's 100 random cases
(`--seed`), plus a tuning set (400, where the default was chosen) and a held-out set (1,000),
all disjoint. Reported: how often the top hit, and any of the top 10, has the same disease, for
- phenotype only (genes hidden), with each phenotype method, IC corpus, and the options tried;
- phenotype + genotype (genomesh weighting, and patientMatcher's).
The reference level for phenotype-only Resnik best-match average on this set is 82 % top-1 and
89 % top-10 (design notes). Speed: patient pairs scored per second by genomesh's batch
scorer vs hpo3's batch similarity (`pyhpo.helper.batch_set_similarity`), on the same pairs.

Latency (issue 15): one node holding 10,000 enrolled patients (phenopacket-store cases), served
by uvicorn on loopback with a hub in front of it; the p50/p95 wall time of one `POST /match`
at the node (X-Auth-Token) and through the hub (signed fan-out), for held-out cases, with the
comparisons per second it implies next to hpo3's batch similarity on as many pairs.

Usage: python benchmarks/matchmaker_bench.py [--queries 100] [--seed 11] [--latency-only]
Writes docs/bench/matchmaker.md (realism and speed) and docs/bench/matchmaker-latency.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT.parent / "shared" / "reference" / "phenopacket-store" / "all_phenopackets.jsonl.gz"
OUT = ROOT / "docs" / "bench" / "matchmaker.md"
OUT_LATENCY = ROOT / "docs" / "bench" / "matchmaker-latency.md"
CONTACT = {"name": "benchmark", "href": "mailto:benchmark@example.org"}


def _disease(packet: dict[str, Any]) -> str | None:
    for interpretation in packet.get("interpretations") or []:
        term = (interpretation.get("diagnosis") or {}).get("disease") or {}
        if term.get("id"):
            return str(term["id"])
    for d in packet.get("diseases") or []:
        if (d.get("term") or {}).get("id"):
            return str(d["term"]["id"])
    return None


def load_cases() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(disease, patient with genes, patient without genes) for every usable case."""
    from genomesh.matchmaker.phenopacket import phenopacket_to_patient

    out = []
    with gzip.open(STORE, "rt", encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            packet = json.loads(line)
            disease = _disease(packet)
            if not disease:
                continue
            packet = {**packet, "subject": {**(packet.get("subject") or {}), "id": f"case{n}"}}
            full = phenopacket_to_patient(packet, contact=CONTACT)
            if not any(f["observed"] == "yes" for f in full.get("features", [])):
                continue
            hidden = {k: v for k, v in full.items() if k != "genomicFeatures"}
            out.append((disease, full, hidden))
    return out


# (label, phenotype method, IC corpus, weighting, genes shown); the first row is the default
SETTINGS: list[tuple[str, str, str, str, bool]] = [
    ("phenotype only, query-direction Resnik + JC BMA (default)", "query-resnik-jc", "omim", "genomesh", False),
    ("phenotype only, normalised Resnik BMA + JC BMA (previous default)", "resnik-jc", "omim", "genomesh", False),
    ("phenotype only, normalised Resnik BMA", "resnik-bma", "omim", "genomesh", False),
    ("phenotype only, JC BMA", "jc-bma", "omim", "genomesh", False),
    ("phenotype only, simGIC", "simgic", "omim", "genomesh", False),
    ("phenotype only, default with Orphanet IC", "query-resnik-jc", "orpha", "genomesh", False),
    ("phenotype only, default with gene IC", "query-resnik-jc", "gene", "genomesh", False),
    ("phenotype only, default with each node's cohort IC", "query-resnik-jc", "cohort", "genomesh", False),
    ("phenotype only, default − 0.02 × contradictions (excluded terms)", "query-resnik-jc", "conflicts", "genomesh", False),
    ("phenotype + genotype, genomesh weighting", "query-resnik-jc", "omim", "genomesh", True),
    ("phenotype + genotype, patientMatcher weighting", "simgic", "omim", "patientmatcher", True),
]  # fmt: skip


def _excluded(patient: dict[str, Any]) -> tuple[int, ...]:
    from genomesh.matchmaker.termspace import term_space

    terms = [f["id"] for f in patient.get("features") or [] if f.get("observed") == "no"]
    return term_space().indices(terms)


def _contradictions(query: Any, q_excluded: tuple[int, ...], pool: Any, excluded: list[Any]) -> Any:
    """Per candidate: excluded terms of one patient that the other has (or a descendant of)."""
    import numpy as np

    from genomesh.matchmaker.termspace import term_space

    space, index = term_space(), pool.index
    out = np.zeros(len(pool))
    hit = np.zeros(len(index.vocab))
    for e in q_excluded:
        where = index.under.get(int(e))
        if where is not None:
            hit[where] += 1.0
    present = index.counts > 0
    if present.any():
        out[present] = np.add.reduceat(hit[index.flat], index.offsets[present])
    closure = set(space.closure(query.indices).tolist())
    for c, ex in enumerate(excluded):
        out[c] += sum(1.0 for e in ex if e in closure)
    return out


def _cohort_ic(pool: Any, name: str) -> str:
    """Register IC computed from one node's own patients (−ln of the share whose closure holds
    the term; terms nobody has get the largest value) under `name`."""
    import numpy as np

    from genomesh.matchmaker.termspace import term_space

    space, index = term_space(), pool.index
    n = max(1, int((index.closure_counts > 0).sum()))
    counts = np.bincount(index.closure_flat, minlength=len(space.hpo_ids)).astype(float)
    space.ic[name] = np.where(counts > 0, -np.log(np.maximum(counts, 1.0) / n), np.log(n))  # type: ignore[index]
    return name


def splits(n_cases: int, seed: int, queries: int) -> dict[str, list[int]]:
    """Disjoint query sets: `tuning` (400, where the default was chosen), `evaluation` (the
    issue's 100 random cases, `--seed`) and `held-out` (1,000 more)."""
    evaluation = random.Random(seed).sample(range(n_cases), queries)
    rest = sorted(set(range(n_cases)) - set(evaluation))
    tuning = random.Random(2024).sample(rest, 400)
    held = random.Random(99).sample(sorted(set(rest) - set(tuning)), 1000)
    return {"tuning": tuning, "evaluation": evaluation, "held-out": held}


def realism(
    cases: list[Any], query_sets: dict[str, list[int]]
) -> list[tuple[str, dict[str, tuple[float, float]]]]:
    """Top-1 and top-10 same-disease rates per setting and query set, three nodes merged."""
    import numpy as np

    from genomesh.matchmaker.scoring import CandidatePool, prepare, score, score_pool

    diseases = np.array([c[0] for c in cases])
    n = len(cases)
    nodes = [list(range(k, n, 3)) for k in range(3)]  # round-robin over three nodes
    prepared = {genes: [prepare(c[1] if genes else c[2]) for c in cases] for genes in (False, True)}
    pools = {
        g: [CandidatePool.build([p[i] for i in node]) for node in nodes]
        for g, p in prepared.items()
    }
    excluded = [_excluded(c[2]) for c in cases]
    cohort = [_cohort_ic(pool, f"cohort{k}") for k, pool in enumerate(pools[False])]
    rows = []
    for label, method, ic, weighting, genes in SETTINGS:
        started = time.perf_counter()
        out: dict[str, tuple[float, float]] = {}
        for split, queries in query_sets.items():
            top1 = top10 = 0
            for qn, q in enumerate(queries):
                query = prepared[genes][q]
                scores = np.empty(n)
                for k, (node, pool) in enumerate(zip(nodes, pools[genes], strict=True)):
                    kind = cohort[k] if ic == "cohort" else "omim" if ic == "conflicts" else ic
                    got = score_pool(
                        query, pool, phenotype_method=method, weighting=weighting, ic=kind
                    )  # type: ignore[arg-type]
                    part = got.patient
                    if ic == "conflicts":
                        part = part - 0.02 * _contradictions(
                            query, excluded[q], pool, [excluded[i] for i in node]
                        )
                    scores[node] = part
                    if qn == 0 and k == 0 and ic not in ("cohort", "conflicts"):
                        for i in range(
                            0, len(node), max(1, len(node) // 20)
                        ):  # the batch is `score`
                            want = score(
                                query,
                                pool.prepared[i],
                                phenotype_method=method,
                                weighting=weighting,
                                ic=ic,
                            ).patient  # type: ignore[arg-type]
                            assert abs(want - got.patient[i]) < 1e-9, (
                                label,
                                i,
                                want,
                                got.patient[i],
                            )
                scores[q] = -np.inf
                hits = diseases[np.argsort(-scores, kind="stable")[:10]] == diseases[q]
                top1 += int(hits[0])
                top10 += int(hits.any())
            out[split] = (top1 / len(queries), top10 / len(queries))
        rows.append((label, out))
        print(label, {k: f"{a:.1%}/{b:.1%}" for k, (a, b) in out.items()},
              f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
    return rows


def speed(cases: list[Any], n_candidates: int, n_queries: int) -> tuple[float, float, float]:
    """Patient pairs/s: genomesh's batch scorer (default phenotype + genotype, one query against
    a pool of n_candidates, one thread) and its per-pair loop, vs hpo3's batch Resnik BMA
    (phenotype only, all cores) on the same pairs."""
    from pyhpo import HPOSet, helper

    from genomesh.matchmaker.scoring import CandidatePool, prepare, score, score_pool
    from genomesh.matchmaker.termspace import term_space

    space = term_space()
    prepared = [prepare(c[1]) for c in cases[: n_candidates + n_queries]]
    pool = CandidatePool.build(prepared[:n_candidates])
    queries = prepared[n_candidates:]
    score_pool(queries[0], pool)  # compile the numba kernel outside the timing
    started = time.perf_counter()
    for q in queries:
        score_pool(q, pool)
    batch = n_queries * n_candidates / (time.perf_counter() - started)
    started = time.perf_counter()
    for c in prepared[:300]:
        score(queries[0], c)
    pairwise = 300 / (time.perf_counter() - started)
    sets = [HPOSet.from_queries([int(space.hpo_ids[t]) for t in p.indices]) for p in prepared]
    pairs = [
        (sets[n_candidates + j], sets[i]) for j in range(n_queries) for i in range(n_candidates)
    ]
    started = time.perf_counter()
    helper.batch_set_similarity(pairs, kind="omim", method="resnik", combine="BMA")
    hpo3 = len(pairs) / (time.perf_counter() - started)
    return batch, pairwise, hpo3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--pairs", type=int, default=10_000, help="pool size (speed)")
    parser.add_argument("--patients", type=int, default=10_000, help="enrolled (latency)")
    parser.add_argument("--latency-queries", type=int, default=30)
    parser.add_argument("--latency-only", action="store_true", help="only the /match latency")
    args = parser.parse_args()
    if not STORE.is_file():
        print(f"phenopacket-store not found at {STORE}", file=sys.stderr)
        return 1
    from match_latency import latency_report

    if args.latency_only:
        OUT_LATENCY.write_text(latency_report(load_cases(), args), encoding="utf-8")
        print(OUT_LATENCY.read_text())
        return 0
    started = time.perf_counter()
    cases = load_cases()
    nodes: dict[int, int] = defaultdict(int)
    for i in range(len(cases)):
        nodes[i % 3] += 1
    query_sets = splits(len(cases), args.seed, args.queries)
    print(f"{len(cases)} cases over 3 nodes {dict(nodes)}; "
          f"{ {k: len(v) for k, v in query_sets.items()} } queries", flush=True)  # fmt: skip
    rows = realism(cases, query_sets)
    ours, pairwise, hpo3 = speed(cases, args.pairs, 20)
    took = time.perf_counter() - started
    load = os.getloadavg()
    from genomesh.matchmaker.termspace import term_space

    def cell(v: tuple[float, float]) -> str:
        return f"{v[0]:.1%} / {v[1]:.1%}"

    lines = [
        "## Matchmaking realism and speed (`benchmarks/matchmaker_bench.py`)",
        "",
        f"Command: `python benchmarks/matchmaker_bench.py --queries {args.queries} --seed "
        f"{args.seed}` (run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{took:.0f} s, load average {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f}; HPO "
        f"{term_space().version}, as packaged with hpo3).",
        "",
        f"{len(cases)} phenopacket-store cases with a disease and observed HPO terms, converted to "
        "MME patients and spread round-robin over three nodes; each query case is matched "
        "against all the others (each node scores its own patients, the answers are merged by "
        "score). A hit counts when it has the query's disease. Cells are top-1 / any of top "
        "10. Three disjoint sets of queries: **tuning** (400 cases, seed 2024), where the "
        "default and its ½/½ mix were chosen (mixes from 0.3 to 0.6 were within 4 cases of "
        "400 there, so the plain ½ was kept; `benchmarks/matchmaker_tuning.py`); **evaluation** (the issue's 100 random cases, "
        f"seed {args.seed}, never used for a choice) and **held-out** (1,000 more, seed 99, "
        "never used for a choice). Reference level (design notes, hpo3 raw Resnik BMA on "
        "100 cases): 82 % top-1, 89 % top-10.",
        "",
        "| scoring | tuning (400) | evaluation (100) | held-out (1,000) |",
        "|---|---:|---:|---:|",
        *[
            f"| {label} | {cell(r['tuning'])} | {cell(r['evaluation'])} | {cell(r['held-out'])} |"
            for label, r in rows
        ],
        "",
        f"Against the issue's goals (phenotype only, above 82 % top-1 and 89 % top-10 on 100 "
        f"random cases; with genotype evidence ≥ 95 % top-1): the default gives "
        f"{rows[0][1]['evaluation'][0]:.0%} / {rows[0][1]['evaluation'][1]:.0%} on the "
        f"evaluation cases and {rows[0][1]['held-out'][0]:.1%} / "
        f"{rows[0][1]['held-out'][1]:.1%} on the 1,000 held-out ones; with genotype, "
        f"{rows[-2][1]['evaluation'][0]:.0%} top-1 on the evaluation cases.",
        "",
        "What moved the numbers: the default's query-to-candidate Resnik direction, normalised "
        "by the query's own, in place of the symmetric Resnik BMA capped at the query's "
        "self-similarity (the cap ties every candidate above it at 1); the IC corpus (OMIM, "
        "Orphanet, genes, or the node's own patients) moved little; counting contradictions "
        "(an excluded term of one patient observed in the other) as evidence against hurt, "
        "because in this set same-disease cases from one publication often list the same "
        "features as present in some and excluded in others. Genotype evidence dominates "
        "either weighting.",
        "",
        f"Speed: genomesh's batch scorer (default phenotype + genotype, 20 queries each against "
        f"a pool of {args.pairs:,} candidates, one thread, numpy + numba) {ours:,.0f} pairs/s; "
        f"its per-pair loop (the reference the tests hold the batch to) {pairwise:,.0f} pairs/s; "
        f"hpo3's batch Resnik BMA on the same {20 * args.pairs:,} pairs (phenotype only, all "
        f"cores) {hpo3:,.0f} pairs/s; batch / hpo3 = {ours / hpo3:.1f}.",
        "",
        "Caveat (from the design notes): many same-disease neighbours come from the same "
        "publication, which flatters every method.",
        "",
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    OUT_LATENCY.write_text(latency_report(cases, args), encoding="utf-8")
    print(OUT_LATENCY.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
