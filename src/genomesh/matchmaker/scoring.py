"""How similar two MME patients are: phenotype, genotype, and the combined, explained score.

Phenotype (observed HPO features only; `observed: "no"` is dropped, as patientMatcher does;
IC from the OMIM annotations of the HPO release packaged with hpo3 unless `ic` says
otherwise; the term measures and set combinations are defined in `batch.py`):
- `query-resnik-jc` (default): ``½·R_Q(Q, C) + ½·JC_BMA(Q, C)``, where
  ``R_Q = Σ_q max_c Resnik(q, c) / Σ_q Resnik(q, q)`` is the query-to-candidate direction of
  Resnik, normalised by the query's own (so 1 when every query term has an exact match), and
  ``JC_BMA`` the Jiang–Conrath best-match average (symmetric, in [0, 1]). Chosen on a tuning
  split of phenopacket-store, reported on held-out queries (docs/bench/matchmaker.md).
- `resnik-jc` (the previous default): ``½·min(1, Resnik_BMA / self) + ½·JC_BMA`` with
  ``self = Resnik_BMA(Q, Q)``.
- `resnik-bma`: ``min(1, Resnik_BMA(Q, C) / Resnik_BMA(Q, Q))``.
- `jc-bma`: ``JC_BMA(Q, C)``.
- `simgic`: ``ΣIC(anc(Q) ∩ anc(C)) / ΣIC(anc(Q) ∪ anc(C))`` (Pesquita 2008), the measure
  patientMatcher uses.

Genotype: `genotype.py`. Combined (`genomesh` weighting): ``0.5·phenotype + 0.5·genotype``
when the query has both kinds of evidence, otherwise the one it has. `patientmatcher`
weighting: ``0.75·genotype + 0.25·simGIC`` with patientMatcher's genotype shares.

`score` computes one pair with plain loops (`pairwise.py`); `score_pool` all the candidates
of a node at once (`batch.py`, numpy and numba) and equals `score` to rounding (tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from genomesh.matchmaker import batch, pairwise
from genomesh.matchmaker.genotype import GenomicKey, Weighting, genomic_keys, genotype_score
from genomesh.matchmaker.termspace import CandidateIndex, ICKind, term_space

PhenotypeMethod = Literal["query-resnik-jc", "resnik-jc", "resnik-bma", "jc-bma", "simgic"]
PHENOTYPE_METHODS: tuple[str, ...] = PhenotypeMethod.__args__  # type: ignore[attr-defined]


def observed_terms(patient: dict[str, Any]) -> list[str]:
    """The patient's observed HPO ids (features without `observed: "no"`), deduplicated."""
    out: list[str] = []
    for feature in patient.get("features") or []:
        if feature.get("observed", "yes") != "no" and feature.get("id") not in out:
            out.append(str(feature["id"]))
    return out


@dataclass
class MatchScore:
    """The score of one candidate for one query, with what explains it."""

    patient: float
    phenotype: float | None
    genotype: float | None
    shared_genes: list[str] = field(default_factory=list)
    shared_terms: list[str] = field(default_factory=list)

    def to_mme(self) -> dict[str, Any]:
        """The MME `score` object (extra fields start with `_`, as the spec asks)."""
        out: dict[str, Any] = {"patient": round(self.patient, 6)}
        if self.phenotype is not None:
            out["_phenotype"] = round(self.phenotype, 6)
        if self.genotype is not None:
            out["_genotype"] = round(self.genotype, 6)
        out["_sharedGenes"] = list(self.shared_genes)
        out["_sharedTerms"] = list(self.shared_terms)
        return out


@dataclass
class PreparedQuery:
    """A patient with its observed terms (as given, and as known term indices) and genomic
    keys, computed once and reused for every comparison."""

    terms: tuple[str, ...]
    indices: tuple[int, ...]
    genes: list[GenomicKey]


def prepare(patient: dict[str, Any]) -> PreparedQuery:
    terms = tuple(observed_terms(patient))
    return PreparedQuery(terms, term_space().indices(terms), genomic_keys(patient))


