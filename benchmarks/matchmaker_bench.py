"""Matchmaking realism and speed: phenopacket-store cases matched with genomesh's scoring.

Realism (issue 15): the published cases of phenopacket-store (`../shared/reference/`) are
converted to MME patients (`genomesh.matchmaker.phenopacket`), spread round-robin over three
nodes, and 100 random cases (fixed seed) are each matched against all other cases. Reported:
how often the top hit, and any of the top 10, has the same disease, for
- phenotype only (genes hidden), with each phenotype method;
- phenotype + genotype (genomesh weighting, and patientMatcher's).
The reference level for phenotype-only Resnik best-match average on this set is 82 % top-1 and
89 % top-10 (design notes). Speed: patient pairs scored per second by genomesh's scorer vs
hpo3's batch similarity (`pyhpo.helper.batch_set_similarity`), on the same pairs.

Latency (issue 15): one node holding 10,000 enrolled patients (phenopacket-store cases), served
by uvicorn on loopback with a hub in front of it; the p50/p95 wall time of one `POST /match`
at the node (X-Auth-Token) and through the hub (signed fan-out), for held-out cases, with the
comparisons per second it implies next to hpo3's batch similarity on as many pairs.

Usage: python benchmarks/matchmaker_bench.py [--queries 100] [--seed 7] [--latency-only]
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


def _fast_scores(
    q: int, prepared: list[Any], sets: list[Any], closures: list[Any], method: str, weighting: str
) -> list[float]:
    """Every candidate's `score(...).patient` for query q, with the phenotype part computed by
    hpo3's batch similarity (checked against `score` on a sample in `realism`)."""
    from pyhpo import helper

    from genomesh.matchmaker.scoring import genotype_score

    query = prepared[q]
    n = len(prepared)
    if weighting == "patientmatcher":
        method = "simgic"
    if not query.terms:
        pheno = [None] * n
    elif method == "simgic":
        a = closures[q]
        pheno = []
        for b in closures:
            union = sum({**a, **b}.values())
            pheno.append(sum(v for k, v in a.items() if k in b) / union if union > 0 else 0.0)
    else:
        pairs = [(sets[q], s) for s in sets]
        jc = helper.batch_set_similarity(pairs, kind="omim", method="jc", combine="BMA")
        if method == "jc-bma":
            pheno = list(jc)
        else:
            raw = helper.batch_set_similarity(pairs, kind="omim", method="resnik", combine="BMA")
            ss = query.self_score
            pheno = [min(1.0, r / ss) if ss > 0 else 0.0 for r in raw]
            if method == "resnik-jc":
                pheno = [0.5 * r + 0.5 * j for r, j in zip(pheno, jc, strict=True)]
    out = []
    for i, cand in enumerate(prepared):
        geno = (
            genotype_score(query.genes, cand.genes, weighting=weighting)[0] if query.genes else None
        )
        p = pheno[i]
        if weighting == "patientmatcher":
            out.append(0.75 * (geno or 0.0) + 0.25 * (p or 0.0))
        elif p is not None and geno is not None:
            out.append(0.5 * p + 0.5 * geno)
        else:
            out.append(p if p is not None else (geno or 0.0))
    return out


