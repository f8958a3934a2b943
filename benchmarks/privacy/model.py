"""An offline model of the node's narrowing, to compare exposure rules in seconds to minutes.

    python benchmarks/privacy/model.py                       # the harness's cohort, 30 + 30
    python benchmarks/privacy/model.py --outsiders 120 --member-victims 120   # 4 replicates

The live harness (run.py) is the measurement; this is the design tool beside it. It replays
scenario (a) of the harness - member and non-member victims interleaved, four at a time,
each asking its own alleles rarest first - against a model of `genomesh.gate.narrowing` on
the harness's world (same cohort, split and seed): the first time an allele is asked about,
each of its carriers' scrutiny grows by `expected_charge(k, N)` (answers from fewer than
`watch` carriers) and those already past the scrutiny budget are taken out; what is left
needs at least its line of carriers (drawn per answer from `line`, keyed as the node draws
it); one from k < `free` carriers charges each of them `charge(k, N)`; a carrier the answer
would take past the exposure budget is withheld and the answer recomputed without them; the
same answer (same carriers) asked again is narrowed as before and charged nothing. Boolean
answers only; identities do not matter to these defences, so scenarios (b) and (c) behave
the same here.

Each attack length (--queries, default 30 / 100 / 300 / 1,000 per victim) runs on fresh
budgets, as a fresh node would, and reports power at 5% false positives at every prefix
(10 / 30 / 100 / 300 / 1,000) - an attacker may stop anywhere, and how much the others'
queries have spent depends on the attack's length. With more victims than --group (30), the
victims are split into disjoint groups of 30 + 30 (replicates of the harness) and power is
averaged over them: one group of 30 moves power by about +-0.04 by chance. Last, the share
of true answers by carrier bin for the legitimate workload on a fresh node.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "src"))

import attacks  # noqa: E402
import numpy as np  # noqa: E402
from cohort import World, load_world, simulate  # noqa: E402
from scenarios import CARRIER_BINS, bin_label, utility_workload  # noqa: E402

from genomesh.core.settings import DatasetPolicy  # noqa: E402
from genomesh.disclosure import exposure  # noqa: E402

Charge = Callable[[int, int], float]


class Narrowing:
    """The node's rule on one dataset (see genomesh.gate.narrowing), over member rows."""

    def __init__(self, carriers: list[np.ndarray], n: int, *, charge: Charge | None,
                 budget: float, free: int, min_count: int = 1, line: tuple[int, int] = (1, 0),
                 line_seed: int = 0, lines: dict[bytes, int] | None = None,
                 scrutiny: float | None = None, watch: int = 50) -> None:  # fmt: skip
        self.carriers, self.n = carriers, n
        self.charge, self.budget, self.free, self.min_count = charge, budget, free, min_count
        self.line_range, self.line_key = line, line_seed.to_bytes(16, "big")
        self.lines = lines  # given lines (a test replays the gate's, read from its audit log)
        self.scrutiny, self.watch = scrutiny, watch
        self.spent = np.zeros(n)
        self.scrutinised = np.zeros(n)
        self.asked: set[int] = set()  # questions counted (an allele, once)
        self.given: dict[bytes, bool] = {}  # the memo: an answer, once given, stays

    def line(self, key: bytes) -> int:
        """The answer's line: `exposure.drawn_line` keyed on who makes it (as the node)."""
        if self.lines is not None:
            return max(self.min_count, self.lines.get(key, 1))
        low, high = self.line_range
        drawn = exposure.drawn_line(self.line_key, key.hex(), low=low, high=high)
        return max(self.min_count, drawn)

    def answer(self, j: int) -> bool:
        c = self.carriers[j]
        k = len(c)
        if k == 0 or k < self.min_count:
            return False
        watched = self.scrutiny is not None and k < self.watch
        charged = self.charge is not None and k < self.free
        if not watched and not charged:
            return True
        first = watched and j not in self.asked
        self.asked.add(j)
        key = c.tobytes()
        if key in self.given:  # the same answer again: as before, charged nothing
            if first:
                self.scrutinised[c] += exposure.expected_charge(k, self.n)
            return self.given[key]
        current = c
        if watched:
            assert self.scrutiny is not None
            current = c[self.scrutinised[c] < self.scrutiny]  # the over-scrutinised go first
            if first:
                self.scrutinised[c] += exposure.expected_charge(k, self.n)
        if self.charge is not None and 0 < len(current) < self.free:
            current = self._exposure(key, current)
        self.given[key] = bool(len(current))
        return self.given[key]

    def _exposure(self, key: bytes, current: np.ndarray) -> np.ndarray:
        """The line and the exposure budget (genomesh.gate.narrowing): who is left."""
        assert self.charge is not None
        line = self.line(key)
        while len(current):
            if len(current) < line:
                return current[:0]
            cost = self.charge(len(current), self.n)
            over = self.spent[current] + cost > self.budget + 1e-12
            if not over.any():
                break
            current = current[~over]
        if len(current):
            self.spent[current] += self.charge(len(current), self.n)
        return current


