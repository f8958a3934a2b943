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
    "The first report (2026-11-23 06:58 UTC, before the parser/decoder split, load not "
    "recorded): "
    "ratio wall 0.36 / 0.65 / 0.79 and ratio CPU 0.39 / 0.43 / 0.45 for the three rows; "
    "on a quieter moment the CINECA ingest took ~0.95 s wall against bcftools' 0.37 s (0.39)."
)


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
            f"**{r['ratio']:.2f}** | **{r['cpu_ratio']:.2f}** | {main_ratio} | {r['peak_mb']:.0f} ({r['base_mb']:.0f}) | "
            f"{r['bcftools_peak_mb']:.0f} | {load} |"
        )
    return lines


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
        f"Command: `{command}` (run on {platform.node()}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; 2 cores shared with seven other "
        f"engineers' work, {load}, so wall-clock numbers are noisy; the CPU columns are steadier).",
        "",
        "genomesh = `genomesh.store.ingest_dataset` (parse with cyvcf2, split/trim, recompute "
        "counts, write VCF Zarr + Parquet index + carriers + tables, atomic switch), timed in a "
        "fresh process after its imports; bcftools = `bcftools view -Ob` (parse and re-encode "
        "as BCF) end to end, on the same file, interleaved with the genomesh runs. Best of the "
        "repeats. Ratio = genomesh throughput / bcftools throughput (goal >= 0.5), by wall "
        "clock and by CPU time (user + system, all threads). Parser-thread CPU = the CPU time "
        "of the thread that runs cyvcf2 (the critical path: cyvcf2 holds the GIL while parsing).",
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
        "Where the time goes: iterating the records with cyvcf2 costs about what bcftools spends "
        "on the whole conversion (both run htslib's VCF parser: CINECA 0.34 CPU s vs 0.36; "
        "6,000 samples x 13,241 records 2.5 vs 2.4), and cyvcf2 holds the GIL while it parses. "
        "So the parser thread does only what needs the parser: per record the fields, the "
        "SnpEff/VEP annotations (only when the header declares ANN/CSQ) and the raw BCF GT "
        "codes (`rec.format('GT', int)`, "
        "0.16 s on the 6,000-sample file where `genotype.array()` took 0.55 s). A writer thread "
        "decodes the codes in bulk (one row max for the allele check, the codes' low byte "
        "shifted to alleles, one lookup to genotype categories, per-variant bincount), splits "
        "multi-allelic records, and writes blosc-zstd(1)+bitshuffle Zarr chunks and zstd "
        "Parquet - numpy, blosc and zstd run without the GIL, so this overlaps the parsing. "
        "With a free second core, wall time is therefore about the parser thread's CPU time "
        "plus the last batch's write (the 'bcftools CPU / parser-thread CPU' column is that "
        "bound); on this shared machine the writer thread competes with other processes for "
        "the cores, so the wall ratio falls toward the total-CPU ratio. Total CPU barely "
        "moved: the work went to another thread rather than away. The remaining gap is "
        "htslib's parse inside cyvcf2 itself, which alone costs what bcftools' whole run does. "
        "`VCF(threads=2)` / `set_threads(2)` (BGZF decompression threads) changed nothing with "
        "this cyvcf2 build (0.35): process CPU stayed equal to the parser thread's, i.e. no "
        "decompression thread ran; feeding cyvcf2 decompressed text through a pipe from a "
        "Python thread did not lower the parser thread's CPU either. Neither is used.",
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
    if args.report_from is not None:
        write_report(
            rows_of(args.report_from), "python benchmarks/ingest_bench.py",
            before=before, before_label=args.before_label,
        )  # fmt: skip
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
    command = (
        "python benchmarks/ingest_bench.py"
        + (" --quick" if args.quick else "")
        + (f" --repeat {args.repeat}" if args.repeat != 3 else "")
        + (" --before OLD.log --before-label ..." if before else "")
    )
    write_report(rows, command, before=before, before_label=args.before_label)
    return 0


if __name__ == "__main__":
    sys.exit(main())
