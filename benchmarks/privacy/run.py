"""Membership-inference attacks on a live genomesh node, with the unprotected baseline.

    python benchmarks/privacy/run.py --members 400 --length 30e6 --out docs/bench/privacy.md
    python benchmarks/privacy/run.py --quick            # a small cohort, minutes

One `genomesh simulate` population is split into beacon members (ingested into a node),
a reference panel and non-member victims (neither ingested). For each configuration -
`baseline` (protections switched off by settings) and `protected` (the node's defaults, plus
any --protected-env) - every scenario of `scenarios.SCENARIOS` runs against a fresh
`genomesh node serve` process (and a `genomesh hub serve` in front for scenario d), then the
legitimate workload measures utility. Results go to --out (markdown) and a JSON beside it.

Re-running after new defences: their off-switches for the baseline are passed as
`--baseline-env GENOMESH_SETTING=value` (repeatable); `--node-url`/`--hub-url` attack an
already running node instead of starting one (it must hold this run's members: start it from
the node folder printed by `--build-only`; scenario c then needs --skip c unless that node
trusts the harness's issuer).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402
from cohort import build_node, load_world, simulate  # noqa: E402
from scenarios import SCENARIOS, Attack, Target, run_utility, utility_workload  # noqa: E402
from services import BASELINE_ENV, hub_process, node_process  # noqa: E402

ISSUER = "https://issuer.privacy-bench.test"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--members", type=int, default=400, help="individuals in the beacon")
    p.add_argument("--panel", type=int, default=400, help="reference panel (not ingested)")
    p.add_argument("--outsiders", type=int, default=50, help="non-member victims (the null)")
    p.add_argument("--member-victims", type=int, default=50, help="member victims attacked")
    p.add_argument("--length", type=float, default=30e6, help="simulated region, bp")
    p.add_argument("--queries", type=int, default=1000, help="queries per victim")
    p.add_argument("--utility-queries", type=int, default=10_000)
    p.add_argument("--callers", type=int, default=100, help="callers of the legitimate workload")
    p.add_argument("--threads", type=int, default=4, help="client threads")
    p.add_argument("--seed", type=int, default=2015)
    p.add_argument(
        "--ld-asked-min-count",
        type=int,
        default=0,
        help="scenario e: ask only alleles seen this often in the panel, infer the rarer "
        "ones (0 = ask every other one of the rarest)",
    )
    p.add_argument("--skip", default="", help="scenario letters to leave out, e.g. cd")
    p.add_argument("--configs", default="baseline,protected")
    p.add_argument("--baseline-env", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--protected-env", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--node-url", help="attack this running node as `protected`")
    p.add_argument("--hub-url", help="with --node-url: the hub in front of it (scenario d)")
    p.add_argument("--work", type=Path, default=ROOT / "benchmarks" / ".work" / "privacy")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "bench" / "privacy.md")
    p.add_argument("--quick", action="store_true", help="a small cohort and few queries")
    p.add_argument("--build-only", action="store_true", help="simulate + ingest, then stop")
    p.add_argument("--label", help="name the protected configuration in the results")
    p.add_argument(
        "--merge-into",
        type=Path,
        help="add this run's configurations to an earlier report (same cohort options)",
    )
    p.add_argument(
        "--report-only", action="store_true", help="rewrite --out from its .json (no attack)"
    )
    if p.parse_known_args(argv)[0].quick:  # smaller defaults; explicit options still win
        p.set_defaults(
            members=60, panel=80, outsiders=20, member_victims=20, length=3e6, queries=100,
            utility_queries=700, callers=10,
        )  # fmt: skip
    args = p.parse_args(argv)
    return args


def env_pairs(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("GENOMESH_"):
            raise SystemExit(f"expected GENOMESH_SETTING=value, got {item!r}")
        out[key] = value
    return out


@contextmanager
def target_for(
    config: str, scenario: str, args: argparse.Namespace, node_dir: Path, env: dict[str, str]
) -> Iterator[Target]:
    """A fresh node (and hub for d) for one scenario, or the given URLs."""
    from genomesh.testing.passports import TestIssuer

    if config == "protected" and args.node_url:
        bearer = None
        yield Target(args.node_url, args.hub_url, bearer)
        return
    logs = args.work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    state = args.work / f"state-{config}-{scenario}.sqlite"
    with node_process(node_dir, state, env, log=logs / f"{config}-node.log") as url:
        issuer = TestIssuer(ISSUER, keys=KEYS, node_base_url=url)
        hub = (
            hub_process(args.work / f"hub-{config}", url, log=logs / f"{config}-hub.log")
            if scenario == "d"
            else nullcontext(None)
        )
        with hub as hub_url:
            yield Target(url, hub_url, lambda subject: issuer.bearer(subject=subject))


def run_config(config: str, args: argparse.Namespace, world: Any, node_dir: Path) -> dict[str, Any]:
    env = {**TRUST_ENV}
    if config == "baseline":
        env |= BASELINE_ENV | env_pairs(args.baseline_env)
    else:
        env |= env_pairs(args.protected_env)
    out: dict[str, Any] = {"env": {k: v for k, v in env.items() if k != "GENOMESH_TRUSTED_ISSUERS"}}
    out["ld_asked_min_count"] = args.ld_asked_min_count
    started = time.perf_counter()
    workload = utility_workload(
        world, n_queries=args.utility_queries, n_callers=args.callers, seed=args.seed
    )
    with target_for(config, "utility", args, node_dir, env) as target:
        out["utility"] = run_utility(
            world, target.node_url, workload, threads=args.threads, first_address=10**6
        )
    print(f"[{config}] utility {time.perf_counter() - started:.0f} s", flush=True)
    out["scenarios"] = {}
    for key in SCENARIOS:
        if key in args.skip:
            continue
        started = time.perf_counter()
        with target_for(config, key, args, node_dir, env) as target:
            attack = Attack(
                world,
                target,
                queries=args.queries,
                threads=args.threads,
                ld_asked_min_count=args.ld_asked_min_count,
            )
            result = attack.run(key)
        threshold, power, fpr = result.power()
        row = {
            "power": power,
            "fpr": fpr,
            "threshold": threshold,
            "power_at": {str(p): result.power(at=p)[1] for p in attack.prefixes},
            **result.totals(),
            "seconds": time.perf_counter() - started,
            "statistics": [[v.member, v.statistic] for v in result.victims],
        }
        out["scenarios"][key] = row
        print(
            f"[{config}] {key}: power {power:.2f} (fpr {fpr:.2f}) answered {row['answered']}"
            f"/{row['asked']} in {row['seconds']:.0f} s",
            flush=True,
        )
    return out


def cohort_facts(world: Any) -> dict[str, Any]:
    carriers = world.member_carriers
    absent = carriers == 0
    lacking = [int(((world.dosage[i] > 0) & absent).sum()) for i in world.outsiders]
    return {
        "variants": len(carriers),
        "present": int((~absent).sum()),
        "singletons": int((carriers == 1).sum()),
        "outsider_alleles_absent_min": min(lacking),
        "outsider_alleles_absent_median": float(np.median(lacking)),
    }


def rewrite_report(out: Path) -> int:
    """Render the markdown again from a run's JSON (e.g. after the report text changed)."""
    from report import write_report

    data = json.loads(out.with_suffix(".json").read_text())

    def value(text: str) -> Any:
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
        return text

    ns = argparse.Namespace(**{k: value(v) for k, v in data["meta"]["args"].items()})
    write_report(out, data["meta"], data["results"], ns)
    print(f"wrote {out}")
    return 0


