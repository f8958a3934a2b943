"""The markdown report of a privacy-harness run (docs/bench/privacy.md)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from scenarios import SCENARIOS

GOAL_POWER = 0.10
GOAL_UTILITY = 0.99


def _utility_rows(results: dict[str, Any]) -> list[str]:
    configs = list(results)
    bins = list(next(iter(results.values()))["utility"])
    lines = [
        "| carriers among members | queries | "
        + " | ".join(f"true answers, {c}" for c in configs)
        + " |",
        "|---|---:|" + "---:|" * len(configs),
    ]
    for b in bins:
        cells = [
            f"{100 * results[c]['utility'].get(b, {}).get('true', float('nan')):.1f} %"
            for c in configs
        ]
        n = next(iter(results.values()))["utility"][b]["n"]
        lines.append(f"| {b} | {n:,} | " + " | ".join(cells) + " |")
    return lines


def _common_utility(utility: dict[str, Any]) -> float:
    """Share of true answers for alleles with >= 10 carriers."""
    rows = [v for k, v in utility.items() if k in ("10-49", "50+")]
    n = sum(r["n"] for r in rows)
    return sum(r["true"] * r["n"] for r in rows) / n if n else float("nan")


def _ld_mode(m: int) -> str:
    if m > 0:
        return (
            f"asks the victim's rarest alleles seen at least {m} times in the panel and "
            "infers the rarer ones"
        )
    return "asks every other one of the victim's rarest alleles and infers the others"


def _describe_configs(results: dict[str, Any]) -> str:
    parts = []
    for name, result in results.items():
        env = ", ".join(f"`{k}={v}`" for k, v in result.get("env", {}).items())
        if name == "baseline":
            parts.append(f"`baseline` = protections off by settings ({env})")
        else:
            parts.append(f"`{name}` = the node's defaults" + (f" with {env}" if env else ""))
    return "; ".join(parts) + "."


def write_report(
    out: Path, meta: dict[str, Any], results: dict[str, Any], args: argparse.Namespace
) -> None:
    facts = meta["cohort"]
    load = ", ".join(f"{x:.1f}" for x in meta["load"])
    configs = list(results)
    ld_min = int(getattr(args, "ld_asked_min_count", 0))
    ld_modes: dict[int, list[str]] = {}
    for c in configs:
        ld_modes.setdefault(int(results[c].get("ld_asked_min_count", ld_min)), []).append(c)
    lines = [
        "## Privacy: membership attacks on a live node (`benchmarks/privacy/run.py`)",
        "",
        f"Command: `{meta['command']}` (run {meta['date']} at commit {meta['commit']} on "
        f"{meta['host']}; load average at the end {load}; {meta['seconds'] / 60:.0f} min in all).",
        "",
        f"Cohort: one `genomesh simulate` population (seed {args.seed}, {args.length / 1e6:g} Mb, "
        f"{facts['variants']:,} SNVs) split into {args.members} beacon members (ingested), a "
        f"reference panel of {args.panel} and {args.outsiders} non-member victims (neither "
        f"ingested); {args.member_victims} members are attacked as victims. The beacon has "
        f"{facts['present']:,} of the alleles ({facts['singletons']:,} carried by one member); "
        f"every non-member carries at least {facts['outsider_alleles_absent_min']:,} alleles the "
        f"beacon lacks (median {facts['outsider_alleles_absent_median']:,.0f}).",
        "",
        "Attack: Shringarpure & Bustamante (AJHG 2015) likelihood-ratio test, victim's alleles "
        f"asked rarest first (reference-panel frequency), up to {args.queries} queries per "
        "victim; threshold = 95th percentile of the statistic over the non-member victims; "
        "power = share of member victims above it. Each scenario runs on a fresh node process "
        "(fresh state: budgets and ledgers start empty); the statistic ties between victims "
        "who got the same answers, so the test is randomised at the threshold (power and FPR "
        "are expected shares). " + _describe_configs(results),
        "",
    ]
    for more in meta.get("more_commands", []):
        lines += [
            f"Configuration(s) {', '.join(f'`{c}`' for c in more['configs'])} added by "
            f"`{more['command']}` (run {more['date']} at commit {more['commit']}, same cohort "
            f"and victims; load average at the end {more['load']}).",
            "",
        ]
    lines += [
        "| scenario | "
        + " | ".join(f"power at 5% FPR, {c}" for c in configs)
        + " | "
        + " | ".join(f"answered / asked, {c}" for c in configs)
        + " |",
        "|---|" + "---:|" * (2 * len(configs)),
    ]
    keys = [k for k in SCENARIOS if all(k in results[c]["scenarios"] for c in configs)]
    for key in keys:
        rows = [results[c]["scenarios"][key] for c in configs]
        power = [f"{r['power']:.2f}" for r in rows]
        asked = [f"{r['answered']:,} / {r['asked']:,}" for r in rows]
        lines.append(f"| ({key}) {SCENARIOS[key]} | " + " | ".join(power + asked) + " |")
    lines += ["", "Power by the number of queries per victim (rarest first):", ""]
    prefixes = list(results[configs[0]]["scenarios"][keys[0]]["power_at"]) if keys else []
    lines += [
        "| scenario | config | " + " | ".join(f"{p} q" for p in prefixes) + " |",
        "|---|---|" + "---:|" * len(prefixes),
    ]
    for key in keys:
        for c in configs:
            at = results[c]["scenarios"][key]["power_at"]
            lines.append(
                f"| ({key}) | {c} | "
                + " | ".join(f"{at.get(p, float('nan')):.2f}" for p in prefixes)
                + " |"
            )
    for c in configs:
        e = results[c]["scenarios"].get("e")
        if e and e["inferred"]:
            lines.append(
                f"\nLD attack ({c}): {e['inferred']:,} hidden answers inferred, "
                f"{100 * e['inferred_correct'] / e['inferred']:.1f} % of them equal to the "
                "beacon's true content."
            )
    lines += [
        "",
        f"Utility: {args.utility_queries:,} anonymous boolean queries from {args.callers} callers "
        "(distinct source addresses), alleles drawn evenly from the members' carrier-count bins "
        "(0 = an allele of the population that no member carries). True = the answer equals "
        "the data (a refusal is not true).",
        "",
        *_utility_rows(results),
        "",
        "### Against the goals of issue 13",
        "",
    ]
    for c in configs:
        worst = max((results[c]["scenarios"][k]["power"] for k in keys), default=float("nan"))
        common = _common_utility(results[c]["utility"])
        lines.append(
            f"- {c}: highest power over the scenarios {worst:.2f} (goal <= {GOAL_POWER:.2f} for "
            f"the defaults); alleles with >= 10 carriers answered truly {100 * common:.1f} % "
            f"(goal >= {100 * GOAL_UTILITY:.0f} %)."
        )
    lines += [
        "",
        "Reading: the baseline shows what the attack achieves on this cohort when nothing "
        "protects it (issue 13 asks for >= 0.9); `protected` is what the node does by default "
        "at the commit above. Scenario (e) "
        + "; ".join(
            (f"({', '.join(names)}) " if len(ld_modes) > 1 else "") + _ld_mode(m)
            for m, names in ld_modes.items()
        )
        + " from linkage disequilibrium in the reference panel (von Thenen et al., "
        "Bioinformatics 2019); alleles absent from the panel cannot be inferred.",
        "",
        "Re-running after new defences: the baseline must switch each of them off, by "
        "settings passed as `--baseline-env GENOMESH_SETTING=value` (repeatable; the ones "
        "above are always applied); `--protected-env` adds settings to the protected node; "
        "`--node-url URL [--hub-url URL]` attacks an already running node instead (serve the "
        "folder printed by `--build-only`; its state is then not reset between scenarios, and "
        "scenario c needs `--skip c` unless that node trusts the harness's passport issuer). "
        "`--quick` runs a 3 Mb, 60-member version in a few minutes; "
        "`tests/gate/test_privacy_harness.py` runs a smaller one and checks that the attack "
        "has power on the unprotected node and loses it when rare alleles are hidden.",
        "",
    ]
    out.write_text("\n".join(lines) + "\n")
