"""Whole-genome case search over 3 nodes x 2,000 individuals: wall time, where the planted
region ranks, and the null's calibration (QQ plots).

What is simulated: one population of 6,000 on 1 Mb of chr12 (GRCh38) around RNU4-2 with
msprime (`genomesh.simulate`), ReNU syndrome planted in 40 people of the first two nodes
(`genomesh.simulate.raredisease`). That block is the *pool*. The genome is the 22 autosomes
at their GRCh38 lengths (2.88 Gb), tiled with 1 Mb copies of the pool: each tile keeps a
random 1/`--thin` of the pool's variants (so the genome has ~1/`--thin` of the variant
density 6,000 sequenced people would show) and shuffles which individual carries which
genotype column (so tiles are independent draws with the pool's frequency spectrum and
within-tile linkage). The chr12 tile over RNU4-2 is the planted pool itself, unthinned. The
genotypes are written to one int8 matrix file per node (numpy memmap); the in-process nodes'
dask arrays hold them in memory (dask's from_array copies a memmap), so the peak memory
reported includes all three nodes' genotypes.

The three nodes (2,000 individuals each, the third the population cohort) run `case-search`
in-process (`genomesh.testing.federation.run_rounds`: the analysis' node and hub code, every
request and reply through the wire encoding, no HTTP and no gate) over the whole genome in
genes (the packaged GENCODE 43 table, every biotype) plus 100 kb windows. Runs: the ReNU
cases (HP:0012759), and a null phenotype (hypertension, drawn independently of genotype)
with the default filter (`split`) and with the biased one (`population`), for the QQ plots;
and, on the unplanted 1 Mb block alone (every variant, 10 kb windows), `--replicates` nulls
whose cases are a random 18 % of nodes 1 and 2, under both filters (the p-values pooled).

Usage: python benchmarks/case_search_bench.py [--people 6000] [--thin 64] [--window 100000]
Writes docs/bench/case-search.md, docs/bench/case-search-qq.png and
docs/bench/case-search-qq-population.png.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "bench" / "case-search.md"
QQ = ROOT / "docs" / "bench" / "case-search-qq.png"
QQ_BIASED = ROOT / "docs" / "bench" / "case-search-qq-population.png"
QQ_BLOCK = ROOT / "docs" / "bench" / "case-search-qq-block.png"
QQ_BLOCK_BIASED = ROOT / "docs" / "bench" / "case-search-qq-block-population.png"
POOL_CENTRE = 120_291_816  # RNU4-2 (GRCh38)
GRCH38 = {  # autosome lengths, GRCh38 primary assembly
    "1": 248_956_422, "2": 242_193_529, "3": 198_295_559, "4": 190_214_555,
    "5": 181_538_259, "6": 170_805_979, "7": 159_345_973, "8": 145_138_636,
    "9": 138_394_717, "10": 133_797_422, "11": 135_086_622, "12": 133_275_309,
    "13": 114_364_328, "14": 107_043_718, "15": 101_991_189, "16": 90_338_345,
    "17": 83_257_441, "18": 80_373_285, "19": 58_617_616, "20": 64_444_167,
    "21": 46_709_983, "22": 50_818_468,
}  # fmt: skip


def tiles(length: int, pool_start: int, chroms: list[str]) -> list[tuple[str, int]]:
    """(chrom, offset) of every pool-sized tile; chr12's tiles are aligned on the pool."""
    out = []
    for chrom, size in GRCH38.items():
        if chrom not in chroms:
            continue
        first = (pool_start - 1) % length if chrom == "12" else 0
        out.extend((chrom, off) for off in range(first, size - length + 1, length))
    return out