def _phenotype(
    method: PhenotypeMethod,
    *,
    k: int,
    n: Any,
    self_sum: float,
    resnik: tuple[Any, Any] | None = None,
    jc: tuple[Any, Any] | None = None,
    simgic: Any = None,
) -> Any:
    """The method's formula over its parts (floats for one pair, arrays for a pool):
    `resnik` and `jc` are (Σ row best, Σ column best), `n` the candidates' term counts."""
    if method == "simgic":
        return simgic
    jc_bma = (jc[0] + jc[1]) / (k + n) if jc is not None else None
    if method == "jc-bma":
        return jc_bma
    assert resnik is not None
    if method == "query-resnik-jc":
        assert jc_bma is not None
        r_q = resnik[0] / self_sum if self_sum > 0 else 0.0 * resnik[0]
        return 0.5 * r_q + 0.5 * jc_bma
    # Resnik_BMA(Q, Q) = Σ_q Resnik(q, q) / k: each term's best match is itself
    self_bma = self_sum / k
    resnik_bma = (resnik[0] + resnik[1]) / (k + n)
    normalised = np.minimum(1.0, resnik_bma / self_bma) if self_bma > 0 else 0.0 * resnik_bma
    if method == "resnik-bma":
        return normalised
    assert jc_bma is not None
    return 0.5 * normalised + 0.5 * jc_bma


def _parts(method: PhenotypeMethod) -> tuple[bool, bool]:
    """Which term measures the method needs: (Resnik, Jiang–Conrath)."""
    return method not in ("simgic", "jc-bma"), method not in ("simgic", "resnik-bma")


def _combine(pheno: Any, geno: Any, weighting: Weighting) -> Any:
    if weighting == "patientmatcher":
        return 0.75 * (0.0 if geno is None else geno) + 0.25 * (0.0 if pheno is None else pheno)
    if pheno is not None and geno is not None:
        return 0.5 * pheno + 0.5 * geno
    return pheno if pheno is not None else (0.0 if geno is None else geno)


def score(
    query: PreparedQuery,
    candidate: PreparedQuery,
    *,
    phenotype_method: PhenotypeMethod = "query-resnik-jc",
    weighting: Weighting = "genomesh",
    ic: ICKind = "omim",
) -> MatchScore:
    """Score one candidate against a prepared query (see the module docstring)."""
    method: PhenotypeMethod = "simgic" if weighting == "patientmatcher" else phenotype_method
    space = term_space()
    values = space.ic[ic]
    pheno: float | None = None
    if query.terms:
        q, c = query.indices, candidate.indices
        if not q or not c:
            pheno = 0.0
        else:
            need_resnik, need_jc = _parts(method)
            pheno = float(
                _phenotype(
                    method,
                    k=len(q),
                    n=len(c),
                    self_sum=pairwise.self_similarity(space, q, values),
                    resnik=pairwise.best_matches(space, q, c, values, "resnik")
                    if need_resnik
                    else None,
                    jc=pairwise.best_matches(space, q, c, values, "jc") if need_jc else None,
                    simgic=pairwise.simgic(space, q, c, values) if method == "simgic" else None,
                )
            )
    geno: float | None = None
    shared_genes: list[str] = []
    if query.genes:
        geno, shared_genes = genotype_score(query.genes, candidate.genes, weighting=weighting)
    shared_terms = sorted(set(query.terms) & set(candidate.terms))
    return MatchScore(float(_combine(pheno, geno, weighting)), pheno, geno, shared_genes,
                      shared_terms)  # fmt: skip


@dataclass
class CandidatePool:
    """A node's candidates prepared for batch scoring: their term index and, for genotype,
    which candidates name each gene and each variant position."""

    prepared: list[PreparedQuery]
    index: CandidateIndex
    by_gene: dict[str, list[int]]
    by_position: dict[tuple[str, str, int], list[int]]

    @classmethod
    def build(cls, prepared: Sequence[PreparedQuery]) -> CandidatePool:
        by_gene: dict[str, list[int]] = {}
        by_position: dict[tuple[str, str, int], list[int]] = {}
        for i, p in enumerate(prepared):
            for g in p.genes:
                by_gene.setdefault(g.gene, []).append(i)
                if g.variant is not None:
                    by_position.setdefault(g.variant[:3], []).append(i)
        index = CandidateIndex.build(term_space(), [p.indices for p in prepared])
        return cls(list(prepared), index, by_gene, by_position)

    def __len__(self) -> int:
        return len(self.prepared)


