"""Federated GWAS (linear; pooled and secure) against plink2 --glm on the pooled data.

Three in-process nodes hold a simulated cohort split at random (6,000 people x ~17,000
variants by default; `genomesh simulate`'s msprime out-of-Africa model, planted BMI-like
trait). Both sides get the same model: trait ~ site intercepts + sex + age + genotype,
per variant, complete-case. plink2 reads the pooled data in its own pgen format; conversion,
simulation and loading are not timed on either side.

Timed: for genomesh, `run_rounds` from configure to result (setup round, statistics round,
the hub's per-variant solve), nodes computing one after another in this process, the way the
in-process driver does (no HTTP transport: that is the task layer's cost, measured there);
for plink2, the `plink2 --glm` process. Same number of threads on both sides (`--threads`):
plink2 --threads N; genomesh's dask scheduler and BLAS limited to N.

Memory: plink2's peak RSS (wait4 rusage of its process); genomesh's peak of memory allocated
during the run (tracemalloc, which NumPy reports to), i.e. on top of the input data already
in memory; a node reading its Zarr store would hold only chunks of it.

Usage: python benchmarks/gwas_bench.py [--threads 1] [--quick]
Writes docs/bench/gwas.md (its section of docs/benchmarks.md; --quick writes only
benchmarks/.work/gwas/report.md).
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

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from genomesh.analysis.gwas import GWAS, nodesets  # noqa: E402
from genomesh.testing.federation import run_rounds  # noqa: E402
from genomesh.testing.gwas import design_matrix, load_cohort, pooled, split_nodes, write_vcf  # noqa: E402

WORK = Path(__file__).parent / ".work" / "gwas"
SECTION = Path(__file__).resolve().parents[1] / "docs" / "bench" / "gwas.md"

ABOUT = """\
genomesh = `run_rounds` (the in-process driver that does what the hub coordinator and node
runners do: configure, setup round, statistics round, the hub's per-variant solve, result rows)
over three in-memory nodes, nodes one after another; no HTTP transport and no state store
(measured with the task layer). plink2 = `plink2 --glm omit-ref hide-covar` on the pooled data in its pgen format. Same
model on both sides: trait ~ site intercepts + sex + age + genotype, complete-case per variant;
same thread count (plink2 `--threads`, genomesh's dask workers and BLAS). Conversion, simulation
and loading are not timed. CPU = user + system seconds of the process (plink2: of its process via
wait4; genomesh: `time.process_time`), less sensitive than wall time to the shared machine's
load. Memory: plink2's peak RSS; genomesh's peak allocated during the run (tracemalloc, a second
run), on top of the input already in memory. Goal (issue 9): wall <= 1.0x plink2.
"""

NOTES = """\
### Reading the numbers (2026-12-03, shared machine at load average 5-11 on 2 cores)

Goal not met. Across four runs this afternoon genomesh pooled took 3.6-5.4x plink2's wall time
(4.5-6.6x its CPU time) and secure 3.5-10.6x (5.5-10x CPU); the table above is the last run.
BETA agrees with plink2 to its 6 printed digits; secure's 1.5e-5 is one beta of -2.67e-5 with
SE 1.50 (secure vs pooled: at most 2.4e-8 of max(|beta|, SE), the fixed-point resolution on a
beta 5 orders of magnitude below its SE). Against a float64 reference the federated betas and
SEs agree to 1e-6 (tests/analysis/gwas).

Where genomesh's ~0.35 CPU-seconds (pooled) go, profiled with `time.process_time`: the node
kernel ~0.2 s — the simulated dosages are 96% zeros, so each chunk is scanned as 8-byte words
and only non-zero dosages enter a float64 CSR product (~0.5 G genotypes per CPU-second; the
dense BLAS path it replaced ran ~0.13); building the dask graph and the per-round design
~0.04 s per node; the hub's solve and the 16,793 result rows ~0.1 s. Secure adds the dense
missing-genotype correction block (27 numbers per variant per node, all zero here), fixed-point
encoding, the ChaCha20 masks and their decoding.

plink2 runs far above the 0.28 G genotypes/s per thread quoted in issue 9 on these data
(1-1.7 G per CPU-second): its pgen format stores rare variants as sparse difference lists, so
it too touches only the non-zero calls. At this size (0.06-0.09 CPU-seconds for plink2)
genomesh's fixed per-round costs weigh as much as its kernel. Not tried yet: a compiled kernel
(e.g. numba) for the sparse scan, sending only the correction rows that are non-zero at some
node in secure mode, and the 20,000 x 100,000 size from the issue, where the kernel dominates.
"""


def _cohort(n: int, length: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    from genomesh.simulate import simulate_cohort

    folder = WORK / f"cohort-{n}-{length}-{seed}"
    cache = folder / "arrays.npz"
    if not cache.exists():
        files = simulate_cohort(folder, n_individuals=n, length=length, seed=seed, overwrite=True)
        individuals, variants, dosages = load_cohort(files)
        individuals.to_pickle(folder / "individuals.pkl")
        variants.to_pickle(folder / "variants.pkl")
        np.savez(cache, dosages=dosages)
    return (
        pd.read_pickle(folder / "individuals.pkl"),
        pd.read_pickle(folder / "variants.pkl"),
        np.load(cache)["dosages"],
    )


def _plink2(
    workdir: Path, people: pd.DataFrame, G: np.ndarray, C: np.ndarray, variants, threads: str
):
    plink2 = shutil.which("plink2")
    assert plink2, "plink2 is not installed"
    prefix = workdir / "pooled"
    if not (workdir / "pooled.pgen").exists():
        vcf = write_vcf(workdir / "pooled.vcf", variants, people.individual_id.tolist(), G)
        subprocess.run([plink2, "--vcf", str(vcf), "--make-pgen", "--out", str(prefix)],
                       check=True, capture_output=True)  # fmt: skip
        vcf.unlink()
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
    return wall, cpu, peak, pd.DataFrame(result["rows"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", default="1")
    parser.add_argument("--quick", action="store_true", help="1,500 people x 400 kb")
    parser.add_argument("--chunk", type=int, default=2048, help="variants per dask chunk")
    args = parser.parse_args()
    n, length = (1500, 400_000) if args.quick else (6000, 1_300_000)
    individuals, variants, dosages = _cohort(n, length, 42)
    nodes, _ = split_nodes(individuals, variants, dosages, n_nodes=3, chunk_variants=args.chunk)
    people, G, sites = pooled(nodes)
    C = design_matrix(people, sites, ["sex", "age"], None)
    workdir = WORK / f"plink2-{n}-{length}"
    workdir.mkdir(parents=True, exist_ok=True)
    threads = int(args.threads)

    p_wall, p_cpu, p_mem, plink = _plink2(workdir, people, G, C, variants, args.threads)
    _genomesh(nodes, "pooled", threads)  # warm-up: imports, first-call costs
    rows = []
    for mode in ("pooled", "secure"):
        wall, cpu, mem, ours = _genomesh(nodes, mode, threads)
        merged = ours.merge(plink, on="POS", suffixes=("", "_pl")).dropna(
            subset=["BETA", "BETA_pl"]
        )
        rel = float((np.abs(merged.BETA - merged.BETA_pl) / np.abs(merged.BETA_pl)).max())
        rows.append((mode, wall, cpu, mem, rel, len(merged)))
    V, N = G.shape
    lines = [
        f"GWAS benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
        f"load {os.getloadavg()[0]:.1f}, threads {threads}",
        f"data: {N:,} people x {V:,} variants = {V * N / 1e6:.0f} M genotypes, 3 nodes "
        f"({', '.join(str(len(d.individuals(ds))) for d in nodes.values() for ds in d.dataset_ids)} people)",
        "",
        "| run | wall (s) | CPU (s) | G genotypes/s (wall) | peak memory | ratio to plink2: wall | CPU | max rel. diff of BETA vs plink2 |",
        "|---|---|---|---|---|---|---|---|",
        f"| plink2 --glm (pgen) | {p_wall:.2f} | {p_cpu:.2f} | {V * N / p_wall / 1e9:.2f} | {p_mem / 2**20:.0f} MiB RSS | 1.00 | 1.00 | - |",
    ]
    for mode, wall, cpu, mem, rel, count in rows:
        lines.append(
            f"| genomesh {mode} | {wall:.2f} | {cpu:.2f} | {V * N / wall / 1e9:.2f} | {mem / 2**20:.0f} MiB allocated | "
            f"{wall / p_wall:.2f} | {cpu / p_cpu:.2f} | {rel:.1e} ({count:,} variants) |"
        )
    report = "\n".join(lines) + "\n"
    (WORK / "report.md").write_text(report, encoding="utf-8")
    print(report)
    if not args.quick:
        command = f"python benchmarks/gwas_bench.py --threads {threads}"
        SECTION.write_text(
            "## Federated GWAS, linear (`benchmarks/gwas_bench.py`)\n\n"
            f"Command: `{command}`\n\n{ABOUT}\n{report}\n{NOTES}",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
