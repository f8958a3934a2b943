"""Run every benchmark in this folder and rebuild docs/benchmarks.md from their reports.

Each `*_bench.py` script measures genomesh against the tool a user would otherwise use, on the
same data in the same run, and writes its section to `docs/bench/<area>.md` (results, ratios and
the exact command). This script runs them in turn (`make bench`) and stitches the sections
together, so docs/benchmarks.md always says which command produced which number.

Usage: python benchmarks/run_all.py [--only NAME ...] [--skip-run]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "benchmarks"
SECTIONS = ROOT / "docs" / "bench"
OUT = ROOT / "docs" / "benchmarks.md"

HEADER = """# Benchmarks

Every number here comes from a script in `benchmarks/`, run on the project's standard machine
(2 cores, 24 GiB) with the command shown in its section; each compares genomesh with the tool a
user would otherwise use, on the same data in the same run, and reports the ratio. Re-run all of
them with `make bench` (or one with `python benchmarks/<name>_bench.py`); this file is rebuilt
from the sections in `docs/bench/`. Timings are never asserted in tests: machines are noisy.
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", nargs="*", default=None, help="benchmark names, e.g. ingest beacon"
    )
    parser.add_argument("--skip-run", action="store_true", help="only rebuild docs/benchmarks.md")
    args = parser.parse_args()
    scripts = sorted(BENCH_DIR.glob("*_bench.py"))
    if args.only:
        scripts = [s for s in scripts if s.stem.removesuffix("_bench") in args.only]
    failed = []
    if not args.skip_run:
        for script in scripts:
            print(f"== {script.name}", flush=True)
            started = time.perf_counter()
            result = subprocess.run([sys.executable, str(script)], cwd=ROOT, check=False)
            print(
                f"== {script.name}: exit {result.returncode} in {time.perf_counter() - started:.0f} s"
            )
            if result.returncode != 0:
                failed.append(script.name)
    sections = sorted(SECTIONS.glob("*.md"))
    OUT.write_text(HEADER + "".join("\n" + s.read_text().rstrip() + "\n" for s in sections))
    print(f"wrote {OUT.relative_to(ROOT)} from {len(sections)} sections")
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