def merge_into(out: Path, meta: dict[str, Any], results: dict[str, Any]) -> int:
    """Add configurations to an earlier run's JSON and render its report again."""
    path = out.with_suffix(".json")
    data = json.loads(path.read_text())
    if data["meta"]["cohort"] != meta["cohort"]:
        raise SystemExit(f"{path} was made on another cohort; use the same options")
    data["results"].update(results)
    load = ", ".join(f"{x:.1f}" for x in meta["load"])
    more = {k: meta[k] for k in ("command", "date", "commit")} | {"load": load}
    data["meta"].setdefault("more_commands", []).append({**more, "configs": list(results)})
    path.write_text(json.dumps(data, indent=1))
    return rewrite_report(out)


def main(argv: list[str] | None = None) -> int:
    global KEYS, TRUST_ENV
    args = parse_args(argv)
    if args.report_only:
        return rewrite_report(args.out)
    from genomesh.access.keys import KeyStore

    KEYS = KeyStore.ephemeral()
    TRUST_ENV = {"GENOMESH_TRUSTED_ISSUERS": json.dumps([{"iss": ISSUER, "jwks": KEYS.jwks()}])}
    args.work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    n_total = args.members + args.panel + args.outsiders
    tag = f"{n_total}x{int(args.length)}-{args.seed}"
    cohort = simulate(args.work / f"cohort-{tag}", n=n_total, length=args.length, seed=args.seed)
    world = load_world(
        cohort,
        n_members=args.members,
        n_panel=args.panel,
        n_outsiders=args.outsiders,
        n_member_victims=args.member_victims,
        seed=args.seed,
    )
    node_dir = build_node(world, cohort, args.work / f"node-{tag}-{args.members}")
    facts = cohort_facts(world)
    print(f"cohort + node ready in {time.perf_counter() - t0:.0f} s: {facts}", flush=True)
    if args.build_only:
        print(f"node folder: {node_dir}")
        return 0
    results = {
        config: run_config(config, args, world, node_dir) for config in args.configs.split(",")
    }
    if args.label:
        results = {args.label if c == "protected" else c: r for c, r in results.items()}
    command = "python benchmarks/privacy/run.py " + " ".join(sys.argv[1:] if argv is None else argv)
    meta = {
        "command": command.strip(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load": os.getloadavg(),
        "host": f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
        "seconds": time.perf_counter() - t0,
        "args": {k: str(v) for k, v in vars(args).items()},
        "cohort": facts,
    }
    if args.merge_into:
        return merge_into(args.merge_into, meta, results)
    from report import write_report

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(
        json.dumps({"meta": meta, "results": results}, indent=1)
    )
    write_report(args.out, meta, results, args)
    print(f"wrote {args.out}", flush=True)
    return 0


KEYS: Any = None
TRUST_ENV: dict[str, str] = {}

if __name__ == "__main__":
    sys.exit(main())
