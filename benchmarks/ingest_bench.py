"""Ingest throughput and peak memory: genomesh vs `bcftools view -Ob` on the same VCFs.

Datasets: the CINECA UK1 chr22 excerpt (5,002 records x 2,504 samples, 449 INFO fields) and a
simulated 6,000-sample cohort (msprime via genomesh.simulate) at two lengths, so peak memory
can be compared across variant counts. Each tool runs in a fresh subprocess, best of
`--repeat` runs; throughput = VCF records / wall seconds and genotypes / wall seconds; peak
RSS from getrusage of the child. genomesh is timed around `ingest_dataset` only (after its
imports, which cost about a second once per process); bcftools end to end.

Usage: python benchmarks/ingest_bench.py [--repeat 3] [--quick] [--before OLD.log --before-label TEXT]
       python benchmarks/ingest_bench.py --report-from NEW.log [--before OLD.log ...]  (no runs)
Writes docs/bench/ingest.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work" / "ingest"
OUT = ROOT / "docs" / "bench" / "ingest.md"

CHILD = """
import json, resource, shutil, sys, time
import pandas  # noqa: F401  (pyarrow imports it lazily on first use; keep it out of the timing)
from genomesh.store import ingest_dataset, init_node
import genomesh.ontology.duo  # noqa: F401
node, vcf = sys.argv[1], sys.argv[2]
shutil.rmtree(node, ignore_errors=True)
init_node(node, name="bench", jurisdiction="GB")
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t, c, m = time.perf_counter(), time.process_time(), time.thread_time()
s = ingest_dataset(node, "bench", vcf=vcf)
seconds, cpu, main = time.perf_counter() - t, time.process_time() - c, time.thread_time() - m
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "cpu": cpu, "main_cpu": main, "records": s.n_records,
                  "variants": s.n_variants, "samples": s.n_samples, "peak_kb": peak,
                  "base_kb": base}))
"""


def run_genomesh(vcf: Path) -> dict:
    node = WORK / "node"
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(node), str(vcf)],
        check=True, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_bcftools(vcf: Path) -> dict:
    target = WORK / "out.bcf"
    t = time.perf_counter()
    child = subprocess.Popen(
        ["bcftools", "view", "-Ob", "-o", str(target), str(vcf)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - t
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"bcftools failed on {vcf}")
    return {"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime, "peak_kb": usage.ru_maxrss}


SIMULATE = """
import sys
from genomesh.simulate import simulate_cohort
c = simulate_cohort(sys.argv[1], n_individuals=int(sys.argv[2]), length=int(sys.argv[3]),
                    seed=int(sys.argv[4]), overwrite=True)
