"""Federated GWAS (linear; pooled and secure) against plink2 --glm on the pooled data.

Three nodes hold a simulated cohort split round-robin (`genomesh simulate`'s msprime
out-of-Africa model, planted BMI-like trait): 6,000 people x ~17,000 variants by default,
`--size issue` the issue's 20,000 people (the simulated 7 Mb window has 124,740 sites; the issue
asks ~100,000). Both sides get the same model: trait ~ site
intercepts + sex + age + genotype, per variant, complete-case. plink2 reads the pooled data
in its own pgen format; conversion, simulation and loading are not timed on either side.

Timed: for genomesh in process, `run_rounds` from configure to result (setup round, the
statistics round(s), the hub's per-variant solve and result rows), nodes computing one after
another in this process (every request and reply still goes through the wire encoding);
with `--http` also end to end over HTTP: a real hub and three real node processes on
loopback (`gwas_http.py`), from submitting the task to the result body in hand. For plink2,
the `plink2 --glm` process. Same number of threads (`--threads`): plink2 --threads N;
genomesh's dask scheduler and BLAS limited to N (per node process over HTTP).

Memory: plink2's peak RSS (wait4 rusage of its process); genomesh's peak of memory allocated
during the run (tracemalloc, which NumPy reports to), i.e. on top of the input data already
in memory; a node reading its Zarr store would hold only chunks of it.

Usage: python benchmarks/gwas_bench.py [--threads 1] [--size quick|default|issue] [--http]
       python benchmarks/gwas_bench.py --compose   (rebuild the doc section, run nothing)
Writes docs/bench/gwas/<size>.md (one results table per size) and rebuilds
docs/bench/gwas.md, its section of docs/benchmarks.md, from those tables and
docs/bench/gwas/notes.md ("Reading the numbers"); `--size quick` writes only
benchmarks/.work/gwas/report-quick.md.
"""

from __future__ import annotations

import argparse
import os
import sys

# thread limits must be set before NumPy / BLAS load
_threads = "1"
for i, arg in enumerate(sys.argv):
    if arg == "--threads" and i + 1 < len(sys.argv):
        _threads = sys.argv[i + 1]
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = _threads

import platform  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from types import SimpleNamespace  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from genomesh.analysis.gwas import GWAS, nodesets  # noqa: E402
from genomesh.testing.federation import InMemoryLocalData, run_rounds  # noqa: E402
from genomesh.testing.gwas import design_matrix, load_cohort  # noqa: E402

WORK = Path(__file__).parent / ".work" / "gwas"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "bench"
SECTION = DOCS / "gwas.md"
TABLES = DOCS / "gwas"  # one results table per size, and the notes
SIZES = {  # people, simulated length (bp): 3,609, 16,793 and 124,740 variant sites
    "quick": (1500, 400_000),
    "default": (6000, 1_300_000),
    "issue": (20_000, 7_000_000),
}
NODES = ["node-1", "node-2", "node-3"]

ABOUT = """\
genomesh in process = `run_rounds` (the in-process driver that does what the hub coordinator
and node runners do: configure, setup round, statistics round(s), the hub's per-variant solve,
the result table) over three in-memory nodes, nodes one after another, every request and reply
through the wire encoding; no HTTP transport and no state store. The in-memory nodes keep
their dosages in the sparse layout of a node's dosage cache (converted by the warm-up run, not
timed, like plink2's conversion to pgen). genomesh over HTTP (`--http`)
= a real hub and three real node processes on loopback (`genomesh hub serve`, `genomesh node
serve`, push nodes), each node reading its part from its own store (VCF Zarr + Parquet, ingested
from a per-node BCF split off the cohort's VCF by `bcftools +split`); timed from submitting the
task to the result's body received (signed rounds, guard, audit, the hub's state stored after
every round but the last, the result stored; the client waits for the result with a long poll,
`?wait=`, and parses the body after the clock stops); nodes compute concurrently, each with
`--threads` threads, and read their dosages from the node's sparse dosage cache (`analysis_dosage_cache`, built by
a warm-up run; not timed, like plink2's conversion to pgen); CPU = hub + node processes.
plink2 = `plink2 --glm omit-ref hide-covar` on the pooled data in its pgen format. Same model
on both sides: trait ~ site intercepts + sex + age + genotype, complete-case per variant; same
thread count (plink2 `--threads`, genomesh's dask workers and BLAS). Conversion, simulation,
ingest and start-up are not timed. CPU = user + system seconds of the process (plink2: of its
process via wait4; genomesh in process: `time.process_time`), less sensitive than wall time
to the shared machine's load. Memory: plink2's peak RSS; genomesh's peak allocated during the
run (tracemalloc, a second run), on top of the input already in memory. Goal (issue 9): wall
<= 1.0x plink2.
"""