def build_genome(
    variants: pd.DataFrame, dosages: np.ndarray, *, pool_start: int, length: int, thin: int,
    seed: int, folder: Path, n_nodes: int, chroms: list[str],
) -> tuple[pd.DataFrame, list[np.ndarray]]:  # fmt: skip
    """The tiled genome: its variant table and one int8 memmap (variants x people) per node."""
    rng = np.random.default_rng(seed)
    rel = variants["pos"].to_numpy(np.int64) - pool_start
    plan = []
    for chrom, off in tiles(length, pool_start, chroms):
        planted = chrom == "12" and off + 1 == pool_start
        keep = np.arange(len(variants)) if planted else np.sort(
            rng.choice(len(variants), size=len(variants) // thin, replace=False))  # fmt: skip
        cols = np.arange(dosages.shape[1]) if planted else rng.permutation(dosages.shape[1])
        plan.append((chrom, off, keep, cols))
    total = sum(p[2].size for p in plan)
    people = dosages.shape[1]
    node_cols = [np.arange(k, people, n_nodes) for k in range(n_nodes)]
    mats = [
        np.lib.format.open_memmap(
            folder / f"node-{k + 1}.npy", mode="w+", dtype=np.int8, shape=(total, c.size)
        )
        for k, c in enumerate(node_cols)
    ]
    parts, at = [], 0
    for chrom, off, keep, cols in plan:
        block = dosages[keep][:, cols]
        for mat, c in zip(mats, node_cols, strict=True):
            mat[at : at + keep.size] = block[:, c]
        parts.append(
            pd.DataFrame(
                {
                    "chrom": chrom,
                    "pos": off + 1 + rel[keep],
                    "ref": variants["ref"].to_numpy()[keep],
                    "alt": variants["alt"].to_numpy()[keep],
                }
            )
        )
        at += keep.size
    for mat in mats:
        mat.flush()
    table = pd.concat(parts, ignore_index=True)
    table["variant_id"] = np.arange(len(table))
    return table, mats


def null_replicates(cohort: tuple, analysis: Any, args: Any) -> dict[str, list[dict]]:
    """The unplanted 1 Mb block, all variants, 10 kb windows: `args.replicates` nulls whose
    cases are a random 18 % of nodes 1 and 2 (exchangeable with the population by
    construction), under both filters; the p-values of every replicate, pooled."""
    from genomesh.testing.federation import InMemoryLocalData, run_rounds

    people, pool, dosages = cohort
    pool = pool.assign(chrom=pool["chrom"].str.removeprefix("chr"))
    rng = np.random.default_rng(args.seed + 1)
    parts = []
    for k in range(3):
        cols = np.arange(k, len(people), 3)
        parts.append((people.iloc[cols].reset_index(drop=True),
                      np.ascontiguousarray(dosages[:, cols])))  # fmt: skip
    out: dict[str, list[dict]] = {"split": [], "population": []}
    for _ in range(args.replicates):
        nodes = {}
        for k, (part, dos) in enumerate(parts):
            drawn = part.assign(phenotypes=[["HP:0000822"] if x < 0.18 else []
                                            for x in rng.random(len(part))])  # fmt: skip
            nodes[f"node-{k + 1}"] = InMemoryLocalData(
                {f"ds-{k + 1}": (drawn, pool, dos)}, min_count=5, chunk_variants=5_000
            )
        for how in out:
            params = {"population": ["node-3/ds-3"], "window": 10_000, "max_af": 0.01,
                      "case": {"phenotypes": ["HP:0000822"], "descendants": False},
                      "filter": how}  # fmt: skip
            out[how].extend(run_rounds(analysis, params, nodes, json_state=False)[0]["rows"])
    return out


def null_summary(rows: list[dict[str, Any]]) -> dict[str, float]:
    p = np.array([r["p"] for r in rows])
    return {
        "regions": len(p),
        "p<0.05": float((p < 0.05).mean()),
        "p<0.01": float((p < 0.01).mean()),
        "p<0.001": float((p < 0.001).mean()),
        "mean -log10 p": float(np.mean(-np.log10(p))),
        "significant": sum(r["significant"] for r in rows),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=6_000)
    parser.add_argument("--length", type=int, default=1_000_000, help="pool (tile) length")
    parser.add_argument("--thin", type=int, default=64)
    parser.add_argument("--window", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--replicates", type=int, default=20, help="random-label nulls")
    parser.add_argument("--chromosomes", default=",".join(GRCH38),
                        help="autosomes to simulate (a trial: 12,21)")  # fmt: skip
    args = parser.parse_args()
    args.chroms = [c for c in args.chromosomes.split(",") if c in GRCH38]
    if "12" not in args.chroms:
        parser.error("--chromosomes must include 12 (the planted block)")
    from genomesh.analysis import get_analysis
    from genomesh.analysis.gwas.plots import qq_png
    from genomesh.simulate.cohort import simulate_cohort
    from genomesh.simulate.raredisease import plant_rare_disease
    from genomesh.testing.federation import InMemoryLocalData, run_rounds
    from genomesh.testing.gwas import load_cohort

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="genomesh-case-bench-") as tmp:
        pool_start = POOL_CENTRE - args.length // 2
        base = simulate_cohort(
            Path(tmp) / "pop", n_individuals=args.people, chromosome="12",
            start=pool_start, length=args.length, seed=args.seed,
        )  # fmt: skip
        eligible = [s for k, s in enumerate(base.sample_ids) if k % 3 != 2]
        planted = plant_rare_disease(base, Path(tmp) / "planted", n_cases=40, eligible=eligible,
                                     seed=args.seed)  # fmt: skip
        people, pool, dosages = load_cohort(planted)
        pool["chrom"] = pool["chrom"].str.removeprefix("chr")
        simulated = time.perf_counter() - started
        t0 = time.perf_counter()
        variants, mats = build_genome(
            pool, dosages, pool_start=pool_start + 1, length=args.length, thin=args.thin,
            seed=args.seed, folder=Path(tmp), n_nodes=3, chroms=args.chroms,
        )  # fmt: skip
        built = time.perf_counter() - t0
        nodes = {}
        for k in range(3):
            part = people.iloc[np.arange(k, len(people), 3)].reset_index(drop=True)
            nodes[f"node-{k + 1}"] = InMemoryLocalData(
                {f"ds-{k + 1}": (part, variants, mats[k])}, min_count=5, chunk_variants=20_000
            )
        analysis = get_analysis("case-search")
        base_params = {"population": ["node-3/ds-3"], "windows": "genes+fixed",
                       "window": args.window, "max_af": 0.01}  # fmt: skip
        runs: dict[str, tuple[dict[str, Any], float]] = {}
        for name, case, how in (
            ("ReNU cases (HP:0012759)", "HP:0012759", "split"),
            ("null: hypertension (HP:0000822), filter split", "HP:0000822", "split"),
            ("null: hypertension, filter population (biased)", "HP:0000822", "population"),
        ):
            t0 = time.perf_counter()
            result, _ = run_rounds(
                analysis, {**base_params, "case": {"phenotypes": [case]}, "filter": how},
                nodes, json_state=False,
            )  # fmt: skip
            runs[name] = (result, time.perf_counter() - t0)
            print(name, f"{runs[name][1]:.0f} s", file=sys.stderr)
        truth = planted.read_truth()["rare_disease"]
        block = null_replicates(load_cohort(base), analysis, args)
    null, biased = (r for r, _ in list(runs.values())[1:])
    QQ.write_bytes(qq_png([{"P": r["p"]} for r in null["rows"]],
                          title="case search, whole genome, null (filter split)"))  # fmt: skip
    QQ_BIASED.write_bytes(qq_png([{"P": r["p"]} for r in biased["rows"]],
                                 title="same null, filter population (biased)"))  # fmt: skip
    QQ_BLOCK.write_bytes(qq_png([{"P": r["p"]} for r in block["split"]],
                                title=f"1 Mb block, {args.replicates} random-label nulls, "
                                "filter split"))  # fmt: skip
    QQ_BLOCK_BIASED.write_bytes(qq_png([{"P": r["p"]} for r in block["population"]],
                                       title=f"1 Mb block, {args.replicates} random-label "
                                       "nulls, filter population"))  # fmt: skip
    lines = report(args, runs, variants, pool, simulated, built, truth, block)
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


def report(args: Any, runs: dict, variants: pd.DataFrame, pool: pd.DataFrame, simulated: float,
           built: float, truth: dict, block: dict) -> list[str]:  # fmt: skip
    import resource

    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    planted_pos = int(truth["region"].split(":")[1].split("-")[0])
    load = os.getloadavg()
    genome_mb = sum(GRCH38[c] for c in args.chroms) / 1e6
    lines = [
        f"## Whole-genome case search over 3 nodes x {args.people // 3:,} individuals "
        "(`benchmarks/case_search_bench.py`)",
        "",
        f"Command: `python benchmarks/case_search_bench.py --people {args.people} --thin "
        f"{args.thin} --window {args.window} --seed {args.seed}"
        + ("" if len(args.chroms) == len(GRCH38) else f" --chromosomes {args.chromosomes}")
        + "` (run "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {load[0]:.1f}, "
        f"{load[1]:.1f}, {load[2]:.1f}; 2 cores shared).",
        "",
        f"Simulated: {args.people:,} people with msprime on {args.length / 1e6:g} Mb of chr12 "
        f"around RNU4-2 ({len(pool):,} variants; with planting {simulated:.0f} s), ReNU "
        "syndrome planted in 40 people of nodes 1 and 2. The genome: "
        f"{'the 22 autosomes' if len(args.chroms) == 22 else 'chromosomes ' + args.chromosomes} "
        f"at their GRCh38 lengths ({genome_mb:,.0f} Mb), tiled with copies of that block, each "
        f"keeping a random 1/{args.thin} of its variants with the individuals shuffled per "
        "tile; the chr12 tile over RNU4-2 is the planted block itself. "
        f"**{len(variants):,} variants** x {args.people:,} people (building the genotype "
        f"matrices {built:.0f} s; peak memory of the whole run {peak_gb:.1f} GB, all three "
        "nodes' genotypes held in this one process). Scan: every gene of the packaged GENCODE 43 table "
        f"(coding and non-coding) plus {args.window // 1000} kb windows, max_af 0.01; "
        "`case-search` in-process (node and hub code, wire encoding; no HTTP, no gate), the "
        "three nodes computed one after the other in this process.",
        "",
        "| run | regions | wall time | top region | its p | significant regions |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for name, (result, seconds) in runs.items():
        top = result["rows"][0]
        where = f"{top['region']}" + (f" {top['gene']}" if top.get("gene") else "")
        if top["chrom"] == "12" and top["start"] <= planted_pos <= top["end"]:
            where += " (planted)"
        lines.append(
            f"| {name} | {len(result['rows']):,} | {seconds:.0f} s | {where} | {top['p']:.2g} | "
            f"{sum(r['significant'] for r in result['rows'])} |"
        )
    hit_s = next(iter(runs.values()))[1]
    per_variant = hit_s / len(variants)
    null, biased = (r for r, _ in list(runs.values())[1:])
    a, b = null_summary(null["rows"]), null_summary(biased["rows"])
    lines += [
        "",
        f"Wall time per million variants scanned: {per_variant * 1e6:.0f} s (three nodes in "
        "one process; at real nodes they run in parallel, each on its own share). A genome at "
        f"the full density of this simulation ({len(pool) / (args.length / 1e6):,.0f} "
        f"variants per Mb, {len(pool) / (args.length / 1e6) * genome_mb / 1e6:.0f} M variants) "
        f"would take about {per_variant * len(pool) / (args.length / 1e6) * genome_mb / 3600:.1f} "
        "h at this rate (linear in variants x individuals).",
        "",
        "### The null is calibrated",
        "",
        "Cases defined by hypertension, drawn independently of genotype, against the "
        "population: any region found is a false positive. The default filter (`split`: "
        "qualifying variants are those rare in a reference half of the population, and the "
        "other half is tested) leaves the one-sided Fisher test exact; the old rule "
        "(`population`: rare in the same population sample that is then tested) keeps the "
        "variants whose population count came out low by chance, a winner's-curse bias:",
        "",
        "| scan | filter | regions | p < 0.05 | p < 0.01 | p < 0.001 | mean -log10 p | "
        "significant |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
        "| uniform p (expected) | | | 0.05 | 0.01 | 0.001 | 0.434 | 0 |",
    ]
    c, d = null_summary(block["split"]), null_summary(block["population"])
    reps = f"1 Mb block, all variants, 10 kb windows, {args.replicates} random-label nulls"
    for scan, name, s in (
        ("whole genome, genes + windows", "split (default)", a),
        ("whole genome, genes + windows", "population (biased)", b),
        (reps, "split (default)", c),
        (reps, "population (biased)", d),
    ):
        lines.append(
            f"| {scan} | {name} | {s['regions']:,} | {s['p<0.05']:.4f} | {s['p<0.01']:.4f} | "
            f"{s['p<0.001']:.4f} | {s['mean -log10 p']:.3f} | {s['significant']} |"
        )
    lines += [
        "",
        "QQ plots, whole genome: [split](bench/case-search-qq.png), "
        "[population](bench/case-search-qq-population.png); 1 Mb block: "
        "[split](bench/case-search-qq-block.png), "
        "[population](bench/case-search-qq-block-population.png). On the thinned genome a "
        "region holds few variants, so the test is conservative under either filter; the "
        "dense block's replicates are where the filters can differ. Fisher's test on sparse counts is "
        "discrete: a region with few carriers cannot reach a small p, so a calibrated scan "
        "sits on or below the diagonal, and the genomic-control λ printed on the plots "
        "(median-based) is near 0 when most regions have no informative carrier; the rates "
        "above are the better check. Neighbouring regions share variants (a gene and its "
        "window) and linkage, so they are not independent tests.",
        "",
    ]
    return lines


if __name__ == "__main__":
    sys.exit(main())