print(c.vcf)
"""


def simulate(n: int, length: int, seed: int) -> Path:
    """A simulated cohort's VCF (made once, in a child process so this one stays small)."""
    folder = WORK / f"sim_{n}_{length}"
    vcf_files = list(folder.glob("*.vcf.gz"))
    if vcf_files:
        return vcf_files[0]
    out = subprocess.run(
        [sys.executable, "-c", SIMULATE, str(folder), str(n), str(length), str(seed)],
        check=True, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    return Path(out.stdout.strip().splitlines()[-1])


def reference_dir() -> Path:
    """Same rule as genomesh.testing.reference (not imported: keep this process small)."""
    env = os.environ.get("GENOMESH_REFERENCE")
    return Path(env) if env else ROOT.parent / "shared" / "reference"


def measure(name: str, vcf: Path, repeat: int) -> dict:
    ours, theirs = [], []
    load = [os.getloadavg()[0]]
    for _ in range(repeat):  # interleaved, so both see the same machine load
        theirs.append(run_bcftools(vcf))
        ours.append(run_genomesh(vcf))
        load.append(os.getloadavg()[0])
    best = min(ours, key=lambda r: r["seconds"])
    bcf = min(r["seconds"] for r in theirs)
    records, samples = best["records"], best["samples"]
    row = {
        "name": name,
        "records": records,
        "variants": best["variants"],
        "samples": samples,
        "genomesh_s": best["seconds"],
        "bcftools_s": bcf,
        "genomesh_rec_s": records / best["seconds"],
        "bcftools_rec_s": records / bcf,
        "genomesh_gt_s": records * samples / best["seconds"],
        "bcftools_gt_s": records * samples / bcf,
        "ratio": bcf / best["seconds"],
        "genomesh_cpu": min(r["cpu"] for r in ours),
        "bcftools_cpu": min(r["cpu"] for r in theirs),
        "peak_mb": max(r["peak_kb"] for r in ours) / 1024,
        "base_mb": min(r["base_kb"] for r in ours) / 1024,
        "bcftools_peak_mb": max(r["peak_kb"] for r in theirs) / 1024,
        "genomesh_main_cpu": min(r.get("main_cpu", r["cpu"]) for r in ours),
        "load_min": min(load),
        "load_max": max(load),
    }
    row["cpu_ratio"] = row["bcftools_cpu"] / row["genomesh_cpu"]
    print(json.dumps(row), flush=True)
    return row


BEFORE = (
    "Earlier reports: 2026-11-23 06:58 UTC, before the parser/decoder split (load not "
    "recorded): ratio wall 0.36 / 0.65 / 0.79 and ratio CPU 0.39 / 0.43 / 0.45 for the three "
    "rows; 07:56 UTC, after it (commit e7f98e5's code, load 1.5-2.9): ratio wall 0.42 / 0.53 / "
    "0.66, ratio CPU 0.42 / 0.46 / 0.44, CINECA 0.90 s wall against bcftools' 0.38 s."
)


def _down(ratio: float) -> str:
    """A ratio rounded down to two decimals (0.496 shows as 0.49: the goal is >= 0.5)."""
    return f"{math.floor(ratio * 100) / 100:.2f}"


def _table(rows: list[dict]) -> list[str]:
    lines = [
        "| data | records | samples | genomesh s (CPU s; parser thread CPU s) | bcftools s (CPU s) | genomesh records/s | genomesh genotypes/s | bcftools genotypes/s | ratio wall | ratio CPU | bcftools CPU / parser-thread CPU | genomesh peak RSS MB (after imports) | bcftools peak RSS MB | load (1 min) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        main_cpu = r.get("genomesh_main_cpu")
        main_txt = f"; {main_cpu:.2f}" if main_cpu is not None else ""
        main_ratio = f"{r['bcftools_cpu'] / main_cpu:.2f}" if main_cpu else "-"
        load = f"{r['load_min']:.1f}-{r['load_max']:.1f}" if "load_min" in r else "-"
        lines.append(
            f"| {r['name']} | {r['records']:,} | {r['samples']:,} | "
            f"{r['genomesh_s']:.2f} ({r['genomesh_cpu']:.2f}{main_txt}) | {r['bcftools_s']:.2f} ({r['bcftools_cpu']:.2f}) | "
            f"{r['genomesh_rec_s']:,.0f} | {r['genomesh_gt_s']:,.0f} | {r['bcftools_gt_s']:,.0f} | "
            f"**{_down(r['ratio'])}** | **{_down(r['cpu_ratio'])}** | {main_ratio} | {r['peak_mb']:.0f} ({r['base_mb']:.0f}) | "
            f"{r['bcftools_peak_mb']:.0f} | {load} |"
        )
    return lines


WHERE = [
    "Where the time goes (CINECA excerpt, profiled with py-spy, perf and per-step timers; "
    "CPU seconds). Before this round (commit e7f98e5): parser thread ~0.55-0.60, writer "
    "thread ~0.25, zarr-python's event-loop and codec threads ~0.15, ~0.95-1.05 in all. "
    "Iterating the records with cyvcf2 is 0.35 (about bcftools' whole run: both run htslib's "
    "VCF parser, 449 INFO fields a record here; cyvcf2 inflates with zlib where bcftools "
    "uses libdeflate) and `rec.format('GT', int)` another 0.07, so 0.42 is the parser "
    "thread's floor; the per-record Python (fields, SnpEff annotations, normalisation) "
    "adds ~0.05. Not where the time went: the individuals file (the bench passes none; with "
    "the CINECA BFF `individuals.json`, reading it costs 0.09 and writing its tables 0.07, "
    "the latter now overlapped with the writer's last batch), DuckDB (only used to sort an "
    "unsorted VCF), the atomic switch, checksums and dataset.json (~7 ms), garbage "
    "collection (6 ms), node settings (10 ms), imports (excluded). What was removed:",
    "",
    "- **zarr-python 3's asyncio round trip** per array create, attribute write, chunk write "
    "and resize: ~0.1 s wall to create the ten arrays before the first chunk, ~0.05 s at "
    "close on the critical path, ~0.15 s CPU in its event loop and codec threads (more than "
    "the compression itself). The Zarr v2 chunks and metadata are now written directly, "
    "byte for byte what zarr-python writes (tests/store/test_zarr_writer.py rewrites a store "
    "with zarr-python and compares every file).",
    "- **Kernel page zeroing on the parser thread**: a fresh 20 MB raw GT block per batch "
    "meant every page was zeroed by the kernel (transparent huge pages) as the parser first "
    "wrote it, ~0.1 s. The blocks are now reused (at most three alive, as before).",
    "- **GIL stalls**: cyvcf2 releases the GIL inside htslib's read and must take it back for "
    "every record, so any GIL-holding work on the writer thread stalls the parser. "
    "`np.bincount` (the per-variant counts) holds the GIL for its whole run; the counts of "
    "ploidy 1-2 calls now come from table lookups of packed counters and row sums "
    "(`np.take`, `sum`, both GIL-free), ~45 ms less CPU as well.",
    "- **Carriers** found with one 1-D `flatnonzero` instead of `np.nonzero` on the 2-D "
    "dosage block (3x faster); lookups into reused scratch blocks with `np.take(mode='clip')` "
    "(with `out=` and the default mode numpy buffers and copies).",
    "- **The end of the run**: the main thread waited ~40 ms on the full queue to hand over "
    "the end marker, then wrote the people and consent tables, then closed the Zarr store. "
    "Now the writer closes the store itself and the tables (they need nothing from the VCF "
    "but the sample names; one JSON encoder for all documents instead of one per "
    "individual) are written while it drains its last batch.",
    "",
    "The code before this round already reached 0.52 by wall clock on CINECA on a quiet "
    "machine (load ~1, table above); the 0.42 of the 07:56 report was measured at load "
    "1.5-1.6. By CPU time it was 0.40-0.45 in every run, and that is what moved most. By CPU "
    "time the CINECA ratio is now at the threshold rather than safely above it: 0.51 in this "
    "run, 0.49-0.52 in interleaved before/after runs during the work (load 1-3). Peak RSS "
    "of the 6,000-sample runs is ~50 MB above the before run's 287 MB: reused raw blocks "
    "(48 MB each at 6,000 samples) stay allocated for the whole ingest, so the third block "
    "the pipeline may need is resident where before it was allocated and freed (the before "
    "code also peaked at 310-332 MB in a run under load 3-4); it stays flat in the number of "
    "variants.",
    "",
    "What remains (CINECA, CPU s): the parser thread ~0.52 (its floor 0.42 plus the "
    "per-record Python: fields, SnpEff annotations, normalisation), the writer ~0.2 "
    "(decoding and counting ~0.07, blosc-zstd(1)+bitshuffle Zarr chunks ~0.05, Parquet "
    "~0.04, the kernel zeroing fresh pages for each batch's output arrays and Arrow's "
    "allocator ~0.05); wall = the parser thread plus ~0.06 s for the writer's last full batch "
    "and the Zarr close. The remaining gap to bcftools is htslib's parse inside cyvcf2, so "
    "by CPU time the ratio stays near 0.5. Tried and not kept: a smaller GIL switch interval "
    "(no measurable change); writing the people tables after the writer has finished (a "
    "little less CPU, more wall); earlier, "
    "`VCF(threads=2)` / `set_threads(2)` (BGZF decompression threads: no thread ran with "
    "this cyvcf2 build, 0.35) and feeding cyvcf2 decompressed text through a pipe (the "
    "parser thread's CPU did not drop). orjson (not a dependency) was not needed: JSON "
    "parsing is not on the bench's path and the individuals' JSON output is 2,504 small "
    "documents.",
]


def write_report(
    rows: list[dict], command: str, *, before: list[dict] | None = None, before_label: str = ""
) -> None:
    loads = [x for r in rows for x in (r.get("load_min"), r.get("load_max")) if x is not None]
    load = (
        f"1-minute load average {min(loads):.1f}-{max(loads):.1f} during the runs"
        if loads
        else "load not recorded"
    )
    lines = [
        "## Ingest (`benchmarks/ingest_bench.py`)",
        "",
        f"Command: `{command}`"
        + (
            ", where OLD.log is the output of the same command without `--before`, run just "
            "before with `PYTHONPATH=<dir>/src` (`git archive <commit> src | tar -x -C <dir>`)"
            if before
            else ""
        )
        + f" (run on {platform.node()}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; 2 cores shared with seven other "
        f"engineers' work, {load}, so wall-clock numbers are noisy; the CPU columns are steadier).",
        "",
        "genomesh = `genomesh.store.ingest_dataset` (parse with cyvcf2, split/trim, recompute "
        "counts, write VCF Zarr + Parquet index + carriers + tables, atomic switch), timed in a "
        "fresh process after its imports; bcftools = `bcftools view -Ob` (parse and re-encode "
        "as BCF) end to end, on the same file, interleaved with the genomesh runs. Best of the "
        "repeats. Ratio = genomesh throughput / bcftools throughput (goal >= 0.5; rounded "
        "down), by wall clock and by CPU time (user + system, all threads). Parser-thread CPU = the CPU time "
        "of the thread that runs cyvcf2 (the critical path; cyvcf2 releases the GIL only inside "
        "htslib's read of each record and takes it back for every record).",
        "",
        *_table(rows),
    ]
    sims = [r for r in rows if r["name"].startswith("simulated")]
    if len(sims) >= 2:
        a, b = sims[0], sims[-1]
        lines += [
            "",
            f"Memory is flat in the number of variants: {a['records']:,} records peak at "
            f"{a['peak_mb']:.0f} MB, {b['records']:,} records ({b['records'] / a['records']:.1f}x) "
            f"at {b['peak_mb']:.0f} MB. Ingest streams batches of 1,000 records (raw GT codes "
            "buffered as one int32 block of 1,000 x samples x ploidy; at most three batches "
            "alive: being parsed, queued, being written), so peak memory grows with the number "
            "of samples, not of variants.",
        ]
    wall_ok = [r["name"] for r in rows if r["ratio"] >= 0.5]
    cpu_ok = [r["name"] for r in rows if r["cpu_ratio"] >= 0.5]
    lines += [
        "",
        f"Goal (>= 0.5x bcftools): met by wall clock for {', '.join(wall_ok) or 'none'}; "
        f"by CPU time for {', '.join(cpu_ok) or 'none'}.",
        "",
        *(
            [
                f"Before ({before_label}), same script and machine; compare the CPU columns, "
                "the load differed:",
                "",
                *_table(before),
                "",
            ]
            if before
            else []
        ),
        BEFORE,
        "",
        *WHERE,
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smaller simulated cohorts")
    parser.add_argument("--report-from", type=Path, help="rewrite the report from a saved log")
    parser.add_argument("--before", type=Path, help="a saved log of an earlier run to compare")
    parser.add_argument("--before-label", default="an earlier version")
    args = parser.parse_args()

    def rows_of(path: Path) -> list[dict]:  # the JSON rows this script printed in a run
        return [json.loads(ln) for ln in path.read_text().splitlines() if ln.startswith("{")]

    before = rows_of(args.before) if args.before is not None else None
    command = (
        "python benchmarks/ingest_bench.py"
        + (" --quick" if args.quick else "")
        + (f" --repeat {args.repeat}" if args.repeat != 3 else "")
        + (" --before OLD.log --before-label ..." if before else "")
    )
    if args.report_from is not None:
        write_report(
            rows_of(args.report_from), command, before=before, before_label=args.before_label
        )
        return 0
    if shutil.which("bcftools") is None:
        print("bcftools not found", file=sys.stderr)
        return 1
    WORK.mkdir(parents=True, exist_ok=True)
    reference = reference_dir()
    cineca = (
        reference
        / "beacon-testdata"
        / "cineca_uk1"
        / "vcf"
        / "chr22.cineca_uk1.5002.annotated.vcf.gz"
    )
    n = 1000 if args.quick else 6000
    lengths = (200_000, 800_000) if args.quick else (1_000_000, 4_000_000)
    rows = [measure("CINECA UK1 chr22 excerpt", cineca, args.repeat)]
    for length in lengths:
        vcf = simulate(n, length, seed=7)
        rows.append(measure(f"simulated {n:,} samples, {length / 1e6:g} Mb", vcf, args.repeat))
    write_report(rows, command, before=before, before_label=args.before_label)
    return 0


if __name__ == "__main__":
    sys.exit(main())