def attack(
    world: World, model: Narrowing, *, queries: int, concurrent: int = 4, near: int = 0
) -> dict[int, float]:
    """Power at 5% FPR at each prefix. `near` > 0: the boundary attacker, who asks the
    victim's alleles whose panel count is closest to `near` copies first (not the rarest)."""
    f = attacks.panel_frequencies(world.panel_haplotypes)
    yes, no = attacks.lrt_terms(f, len(world.members))
    victims: list[tuple[int, bool]] = []
    members = [(int(i), True) for i in world.member_victims]
    outsiders = [(int(i), False) for i in world.outsiders]
    for k in range(max(len(members), len(outsiders))):
        victims += members[k : k + 1] + outsiders[k : k + 1]
    prefixes = [p for p in (10, 30, 100, 300, 1000) if p <= queries]
    stats: list[tuple[bool, dict[int, float]]] = []
    for start in range(0, len(victims), concurrent):
        block = victims[start : start + concurrent]
        plans = [order_of(world.dosage[v], f, queries, near) for v, _ in block]
        answers = [np.full(len(p), -1, dtype=np.int8) for p in plans]
        for q in range(queries):
            for b, plan in enumerate(plans):
                if q < len(plan):
                    answers[b][q] = 1 if model.answer(int(plan[q])) else 0
        for (_, member), plan, ans in zip(block, plans, answers, strict=True):
            stats.append(
                (member, {p: attacks.lrt_statistic(plan[:p], ans[:p], yes, no) for p in prefixes})
            )
    power = {}
    for p in prefixes:
        null = np.array([s[p] for m, s in stats if not m])
        hit = np.array([s[p] for m, s in stats if m])
        power[p] = attacks.threshold_and_power(null, hit)[1]
    return power


def order_of(dosage: np.ndarray, f: np.ndarray, limit: int, near: int) -> np.ndarray:
    """The victim's alleles in the attacker's order (rarest first, or nearest to `near`)."""
    if not near:
        return attacks.query_order(dosage, f, limit=limit)
    carried = np.flatnonzero(dosage > 0)
    target = near / (2 * 400 + 1)  # the panel's frequency of `near` copies among 800
    return carried[np.lexsort((carried, np.abs(f[carried] - target)))][:limit]


def utility(world: World, model: Narrowing, *, n_queries: int, seed: int) -> dict[str, float]:
    carriers = world.member_carriers
    work = utility_workload(world, n_queries=n_queries, n_callers=1, seed=seed)
    done = [(j, model.answer(j) == (carriers[j] > 0)) for _, j in work]
    out = {}
    for lo, hi in CARRIER_BINS:
        ok = [good for j, good in done if lo <= carriers[j] <= hi]
        if ok:
            out[bin_label(lo, hi)] = float(np.mean(ok))
    return out


@dataclass(frozen=True)
class Rule:
    """One narrowing rule to compare: the charge (None = no exposure accounting), the drawn
    line and the scrutiny budget (None = not kept)."""

    charge: Charge | None
    line: tuple[int, int] = (1, 0)  # (exposure_line_min, exposure_line_max); (1, 0) = off
    min_count: int = 1  # boolean_min_count
    scrutiny: float | None = None  # scrutiny_budget
    watch: int = 50  # scrutiny_carriers


def rules() -> dict[str, Rule]:
    default = DatasetPolicy()
    line = (default.exposure_line_min, default.exposure_line_max)
    charge = exposure.CHARGES[default.exposure_charge]
    scrutiny = {"scrutiny": default.scrutiny_budget, "watch": default.scrutiny_carriers}
    return {
        "off": Rule(None),
        "beacon-frequency charge, no line (the default before the line)": Rule(exposure.charge),
        "expected charge, line 4..8, no scrutiny (the default before scrutiny)": Rule(
            exposure.expected_charge, (4, 8)
        ),
        f"the defaults (expected charge, line {line[0]}..{line[1]}, scrutiny "
        f"{default.scrutiny_budget:g} below {default.scrutiny_carriers} carriers)": Rule(
            charge,
            line,
            **scrutiny,  # type: ignore[arg-type]
        ),
        "the defaults, but nothing from < 10 carriers (line 10)": Rule(
            charge,
            (10, 10),
            **scrutiny,  # type: ignore[arg-type]
        ),
        # the boundary alone: what answering >= 10 carriers exactly costs, with no budget
        "hide every allele of < 10 carriers, no budget": Rule(None, min_count=10),
    }