def realism(cases: list[Any], queries: list[int]) -> list[tuple[str, float, float]]:
    from genomesh.matchmaker.scoring import phenotype_scorer, prepare, score

    diseases = [c[0] for c in cases]
    scorer = phenotype_scorer()
    prepared_full = [prepare(c[1]) for c in cases]
    prepared_hidden = [prepare(c[2]) for c in cases]
    sets = [p.hposet for p in prepared_full]
    closures = [scorer.closure(p.terms) for p in prepared_full]
    settings = [
        ("phenotype only, Resnik + JC BMA (default)", prepared_hidden, "resnik-jc", "genomesh"),
        ("phenotype only, Resnik BMA (normalised)", prepared_hidden, "resnik-bma", "genomesh"),
        ("phenotype only, JC BMA", prepared_hidden, "jc-bma", "genomesh"),
        ("phenotype only, simGIC", prepared_hidden, "simgic", "genomesh"),
        ("phenotype + genotype, genomesh weighting", prepared_full, "resnik-jc", "genomesh"),
        ("phenotype + genotype, patientMatcher weighting", prepared_full, "simgic", "patientmatcher"),
    ]  # fmt: skip
    rows = []
    for label, prepared, method, weighting in settings:
        top1 = top10 = 0
        for k, q in enumerate(queries):
            scores = _fast_scores(q, prepared, sets, closures, method, weighting)
            if k == 0:  # the fast path must be the scorer genomesh runs
                for i in range(0, len(prepared), max(1, len(prepared) // 25)):
                    want = score(
                        prepared[q], prepared[i], phenotype_method=method, weighting=weighting
                    )  # type: ignore[arg-type]
                    assert abs(want.patient - scores[i]) < 1e-6, (label, i, want.patient, scores[i])
            order = sorted((i for i in range(len(prepared)) if i != q), key=lambda i: -scores[i])
            hits = [diseases[i] == diseases[q] for i in order[:10]]
            top1 += hits[0]
            top10 += any(hits)
        rows.append((label, top1 / len(queries), top10 / len(queries)))
        print(f"{label}: top-1 {rows[-1][1]:.0%}, top-10 {rows[-1][2]:.0%}", flush=True)
    return rows


def speed(cases: list[Any], n_pairs: int) -> tuple[float, float]:
    """Pairs/s: genomesh's scorer (phenotype + genotype) vs hpo3's batch Resnik BMA."""
    from pyhpo import helper

    from genomesh.matchmaker.scoring import prepare, score

    prepared = [prepare(c[1]) for c in cases[:400]]
    pairs = [(prepared[i % 400], prepared[(i * 7 + 3) % 400]) for i in range(n_pairs)]
    started = time.perf_counter()
    for a, b in pairs:
        score(a, b)
    ours = n_pairs / (time.perf_counter() - started)
    sets = [(a.hposet, b.hposet) for a, b in pairs]  # the same known terms genomesh scores
    started = time.perf_counter()
    helper.batch_set_similarity(sets, kind="omim", method="resnik", combine="BMA")
    batch = n_pairs / (time.perf_counter() - started)
    return ours, batch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pairs", type=int, default=20_000)
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
    queries = random.Random(args.seed).sample(range(len(cases)), args.queries)
    print(f"{len(cases)} cases over 3 nodes {dict(nodes)}; {len(queries)} queries", flush=True)
    rows = realism(cases, queries)
    ours, batch = speed(cases, args.pairs)
    took = time.perf_counter() - started
    load = os.getloadavg()
    lines = [
        "## Matchmaking realism and speed (`benchmarks/matchmaker_bench.py`)",
        "",
        f"Command: `python benchmarks/matchmaker_bench.py --queries {args.queries} --seed "
        f"{args.seed}` (run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{took:.0f} s, load average {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f}).",
        "",
        f"{len(cases)} phenopacket-store cases with a disease and observed HPO terms, converted to "
        "MME patients and spread round-robin over three nodes; each of "
        f"{len(queries)} random cases is matched against all the others. A hit counts when it "
        "has the query's disease. Reference level (design notes, hpo3 Resnik BMA on this set): "
        "82 % top-1, 89 % top-10. The default (the mean of normalised Resnik and "
        "Jiang–Conrath best-match averages) was chosen on a sample drawn with seed 7; the "
        "table is for the seed in the command, so with another seed it is a held-out check.",
        "",
        "| scoring | top-1 same disease | any of top 10 |",
        "|---|---:|---:|",
        *[f"| {label} | {t1:.0%} | {t10:.0%} |" for label, t1, t10 in rows],
        "",
        f"Speed on {args.pairs:,} patient pairs: genomesh's scorer (phenotype + genotype, one "
        f"pair at a time, one thread) {ours:,.0f} pairs/s; hpo3's batch Resnik BMA (phenotype "
        f"only, all cores) {batch:,.0f} pairs/s; ratio {ours / batch:.2f}.",
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
