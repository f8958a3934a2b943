"""The attack scenarios of issue 13 and the legitimate workload, run against live services.

Every scenario attacks member victims and non-member victims alike (interleaved, so both face
the same node state) and turns each victim's answers into the Shringarpure-Bustamante
statistic; `attacks.threshold_and_power` then gives power at 5% false positives.

  a  one identity per victim (one attacker after one person), anonymous boolean queries
  b  20 identities per victim (distinct loopback source addresses), round robin
  c  registered tier: 20 passports (distinct subjects) per victim, requestedGranularity=count
  d  through the hub: 20 identities per victim asking the hub, which asks the node
  e  the LD attack (von Thenen et al.): some alleles asked, the rest inferred; 20 identities

An attacker stops asking with an identity once it is refused (429 or another error) and
uses the answers it has.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import attacks
import numpy as np
from cohort import World
from services import BeaconClient, identity_address

IDENTITIES = 20
SCENARIOS = {
    "a": "one identity, all queries on one victim",
    "b": f"{IDENTITIES} identities (source addresses) per victim",
    "c": f"counts at the registered tier, {IDENTITIES} passports per victim",
    "d": f"through the hub, {IDENTITIES} identities per victim",
    "e": f"LD allele inference (von Thenen et al.), {IDENTITIES} identities per victim",
}


@dataclass
class Target:
    """Where to send queries, and how to make registered passports for it."""

    node_url: str
    hub_url: str | None = None
    bearer: Callable[[str], str] | None = None  # subject -> "Bearer <passport>"


@dataclass
class VictimResult:
    member: bool
    statistic: float
    prefix_statistics: dict[int, float]
    asked: int
    answered: int
    refused: int
    inferred: int = 0
    inferred_correct: int = 0


@dataclass
class ScenarioResult:
    key: str
    victims: list[VictimResult] = field(default_factory=list)

    def power(self, *, at: int | None = None) -> tuple[float, float, float]:
        def stat(v: VictimResult) -> float:
            return v.statistic if at is None else v.prefix_statistics.get(at, v.statistic)

        null = np.array([stat(v) for v in self.victims if not v.member])
        hit = np.array([stat(v) for v in self.victims if v.member])
        return attacks.threshold_and_power(null, hit)

    def totals(self) -> dict[str, Any]:
        vs = self.victims
        return {
            "asked": sum(v.asked for v in vs),
            "answered": sum(v.answered for v in vs),
            "refused": sum(v.refused for v in vs),
            "inferred": sum(v.inferred for v in vs),
            "inferred_correct": sum(v.inferred_correct for v in vs),
        }


class Attack:
    """One scenario's attack on many victims (see module docstring)."""

    def __init__(
        self,
        world: World,
        target: Target,
        *,
        queries: int,
        threads: int,
        ld_asked_min_count: int = 0,
    ) -> None:
        self.world, self.target = world, target
        self.queries, self.threads = queries, threads
        self.ld_asked_min_count = ld_asked_min_count
        self.panel_haps = np.asfortranarray(world.panel_haplotypes)  # column per site
        self.panel_counts = self.panel_haps.sum(axis=0, dtype=np.int64)
        self.f = attacks.panel_frequencies(self.panel_haps)
        self.yes, self.no = attacks.lrt_terms(self.f, len(world.members))
        self.truth = world.member_carriers > 0
        self.prefixes = sorted({p for p in (10, 30, 100, 300, 1000, queries) if p <= queries})

    def victims(self) -> list[tuple[int, bool]]:
        members = [(int(i), True) for i in self.world.member_victims]
        outsiders = [(int(i), False) for i in self.world.outsiders]
        mixed: list[tuple[int, bool]] = []
        for k in range(max(len(members), len(outsiders))):  # interleaved
            mixed += members[k : k + 1] + outsiders[k : k + 1]
        return mixed

    def run(self, key: str) -> ScenarioResult:
        jobs = list(enumerate(self.victims()))
        with ThreadPoolExecutor(self.threads) as pool:
            results = list(pool.map(lambda job: self._victim(key, job[0], *job[1]), jobs))
        return ScenarioResult(key, results)

    # -- one victim -----------------------------------------------------------------------
    def _clients(self, key: str, n: int) -> list[BeaconClient]:
        t = self.target
        if key == "a":
            return [BeaconClient(t.node_url, address=identity_address(n))]
        ids = range(n * IDENTITIES, (n + 1) * IDENTITIES)
        if key == "c":
            if t.bearer is None:
                raise SystemExit("scenario c needs passports (an issuer the node trusts)")
            return [
                BeaconClient(
                    t.node_url, address=identity_address(i), bearer=t.bearer(f"attacker-{i}")
                )
                for i in ids
            ]
        url = t.hub_url if key == "d" else t.node_url
        if url is None:
            raise SystemExit("scenario d needs a hub")
        return [BeaconClient(url, address=identity_address(i)) for i in ids]

    def _ask_all(
        self, clients: list[BeaconClient], sites: np.ndarray, *, granularity: str
    ) -> np.ndarray:
        """Answers (1/0/-1) for `sites`, round robin over the clients that are still served."""
        answers = np.full(len(sites), -1, dtype=np.int8)
        live = list(clients)
        for n, j in enumerate(sites):
            while live:
                client = live[n % len(live)]
                answer = client.ask(self.world.sites.query(int(j)), granularity=granularity)
                if answer.present is None:
                    live.remove(client)
                    continue
                answers[n] = 1 if answer.present else 0
                break
            if not live:
                break
        return answers

    def _victim(self, key: str, n: int, victim: int, member: bool) -> VictimResult:
        dosage = self.world.dosage[victim]
        clients = self._clients(key, n)
        granularity = "count" if key == "c" else "boolean"
        try:
            if key == "e":
                return self._ld_victim(clients, dosage, member)
            sites = attacks.query_order(dosage, self.f, limit=self.queries)
            answers = self._ask_all(clients, sites, granularity=granularity)
        finally:
            for c in clients:
                c.close()
        return self._result(member, sites, answers)

    def _result(self, member: bool, sites: np.ndarray, answers: np.ndarray) -> VictimResult:
        prefixes = {
            p: attacks.lrt_statistic(sites[:p], answers[:p], self.yes, self.no)
            for p in self.prefixes
        }
        stat = attacks.lrt_statistic(sites, answers, self.yes, self.no)
        answered = int((answers >= 0).sum())
        refused = len(answers) - answered
        return VictimResult(member, stat, prefixes, len(sites), answered, refused)

    def _ld_victim(
        self, clients: list[BeaconClient], dosage: np.ndarray, member: bool
    ) -> VictimResult:
        plan = attacks.ld_plan(
            dosage,
            self.f,
            queries=self.queries,
            panel_counts=self.panel_counts,
            asked_min_count=self.ld_asked_min_count,
        )
        answers = self._ask_all(clients, plan.asked, granularity="boolean")
        inferred = attacks.infer_hidden(
            plan,
            answers,
            panel_haplotypes=self.panel_haps,
            positions=self.world.sites.pos,
        )
        sites = np.concatenate([plan.asked, plan.hidden])
        both = np.concatenate([answers, inferred])
        order = np.argsort(self.f[sites], kind="stable")  # rarest first, for the prefixes
        result = self._result(member, sites[order], both[order])
        known = inferred >= 0
        result.asked, result.answered = len(plan.asked), int((answers >= 0).sum())
        result.refused = len(plan.asked) - result.answered
        result.inferred = int(known.sum())
        truth = self.truth[plan.hidden].astype(np.int8)
        result.inferred_correct = int((inferred[known] == truth[known]).sum())
        return result


