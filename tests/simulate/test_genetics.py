"""The simulated genetics are human-like and the planted effects are really there."""

from __future__ import annotations

import subprocess
import sys

import msprime
import numpy as np
import statsmodels.api as sm
from numpy.testing import assert_allclose

from genomesh.simulate import CohortFiles, simulate_cohort
from genomesh.simulate.demography import out_of_africa_demography, simulate_tree_sequence
from genomesh.simulate.genotypes import biallelic_only
from tests.simulate.conftest import read_tsv, read_vcf


def hudson_fst(h1: np.ndarray, h2: np.ndarray) -> float:
    """Hudson's Fst (ratio of averages, Bhatia et al. 2013) from haplotype matrices (sites × n)."""
    n1, n2 = h1.shape[1], h2.shape[1]
    p1, p2 = h1.mean(axis=1), h2.mean(axis=1)
    within = (2 * p1 * (1 - p1) * n1 / (n1 - 1) + 2 * p2 * (1 - p2) * n2 / (n2 - 1)) / 2
    between = p1 * (1 - p2) + p2 * (1 - p1)
    return float(1 - within.sum() / between.sum())


def hudson_fst_by_pairs(h1: np.ndarray, h2: np.ndarray) -> float:
    """The same statistic by enumerating haplotype pairs (slow, obviously correct)."""
    within_sum = between_sum = 0.0
    for a, b in zip(h1, h2, strict=True):
        wa = (a[:, None] != a[None, :])[np.triu_indices(len(a), 1)].mean()
        wb = (b[:, None] != b[None, :])[np.triu_indices(len(b), 1)].mean()
        within_sum += (wa + wb) / 2
        between_sum += (a[:, None] != b[None, :]).mean()
    return 1 - within_sum / between_sum


def _by_population(files: CohortFiles) -> tuple[dict[str, np.ndarray], np.ndarray, list[str]]:
    samples, positions, haps, _ = read_vcf(files.vcf)
    assert samples == list(files.sample_ids)
    pops = np.repeat(np.array(files.populations), 2)  # two haplotype columns per sample
    return {p: haps[:, pops == p] for p in ("AFR", "EUR", "EAS")}, positions, samples


def test_fst__fast_estimator_equals_pairwise_definition(cohort: CohortFiles) -> None:
    groups, _, _ = _by_population(cohort)
    keep = slice(0, 150)
    assert_allclose(
        hudson_fst(groups["AFR"][keep], groups["EUR"][keep]),
        hudson_fst_by_pairs(groups["AFR"][keep], groups["EUR"][keep]),
        rtol=1e-10,
    )


def test_demography__populations_differ_in_allele_frequency(trait_cohort: CohortFiles) -> None:
    groups, _, _ = _by_population(trait_cohort)
    fst_afr_eur = hudson_fst(groups["AFR"], groups["EUR"])
    fst_eur_eas = hudson_fst(groups["EUR"], groups["EAS"])
    fst_afr_eas = hudson_fst(groups["AFR"], groups["EAS"])
    # 1000 Genomes YRI–CEU Fst is ≈ 0.15; the Gutenkunst model gives the same order.
    assert fst_afr_eur > 0.05, fst_afr_eur
    assert fst_afr_eas > 0.05, fst_afr_eas
    assert fst_eur_eas > 0.02, fst_eur_eas
    # the out-of-Africa bottleneck: Africans carry the most diversity
    diversity = {p: float((2 * h.mean(1) * (1 - h.mean(1))).mean()) for p, h in groups.items()}
    assert diversity["AFR"] > diversity["EUR"] > 0
    assert diversity["AFR"] > diversity["EAS"] > 0


def _causal_dosages(files: CohortFiles, trait: str) -> tuple[np.ndarray, list[dict]]:
    truth = files.read_truth()[trait]["causal"]
    _, positions, haps, alleles = read_vcf(files.vcf)
    rows = []
    for c in truth:
        (k,) = np.flatnonzero(positions == c["pos"])
        assert alleles[k] == (c["ref"], c["alt"])
        h = haps[k]
        rows.append(h[0::2] + h[1::2])
    return np.array(rows, dtype=float), truth


def test_traits__ols_recovers_planted_quantitative_effects(trait_cohort: CohortFiles) -> None:
    dosages, causal = _causal_dosages(trait_cohort, "quantitative")
    header, rows = read_tsv(trait_cohort.traits)
    assert [r[0] for r in rows] == list(trait_cohort.sample_ids)
    y = np.array([float(r[header.index("quantitative")]) for r in rows])
    pops = np.array([r[header.index("population")] for r in rows])
    covars = np.column_stack([(pops == "AFR"), (pops == "EAS")]).astype(float)
    X = sm.add_constant(np.column_stack([dosages.T, covars]))
    fit = sm.OLS(y, X).fit()
    beta_hat, se = fit.params[1 : 1 + len(causal)], fit.bse[1 : 1 + len(causal)]
    beta = np.array([c["beta"] for c in causal])
    # the generating model is exactly this regression: estimates within 4 SE of the truth
    assert np.all(np.abs(beta_hat - beta) < 4 * se), (beta_hat, beta, se)
    strong = np.abs(beta) > 3 * se
    assert strong.sum() >= len(causal) // 2
    assert np.all(np.sign(beta_hat[strong]) == np.sign(beta[strong]))
    # and the population shifts in truth.json are recovered as well (trait SD units × sd)
    truth = trait_cohort.read_truth()["quantitative"]
    shift = truth["population_shift_sd"]
    expected_afr = (shift["AFR"] - shift["EUR"]) * truth["sd"]
    assert abs(fit.params[-2] - expected_afr) < 4 * fit.bse[-2]