def _cohort(n: int, length: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, Any]:
    """(individuals, variants, dosages, cohort files), simulated once and cached."""
    from genomesh.simulate import simulate_cohort

    folder = WORK / f"cohort-{n}-{length}-{seed}"
    cache = folder / "arrays.npz"
    if not cache.exists():
        files = simulate_cohort(folder, n_individuals=n, length=length, seed=seed, overwrite=True)
        individuals, variants, dosages = load_cohort(files)
        individuals.to_pickle(folder / "individuals.pkl")
        variants.to_pickle(folder / "variants.pkl")
        np.save(folder / "dosages.npy", dosages)
        np.savez(cache, done=np.ones(1))
    files = SimpleNamespace(
        vcf=folder / "cohort.vcf.gz", individuals=folder / "individuals.json",
        consent=folder / "consent.tsv",
    )  # fmt: skip
    if (folder / "dosages.npy").exists():
        dosages = np.load(folder / "dosages.npy", mmap_mode="r")
    else:  # an older cache
        dosages = np.load(cache)["dosages"]
    return (
        pd.read_pickle(folder / "individuals.pkl"),
        pd.read_pickle(folder / "variants.pkl"),
        dosages,
        files,
    )


def _split(individuals: pd.DataFrame, variants: pd.DataFrame, dosages: np.ndarray, chunk: int):
    """Three in-memory nodes, people round-robin in sample order (as `split_cohort` splits the
    files the HTTP nodes ingest); and everyone with a `site` column."""
    nodes, frames = {}, []
    for i, name in enumerate(NODES):
        part = individuals.iloc[i :: len(NODES)]
        nodes[name] = InMemoryLocalData(
            {f"{name}-ds": (part, variants, np.ascontiguousarray(dosages[:, i :: len(NODES)]))},
            min_count=5, chunk_variants=chunk,
        )  # fmt: skip
        frames.append(part.assign(site=f"{name}-ds"))
    return nodes, pd.concat(frames, ignore_index=True)


def _plink2(workdir: Path, people: pd.DataFrame, C: np.ndarray, vcf: Path, threads: str):
    plink2 = shutil.which("plink2")
    assert plink2, "plink2 is not installed"
    prefix = workdir / "pooled"
    if not (workdir / "pooled.pgen").exists():
        subprocess.run([plink2, "--vcf", str(vcf), "--make-pgen", "--out", str(prefix)],
                       check=True, capture_output=True)  # fmt: skip
    ids = people.individual_id.astype(str)
    pd.DataFrame({"#IID": ids, "TRAIT": people.quantitative}).to_csv(
        workdir / "pheno.tsv", sep="\t", index=False, float_format="%.17g"
    )
    covar = pd.DataFrame(C[:, 1:], columns=[f"S{i}" for i in range(1, C.shape[1])])
    covar.insert(0, "#IID", ids)
    covar.to_csv(workdir / "covar.tsv", sep="\t", index=False, float_format="%.17g")
    cmd = [
        plink2, "--pfile", str(prefix), "--pheno", str(workdir / "pheno.tsv"),
        "--covar", str(workdir / "covar.tsv"), "--glm", "omit-ref", "hide-covar",
        "--threads", threads, "--out", str(workdir / "glm"),
    ]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    assert status == 0, f"plink2 failed ({status})"
    proc.returncode = 0
    result = pd.read_csv(workdir / "glm.TRAIT.glm.linear", sep="\t")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, result


def _genomesh(nodes, mode: str, threads: int) -> tuple[float, float, int, pd.DataFrame]:
    import dask

    nodesets.set_ledger(nodesets.InMemoryNodeSetLedger())
    params = {"trait": "quantitative", "covariates": ["sex", "age"], "min_mac": 0, "mode": mode}
    with dask.config.set(num_workers=threads):
        start, cpu0 = time.perf_counter(), time.process_time()
        result, _ = run_rounds(GWAS, params, nodes, task_id=f"bench-{mode}", json_state=False)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
        nodesets.set_ledger(nodesets.InMemoryNodeSetLedger())
        tracemalloc.start()  # a second run for memory: tracing slows Python down
        run_rounds(GWAS, params, nodes, task_id=f"bench-{mode}-mem", json_state=False)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return wall, cpu, peak, pd.DataFrame(result["table"])


def _http(
    size: str, files: Any, threads: int, chunk: int
) -> list[tuple[str, float, float, pd.DataFrame]]:
    """The GWAS end to end through a hub and three node processes (warm-up, then timed)."""
    from gwas_http import TRAIT, LoopbackFederation, prepare

    root = WORK / f"http-{size}"
    root.mkdir(parents=True, exist_ok=True)
    fed = LoopbackFederation(root, prepare(root, files, NODES), threads=threads, chunk=chunk)
    out = []
    try:
        fed.start()
        params = {"trait": TRAIT, "covariates": ["sex", "age"], "min_mac": 0}
        fed.gwas({**params, "mode": "pooled"})  # warm-up: imports, first reads of the stores
        for mode in ("pooled", "secure"):
            cpu0 = fed.cpu()
            wall, body = fed.gwas({**params, "mode": mode})
            out.append((mode, wall, fed.cpu() - cpu0, pd.DataFrame(body["table"])))
    finally:
        fed.stop()
    return out