@dataclass
class PoolScores:
    """Scores of one query against a pool: arrays, and the explanation of any one."""

    query: PreparedQuery
    pool: CandidatePool
    patient: np.ndarray
    phenotype: np.ndarray | None
    genotype: np.ndarray | None
    weighting: Weighting

    def explain(self, i: int) -> MatchScore:
        """Candidate i's `MatchScore` (shared genes and terms are worked out here)."""
        candidate = self.pool.prepared[i]
        shared_genes: list[str] = []
        if self.query.genes:
            shared_genes = genotype_score(
                self.query.genes, candidate.genes, weighting=self.weighting
            )[1]
        return MatchScore(
            float(self.patient[i]),
            None if self.phenotype is None else float(self.phenotype[i]),
            None if self.genotype is None else float(self.genotype[i]),
            shared_genes,
            sorted(set(self.query.terms) & set(candidate.terms)),
        )


def _pool_phenotype(
    query: PreparedQuery, pool: CandidatePool, method: PhenotypeMethod, ic: ICKind
) -> np.ndarray:
    space, index = term_space(), pool.index
    values = space.ic[ic]
    q = query.indices
    if not q:
        return np.zeros(len(pool))
    need_resnik, need_jc = _parts(method)
    resnik = jc = simgic = None
    if need_resnik or need_jc:
        rows = batch.resnik_rows(space, index, q, values)
        if need_resnik:
            resnik = batch.best_match_sums(rows, index)
        if need_jc:
            jc = batch.best_match_sums(batch.jc_from_resnik(rows, index, q, values), index)
    if method == "simgic":
        simgic = batch.simgic_scores(space, index, q, values)
    out = _phenotype(method, k=len(q), n=index.counts, self_sum=pairwise.self_similarity(
        space, q, values), resnik=resnik, jc=jc, simgic=simgic)  # fmt: skip
    return np.where(index.counts > 0, out, 0.0)


def score_pool(
    query: PreparedQuery,
    pool: CandidatePool,
    *,
    phenotype_method: PhenotypeMethod = "query-resnik-jc",
    weighting: Weighting = "genomesh",
    ic: ICKind = "omim",
) -> PoolScores:
    """`score` for every candidate of the pool at once (what a node's /match runs)."""
    method: PhenotypeMethod = "simgic" if weighting == "patientmatcher" else phenotype_method
    pheno = _pool_phenotype(query, pool, method, ic) if query.terms else None
    geno: np.ndarray | None = None
    if query.genes:
        geno = np.zeros(len(pool))
        touched: set[int] = set()
        for g in query.genes:
            touched.update(pool.by_gene.get(g.gene, ()))
            if g.variant is not None:
                touched.update(pool.by_position.get(g.variant[:3], ()))
        for i in touched:  # every other candidate shares no gene and no variant: 0
            geno[i] = genotype_score(query.genes, pool.prepared[i].genes, weighting=weighting)[0]
    total = _combine(pheno, geno, weighting)
    if np.isscalar(total):
        total = np.full(len(pool), float(total))  # type: ignore[arg-type]
    return PoolScores(query, pool, np.asarray(total, dtype=float), pheno, geno, weighting)


def score_many(
    query: PreparedQuery,
    candidates: Sequence[PreparedQuery],
    *,
    phenotype_method: PhenotypeMethod = "query-resnik-jc",
    weighting: Weighting = "genomesh",
    ic: ICKind = "omim",
) -> list[MatchScore]:
    """`score` for every candidate (one pool, built here), explained."""
    if not candidates:
        return []
    scores = score_pool(query, CandidatePool.build(candidates), phenotype_method=phenotype_method,
                        weighting=weighting, ic=ic)  # fmt: skip
    return [scores.explain(i) for i in range(len(candidates))]


__all__ = [
    "PHENOTYPE_METHODS",
    "CandidatePool",
    "GenomicKey",
    "MatchScore",
    "PhenotypeMethod",
    "PoolScores",
    "PreparedQuery",
    "Weighting",
    "genomic_keys",
    "genotype_score",
    "observed_terms",
    "prepare",
    "score",
    "score_many",
    "score_pool",
]