def groups(world: World, size: int) -> list[World]:
    """Disjoint groups of `size` member and `size` non-member victims (replicates of the
    harness's 30 + 30): power from one group of 30 moves by +-0.04 from chance alone."""
    n = min(len(world.member_victims), len(world.outsiders)) // size
    return [
        replace(world, member_victims=world.member_victims[g * size : (g + 1) * size],
                outsiders=world.outsiders[g * size : (g + 1) * size])
        for g in range(n)
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--members", type=int, default=400)
    p.add_argument("--panel", type=int, default=400)
    p.add_argument("--outsiders", type=int, default=30)
    p.add_argument("--member-victims", type=int, default=30)
    p.add_argument("--group", type=int, default=30, help="victims per group (replicates)")
    p.add_argument("--length", type=float, default=30e6)
    p.add_argument("--queries", type=int, nargs="+", default=[30, 100, 300, 1000],
                   help="attack lengths (queries per victim), each on fresh budgets")  # fmt: skip
    p.add_argument("--seed", type=int, default=2015)
    p.add_argument("--budget", type=float, nargs="+", default=[exposure.DEFAULT_BUDGET])
    p.add_argument("--free", type=int, default=exposure.DEFAULT_FREE_CARRIERS)
    p.add_argument("--near", type=int, default=0,
                   help="the boundary attacker: ask alleles of about this many panel copies "
                   "first (0 = rarest first, the published attack)")  # fmt: skip
    p.add_argument("--rules", nargs="+", default=[], help="only rules whose name has one of these")
    p.add_argument("--utility-queries", type=int, default=10_000)
    p.add_argument("--key", type=int, default=0, help="the model's line key (as a node's secret)")
    p.add_argument("--work", type=Path, default=ROOT / "benchmarks" / ".work" / "privacy")
    args = p.parse_args(argv)
    n_total = args.members + args.panel + args.outsiders
    tag = f"{n_total}x{int(args.length)}-{args.seed}"
    t0 = time.perf_counter()
    cached = args.work / f"world-{tag}-{args.members}-{args.panel}-{args.outsiders}.pickle"
    if cached.is_file():  # reading the VCF takes minutes at full scale
        world = pickle.loads(cached.read_bytes())
    else:
        cohort = simulate(args.work / f"cohort-{tag}", n=n_total, length=args.length,
                          seed=args.seed)  # fmt: skip
        world = load_world(
            cohort, n_members=args.members, n_panel=args.panel, n_outsiders=args.outsiders,
            n_member_victims=args.member_victims, seed=args.seed,
        )  # fmt: skip
        cached.write_bytes(pickle.dumps(world))
    held = world.dosage[world.members] > 0
    carriers = [np.flatnonzero(held[:, j]).astype(np.int32) for j in range(held.shape[1])]
    replicates = groups(world, args.group)
    print(f"world ready in {time.perf_counter() - t0:.0f} s; {len(replicates)} group(s) of "
          f"{args.group} + {args.group} victims", flush=True)  # fmt: skip
    for budget in args.budget:
        for name, rule in rules().items():
            if args.rules and not any(r in name for r in args.rules):
                continue

            def fresh(g: int = 0, rule: Rule = rule, budget: float = budget) -> Narrowing:
                return Narrowing(carriers, len(world.members), charge=rule.charge,
                                 budget=budget, free=args.free, line=rule.line,
                                 line_seed=args.key + g,
                                 min_count=rule.min_count, scrutiny=rule.scrutiny,
                                 watch=rule.watch)  # fmt: skip

            worst = 0.0
            lines = []
            for length in args.queries:
                runs = [
                    attack(w, fresh(g), queries=length, near=args.near)
                    for g, w in enumerate(replicates)
                ]
                mean = {q: float(np.mean([r[q] for r in runs])) for q in runs[0]}
                worst = max(worst, *mean.values())
                lines.append(f"    {length} queries: " + " / ".join(
                    f"{q}q {v:.2f}" for q, v in mean.items()))  # fmt: skip
            print(f"budget {budget:g}, {name}: worst power {worst:.2f}")
            print("\n".join(lines))
            used = utility(world, fresh(), n_queries=args.utility_queries, seed=args.seed)
            print("    true answers, fresh node: " + " ".join(
                f"{b}: {v:.0%}" for b, v in used.items()), flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