def _rel(ours: pd.DataFrame, plink: pd.DataFrame) -> tuple[float, int]:
    merged = ours.merge(plink, on="POS", suffixes=("", "_pl")).dropna(subset=["BETA", "BETA_pl"])
    rel = float((np.abs(merged.BETA - merged.BETA_pl) / np.abs(merged.BETA_pl)).max())
    return rel, len(merged)


def compose() -> None:
    """docs/bench/gwas.md from the stored tables (default size first) and the notes."""
    tables = [TABLES / f"{size}.md" for size in ("default", "issue")]
    parts = [t.read_text(encoding="utf-8").rstrip() + "\n" for t in tables if t.exists()]
    notes = TABLES / "notes.md"
    SECTION.write_text(
        "## Federated GWAS, linear (`benchmarks/gwas_bench.py`)\n\n"
        + ABOUT + "\n" + "\n".join(parts)
        + ("\n" + notes.read_text(encoding="utf-8") if notes.exists() else ""),
        encoding="utf-8",
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", default="1")
    parser.add_argument("--size", choices=sorted(SIZES), default="default")
    parser.add_argument("--quick", action="store_true", help="the same as --size quick")
    parser.add_argument("--http", action="store_true", help="also end to end over HTTP")
    parser.add_argument("--chunk", type=int, default=2048, help="variants per dask chunk")
    parser.add_argument("--compose", action="store_true", help="only rebuild the doc section")
    args = parser.parse_args()
    if args.compose:
        compose()
        return
    size = "quick" if args.quick else args.size
    n, length = SIZES[size]
    individuals, variants, dosages, files = _cohort(n, length, 42)
    nodes, people = _split(individuals, variants, dosages, args.chunk)
    V, N = dosages.shape
    del dosages  # the nodes hold their parts
    sites = [f"{name}-ds" for name in NODES]
    C = design_matrix(people, sites, ["sex", "age"], None)
    workdir = WORK / f"plink2-{n}-{length}"
    workdir.mkdir(parents=True, exist_ok=True)
    threads = int(args.threads)
    load = [os.getloadavg()[0]]

    p_wall, p_cpu, p_mem, plink = _plink2(workdir, people, C, files.vcf, args.threads)
    _genomesh(nodes, "pooled", threads)  # warm-up: imports, first-call costs
    rows = []
    for mode in ("pooled", "secure"):
        wall, cpu, mem, ours = _genomesh(nodes, mode, threads)
        rows.append((f"genomesh {mode}, in process", wall, cpu, mem, *_rel(ours, plink)))
    load.append(os.getloadavg()[0])
    if args.http:
        del nodes
        for mode, wall, cpu, ours in _http(size, files, threads, args.chunk):
            rows.append((f"genomesh {mode}, HTTP, hub + 3 node processes", wall, cpu, None,
                         *_rel(ours, plink)))  # fmt: skip
        load.append(os.getloadavg()[0])
    lines = [
        f"### {N:,} people x {V:,} variants",
        "",
        f"Command: `python benchmarks/gwas_bench.py --threads {threads} --size {size}"
        f"{' --http' if args.http else ''}`",
        "",
        f"GWAS benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.processor() or platform.machine()}, load average (1 min) "
        f"{', '.join(f'{x:.1f}' for x in load)} during the run, threads {threads}; "
        f"{V * N / 1e6:,.0f} M genotypes, 3 nodes of {', '.join(str(n // 3 + (i < n % 3)) for i in range(3))} people",
        "",
        "| run | wall (s) | CPU (s) | G genotypes/s (wall) | peak memory | ratio to plink2: wall | CPU | max rel. diff of BETA vs plink2 |",
        "|---|---|---|---|---|---|---|---|",
        f"| plink2 --glm (pgen) | {p_wall:.2f} | {p_cpu:.2f} | {V * N / p_wall / 1e9:.2f} | {p_mem / 2**20:.0f} MiB RSS | 1.00 | 1.00 | - |",
    ]
    for label, wall, cpu, mem, rel, count in rows:
        cpu_cell = f"{cpu:.2f}" if cpu is not None else "-"
        mem_cell = f"{mem / 2**20:.0f} MiB allocated" if mem is not None else "-"
        ratio_cpu = f"{cpu / p_cpu:.2f}" if cpu is not None else "-"
        lines.append(
            f"| {label} | {wall:.2f} | {cpu_cell} | {V * N / wall / 1e9:.2f} | {mem_cell} | "
            f"{wall / p_wall:.2f} | {ratio_cpu} | {rel:.1e} ({count:,} variants) |"
        )
    report = "\n".join(lines) + "\n"
    (WORK / f"report-{size}.md").write_text(report, encoding="utf-8")
    print(report)
    if size != "quick":
        TABLES.mkdir(parents=True, exist_ok=True)
        (TABLES / f"{size}.md").write_text(report, encoding="utf-8")
        compose()


if __name__ == "__main__":
    main()