def test_traits__binary_prevalence_near_target(trait_cohort: CohortFiles) -> None:
    header, rows = read_tsv(trait_cohort.traits)
    affected = np.array([int(r[header.index("binary")]) for r in rows])
    truth = trait_cohort.read_truth()["binary"]
    target = truth["prevalence"]
    se = np.sqrt(target * (1 - target) / len(affected))
    assert abs(affected.mean() - target) < 4 * se, (affected.mean(), target)
    assert truth["n_affected"] == affected.sum()


def test_traits__binary_cases_carry_more_risk_alleles(trait_cohort: CohortFiles) -> None:
    dosages, causal = _causal_dosages(trait_cohort, "binary")
    header, rows = read_tsv(trait_cohort.traits)
    affected = np.array([r[header.index("binary")] == "1" for r in rows])
    risk_score = np.array([c["beta"] for c in causal]) @ dosages
    # liability-threshold model: cases have a higher genetic liability on average
    diff = risk_score[affected].mean() - risk_score[~affected].mean()
    se = np.sqrt(
        risk_score[affected].var() / affected.sum()
        + risk_score[~affected].var() / (~affected).sum()
    )
    assert diff > 4 * se


def test_truth__causal_frequencies_match_the_vcf(trait_cohort: CohortFiles) -> None:
    dosages, causal = _causal_dosages(trait_cohort, "quantitative")
    pops = np.array(trait_cohort.populations)
    for row, c in zip(dosages, causal, strict=True):
        assert abs(row.mean() / 2 - c["alt_frequency"]) < 1e-6
        for pop, freq in c["alt_frequency_by_population"].items():
            assert abs(row[pops == pop].mean() / 2 - freq) < 1e-6


def test_demography__matches_gutenkunst_2009_table() -> None:
    demography = out_of_africa_demography()
    debug = demography.debug()
    assert [round(e.start_time, 1) for e in debug.epochs] == [0, 848.0, 5600.0, 8800.0]
    now = {p.name: p for p in demography.populations}
    # present-day sizes after exponential growth since the EU/AS split (stdpopsim: 29,725; 54,090)
    assert round(now["CEU"].initial_size) == 29_725 and round(now["CHB"].initial_size) == 54_090
    names = [p.name for p in demography.populations]
    yri, ceu, chb, ooa = (names.index(n) for n in ("YRI", "CEU", "CHB", "OOA"))
    recent, founders = debug.epochs[0], debug.epochs[1]
    assert recent.migration_matrix[yri, ceu] == 3e-5 and recent.migration_matrix[ceu, chb] == 9.6e-5
    assert founders.migration_matrix[yri, ooa] == 25e-5
    # growing back in time to the split, CEU and CHB shrink to their founding sizes
    assert round(recent.populations[ceu].end_size) == 1_000
    assert round(recent.populations[chb].end_size) == 510
    assert founders.populations[ooa].start_size == 2_100
    ancient = debug.epochs[3].populations[names.index("ANC")]
    assert ancient.start_size == 7_300


def test_sites__multi_mutation_positions_are_dropped() -> None:
    ts = simulate_tree_sequence(
        {"AFR": 20, "EUR": 20}, length=20_000, ancestry_seed=3, mutation_seed=4
    )
    hot = msprime.sim_mutations(ts, rate=5e-6, random_seed=5)  # force recurrent mutations
    per_site = np.bincount(hot.tables.mutations.site, minlength=hot.num_sites)
    assert (per_site > 1).any()
    kept, dropped = biallelic_only(hot)
    assert dropped == int((per_site > 1).sum())
    assert kept.num_sites == hot.num_sites - dropped
    assert np.all(np.bincount(kept.tables.mutations.site) == 1)


def test_lazy_import__genomesh_simulate_does_not_import_msprime() -> None:
    code = (
        "import sys, genomesh.simulate, genomesh.testing.cohorts; print('msprime' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_truth__planted_effects_explain_exactly_the_stated_heritability(
    trait_cohort: CohortFiles,
) -> None:
    truth = trait_cohort.read_truth()
    dosages_q, causal_q = _causal_dosages(trait_cohort, "quantitative")
    g_q = np.array([c["beta"] for c in causal_q]) @ dosages_q
    q = truth["quantitative"]
    assert_allclose(g_q.var(), q["heritability"] * q["sd"] ** 2, rtol=1e-3)
    dosages_b, causal_b = _causal_dosages(trait_cohort, "binary")
    g_b = np.array([c["beta"] for c in causal_b]) @ dosages_b
    assert_allclose(g_b.var(), truth["binary"]["heritability"], rtol=1e-3)


def test_progress__reports_every_stage(tmp_path) -> None:
    seen: dict[str, tuple[int, int | None]] = {}
    simulate_cohort(
        tmp_path / "p", n_individuals=20, length=30_000, seed=2,
        progress=lambda stage, done, total: seen.__setitem__(stage, (done, total)),
    )  # fmt: skip
    assert list(seen) == ["ancestry", "vcf", "traits", "phenopackets"]
    assert all(done == total for done, total in seen.values())