# ----------------------------------------------------------------------------- utility

CARRIER_BINS = [(0, 0), (1, 1), (2, 2), (3, 4), (5, 9), (10, 49), (50, 10**9)]


def bin_label(lo: int, hi: int) -> str:
    if lo == hi:
        return str(lo)
    return f"{lo}+" if hi >= 10**9 else f"{lo}-{hi}"


def utility_workload(
    world: World, *, n_queries: int, n_callers: int, seed: int
) -> list[tuple[int, int]]:
    """(caller, site) pairs: sites drawn evenly from the carrier-count bins of the members."""
    rng = np.random.default_rng(seed)
    carriers = world.member_carriers
    per_bin = n_queries // len(CARRIER_BINS)
    picks: list[int] = []
    for lo, hi in CARRIER_BINS:
        pool = np.flatnonzero((carriers >= lo) & (carriers <= hi))
        if len(pool):
            picks += rng.choice(pool, size=per_bin, replace=len(pool) < per_bin).tolist()
    callers = rng.integers(0, n_callers, size=len(picks))
    return list(zip(callers.tolist(), picks, strict=True))


def run_utility(
    world: World, url: str, workload: list[tuple[int, int]], *, threads: int, first_address: int
) -> dict[str, dict[str, float]]:
    """Share of true answers per carrier bin (a refused answer counts as not true)."""
    carriers = world.member_carriers
    by_caller: dict[int, list[int]] = {}
    for caller, site in workload:
        by_caller.setdefault(caller, []).append(site)

    def one(item: tuple[int, list[int]]) -> list[tuple[int, bool]]:
        caller, sites = item
        client = BeaconClient(url, address=identity_address(first_address + caller))
        try:
            out = []
            for j in sites:
                answer = client.ask(world.sites.query(j))
                out.append((j, answer.present is not None and answer.present == (carriers[j] > 0)))
            return out
        finally:
            client.close()

    with ThreadPoolExecutor(threads) as pool:
        done = [x for chunk in pool.map(one, sorted(by_caller.items())) for x in chunk]
    table: dict[str, dict[str, float]] = {}
    for lo, hi in CARRIER_BINS:
        ok = [good for j, good in done if lo <= carriers[j] <= hi]
        if ok:
            table[bin_label(lo, hi)] = {"n": len(ok), "true": float(np.mean(ok))}
    return table
