"""The Shringarpure–Bustamante / Raisaro membership attack, run through the real gate.

A simulated EUR cohort (msprime) of 60 people; 20 of them are withdrawn, so the beacon
answers from 40 ("in") and the 20 others are "out". The attacker knows each victim's
genotypes and the allele frequencies of the population, queries the victim's rarest
alternate alleles first (Raisaro et al. 2017's optimal order) and computes the S&B
likelihood-ratio statistic. Power is measured at a false-positive rate of 10% (threshold
= 90th percentile of the "out" victims' statistics).

What the docs claim, checked here: a per-identity budget of 5 queries does not stop this
attack (a few rare-allele queries suffice); hiding hits from fewer than 2 individuals
(`boolean_min_count = 2`) brings its power close to chance. An attacker with a fresh
identity for every query (no per-identity budget binds) reaches high power without
per-participant accounting, and is held near chance by the default exposure budget
(which is accounted per participant, over every identity).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from genomesh.access.identity import Identity
from genomesh.core.errors import BudgetExhaustedError
from genomesh.core.settings import DatasetPolicy, NodeSettings
from genomesh.gate import DatasetAccess, DatasetResult, Gate, GateRequest
from genomesh.node.state import NodeState
from genomesh.store import ingest_dataset, init_node, open_node
from genomesh.testing.cohorts import requires_msprime, shared_cohort

BUDGET = 5
DELTA = 1e-3  # genotyping error rate assumed by the attacker
QUERIES = 40  # the many-identity attacker's rarest alleles per victim


@pytest.fixture(scope="module")
def beacon(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, list[str]]:
    cohort = shared_cohort(n_individuals=60, populations=("EUR",), length=200_000, seed=11)
    node = tmp_path_factory.mktemp("attack") / "node"
    init_node(node, name="attack", jurisdiction="ZZ")
    ingest_dataset(
        node, "beacon", vcf=cohort.vcf, individuals=cohort.individuals, consent=cohort.consent
    )
    ds = open_node(node).dataset("beacon")
    con = ds.connect()
    ids = [
        r[0]
        for r in con.execute(
            "SELECT individual_id FROM individuals ORDER BY sample_index"
        ).fetchall()
    ]
    car = con.execute("SELECT variant_index, sample_index FROM carriers").fetchnumpy()
    con.close()
    genotypes = np.zeros((ds.info.n_variants, len(ids)), dtype=bool)
    genotypes[car["variant_index"], car["sample_index"]] = True
    return node, genotypes, ids


def _power(
    node: Path,
    genotypes: np.ndarray,
    ids: list[str],
    tmp_path: Path,
    policy: DatasetPolicy,
    *,
    identities: str = "one",
    queries: int | None = None,
) -> float:
    """Power at 10% FPR. `identities`: "one" per victim (the per-identity budget binds) or
    "each" query from a new identity; `queries`: the most asked per victim (rarest first)."""
    rng = np.random.default_rng(0)
    order = rng.permutation(len(ids))
    inside, outside = order[:40], order[40:]
    settings = NodeSettings.load(
        node,
        state_url=f"sqlite:///{tmp_path / f'state-{policy.boolean_min_count}-{identities}.sqlite'}",
        query_budget=BUDGET,
        dataset_policies={"beacon": policy},
    )
    carriers = {v: {ids[s] for s in np.nonzero(genotypes[v])[0]} for v in range(genotypes.shape[0])}
    freq = np.clip(genotypes.sum(1) / (2 * len(ids)), 1e-3, 0.5)  # the public panel
    n = len(inside)
    with NodeState.open(settings) as state:
        for s in outside:
            state.add_withdrawal(
                dataset_id="beacon", individual_id=ids[s], reason="not in the beacon"
            )
        gate = Gate(settings=settings, node=open_node(node), state=state)

        def statistic(victim: int) -> float:
            sites = np.nonzero(genotypes[:, victim])[0]
            sites = sites[np.argsort(freq[sites], kind="stable")][:queries]
            llr = 0.0
            for asked, v in enumerate(sites):
                who = Identity(
                    client_address=f"attacker-{victim}"
                    if identities == "one"
                    else f"attacker-{victim}-{asked}"
                )

                def execute(
                    accesses: Sequence[DatasetAccess], v: int = int(v)
                ) -> list[DatasetResult]:
                    return [
                        DatasetResult(a.dataset_id, count=len(c), contributors=c)
                        for a in accesses
                        for c in [carriers[v] & a.allowed_individuals]
                    ]

                request = GateRequest(who, "beacon", "g_variants", {"variant": int(v)}, ("beacon",))
                try:
                    yes = gate.run(request, execute).results[0].exists
                except BudgetExhaustedError:
                    assert asked == BUDGET and identities == "one"
                    break
                d_n, d_n1 = (1 - freq[v]) ** (2 * n), (1 - freq[v]) ** (2 * (n - 1))
                llr += np.log((1 - DELTA * d_n1) / (1 - d_n)) if yes else np.log(DELTA * d_n1 / d_n)
            return float(llr)

        s_in = np.array([statistic(v) for v in inside])
        s_out = np.array([statistic(v) for v in outside])
    threshold = np.quantile(s_out, 0.9)
    power = float(np.mean(s_in > threshold))
    print(f"power {power:.2f} ({identities} identity, {policy})")
    return power


@requires_msprime()
@pytest.mark.slow
def test_attack__budget_alone_does_not_stop_rare_allele_queries(beacon, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    power = _power(*beacon, tmp_path, DatasetPolicy(exposure_budget=None))
    assert power >= 0.6, f"attack power {power:.2f} with a {BUDGET}-query budget"


@requires_msprime()
@pytest.mark.slow
def test_attack__hiding_singletons_brings_power_near_chance(beacon, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    power = _power(*beacon, tmp_path, DatasetPolicy(boolean_min_count=2, exposure_budget=None))
    assert power <= 0.35, f"attack power {power:.2f} with boolean_min_count=2"


@requires_msprime()
@pytest.mark.slow
def test_attack__many_identities_beat_per_identity_budgets_without_exposure_accounting(
    beacon, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    off = DatasetPolicy(exposure_budget=None)
    power = _power(*beacon, tmp_path, off, identities="each", queries=QUERIES)
    assert power >= 0.6, f"attack power {power:.2f} with a fresh identity per query"


@requires_msprime()
@pytest.mark.slow
def test_attack__many_identities_are_held_by_the_per_participant_budget(
    beacon, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    power = _power(*beacon, tmp_path, DatasetPolicy(), identities="each", queries=QUERIES)
    assert power <= 0.2, f"attack power {power:.2f} against the default exposure budget"
