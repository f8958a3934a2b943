"""How similar two MME patients are: phenotype, genotype, and the combined, explained score.

Phenotype (observed HPO features only; `observed: "no"` is dropped, as patientMatcher does):
- `resnik-jc` (default): the mean of the two below-named best-match averages, normalised
  Resnik and Jiang–Conrath. On phenopacket-store it ranks the same-disease case first more
  often than either alone (docs/benchmarks.md, with a held-out sample).
- `resnik-bma`: Resnik similarity (information content from OMIM annotations, as
  packaged with hpo3) combined by best-match average, normalised by the query's own
  self-similarity: ``BMA(Q, C) / BMA(Q, Q)``, capped at 1. So 1 means "as similar to the
  query as the query is to itself".
- `jc-bma`: Jiang–Conrath similarity (hpo3's, in [0, 1]) combined by best-match average.
- `simgic`: ``ΣIC(anc(Q) ∩ anc(C)) / ΣIC(anc(Q) ∪ anc(C))`` over the ancestor closures
  (Pesquita 2008), the measure patientMatcher uses.

Genotype: per query genomic feature, the best candidate feature scores 1.0 for the same
variant (same assembly family, chromosome, 0-based start, bases when both give them), 0.5 for
the same gene, plus 0.25 when the zygosity also agrees (capped at 1); the genotype score is the
mean over the query's features. Variants on different assemblies are compared by gene only:
no liftover data ships offline, so a GRCh37 and a GRCh38 description of one variant match as
"same gene", never as "same variant".

Combined (`genomesh` weighting): ``0.5·phenotype + 0.5·genotype`` when the query has both
kinds of evidence, otherwise the one it has. `patientmatcher` weighting: ``0.75·genotype +
0.25·phenotype`` with simGIC and patientMatcher's genotype shares (a full share for the same
variant, a quarter share for the same gene; zygosity ignored).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from genomesh.matchmaker.genes import gene_symbol, normalise_gene

PhenotypeMethod = Literal["resnik-jc", "resnik-bma", "jc-bma", "simgic"]
Weighting = Literal["genomesh", "patientmatcher"]
_LOCK = threading.Lock()


def observed_terms(patient: dict[str, Any]) -> list[str]:
    """The patient's observed HPO ids (features without `observed: "no"`), deduplicated."""
    out: list[str] = []
    for feature in patient.get("features") or []:
        if feature.get("observed", "yes") != "no" and feature.get("id") not in out:
            out.append(str(feature["id"]))
    return out


def _assembly_family(assembly: str) -> str:
    return str(assembly).split(".")[0].upper()


@dataclass(frozen=True)
class GenomicKey:
    """One genomic feature reduced to what matching compares."""

    gene: str
    gene_label: str
    zygosity: int | None = None
    variant: tuple[str, str, int, str | None, str | None] | None = None


def genomic_keys(patient: dict[str, Any]) -> list[GenomicKey]:
    keys = []
    for feature in patient.get("genomicFeatures") or []:
        gene_id = str((feature.get("gene") or {}).get("id", ""))
        variant = feature.get("variant")
        vkey = None
        if isinstance(variant, dict) and "start" in variant:
            vkey = (
                _assembly_family(variant.get("assembly", "")),
                str(variant.get("referenceName", "")).upper().removeprefix("CHR"),
                int(variant["start"]),
                variant.get("referenceBases"),
                variant.get("alternateBases"),
            )
        zygosity = feature.get("zygosity")
        keys.append(
            GenomicKey(
                normalise_gene(gene_id),
                gene_symbol(gene_id),
                int(zygosity) if isinstance(zygosity, int) else None,
                vkey,
            )
        )
    return keys


def _same_variant(a: GenomicKey, b: GenomicKey) -> bool:
    if a.variant is None or b.variant is None:
        return False
    (asm_a, chr_a, start_a, ref_a, alt_a), (asm_b, chr_b, start_b, ref_b, alt_b) = (
        a.variant,
        b.variant,
    )
    if (asm_a, chr_a, start_a) != (asm_b, chr_b, start_b):
        return False
    return (ref_a is None or ref_b is None or ref_a == ref_b) and (
        alt_a is None or alt_b is None or alt_a == alt_b
    )


def genotype_score(
    query: Sequence[GenomicKey], candidate: Sequence[GenomicKey], *, weighting: Weighting
) -> tuple[float, list[str]]:
    """The genotype score in [0, 1] and the shared gene symbols."""
    if not query:
        return 0.0, []
    total, shared = 0.0, []
    for q in query:
        best = 0.0
        for c in candidate:
            if _same_variant(q, c):
                best = 1.0
            elif q.gene == c.gene:
                if weighting == "patientmatcher":
                    best = max(best, 0.25)
                else:
                    zyg = q.zygosity is not None and q.zygosity == c.zygosity
                    best = max(best, 0.75 if zyg else 0.5)
            if q.gene == c.gene and q.gene_label not in shared:
                shared.append(q.gene_label)
        total += best
    return total / len(query), shared


class PhenotypeScorer:
    """Phenotype similarity over the HPO release packaged with hpo3 (offline)."""

    def __init__(self) -> None:
        from pyhpo import HPOSet, Ontology

        with _LOCK:
            Ontology()
        self._Ontology, self._HPOSet = Ontology, HPOSet

    def known(self, terms: Sequence[str]) -> list[str]:
        out = []
        for t in terms:
            try:
                self._Ontology.hpo(int(t.split(":")[1]))
            except (KeyError, ValueError, IndexError, NameError, RuntimeError):
                continue
            out.append(t)
        return out

    def hposet(self, terms: Sequence[str]) -> Any:
        return self._HPOSet.from_queries(self.known(terms))

    def resnik_bma(self, query: Any, candidate: Any, *, self_score: float) -> float:
        if self_score <= 0:
            return 0.0
        raw = float(query.similarity(candidate, kind="omim", method="resnik", combine="BMA"))
        return min(1.0, raw / self_score)

    def jc_bma(self, query: Any, candidate: Any) -> float:
        return float(query.similarity(candidate, kind="omim", method="jc", combine="BMA"))

    def self_score(self, query: Any) -> float:
        return float(query.similarity(query, kind="omim", method="resnik", combine="BMA"))

    @cache  # noqa: B019 - one scorer per process
    def closure(self, terms: tuple[str, ...]) -> dict[int, float]:
        """Ancestor closure of the terms with each term's OMIM information content."""
        out: dict[int, float] = {}
        for t in self.known(terms):
            term = self._Ontology.hpo(int(t.split(":")[1]))
            for node in [term, *term.all_parents]:
                out[int(node)] = float(node.information_content.omim)
        return out

    def simgic(self, query: tuple[str, ...], candidate: tuple[str, ...]) -> float:
        a, b = self.closure(query), self.closure(candidate)
        union = sum({**a, **b}.values())
        if union <= 0:
            return 0.0
        return sum(ic for k, ic in a.items() if k in b) / union


@cache
def phenotype_scorer() -> PhenotypeScorer:
    return PhenotypeScorer()


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
    """A query patient with its HPO set and genomic keys computed once for every candidate."""

    terms: tuple[str, ...]
    genes: list[GenomicKey]
    hposet: Any
    self_score: float


def prepare(patient: dict[str, Any]) -> PreparedQuery:
    scorer = phenotype_scorer()
    terms = tuple(observed_terms(patient))
    hposet = scorer.hposet(terms)
    return PreparedQuery(terms, genomic_keys(patient), hposet, scorer.self_score(hposet))


def score(
    query: PreparedQuery,
    candidate: PreparedQuery,
    *,
    phenotype_method: PhenotypeMethod = "resnik-jc",
    weighting: Weighting = "genomesh",
) -> MatchScore:
    """Score one candidate against a prepared query (see the module docstring)."""
    scorer = phenotype_scorer()
    if weighting == "patientmatcher":
        phenotype_method = "simgic"
    pheno: float | None = None
    if query.terms:
        if phenotype_method == "simgic":
            pheno = scorer.simgic(query.terms, candidate.terms)
        elif phenotype_method == "jc-bma":
            pheno = scorer.jc_bma(query.hposet, candidate.hposet)
        else:
            pheno = scorer.resnik_bma(query.hposet, candidate.hposet, self_score=query.self_score)
            if phenotype_method == "resnik-jc":
                pheno = 0.5 * pheno + 0.5 * scorer.jc_bma(query.hposet, candidate.hposet)
    geno: float | None = None
    shared_genes: list[str] = []
    if query.genes:
        geno, shared_genes = genotype_score(query.genes, candidate.genes, weighting=weighting)
    if weighting == "patientmatcher":
        total = 0.75 * (geno or 0.0) + 0.25 * (pheno or 0.0)
    elif pheno is not None and geno is not None:
        total = 0.5 * pheno + 0.5 * geno
    else:
        total = pheno if pheno is not None else (geno or 0.0)
    shared_terms = sorted(set(query.terms) & set(candidate.terms))
    return MatchScore(total, pheno, geno, shared_genes, shared_terms)


def _batch_phenotype(
    query: PreparedQuery, candidates: Sequence[PreparedQuery], method: PhenotypeMethod
) -> list[float]:
    """The phenotype part of `score` for many candidates: hpo3's batch best-match averages
    (all cores, one call) for the Resnik and JC methods; simGIC pair by pair."""
    scorer = phenotype_scorer()
    if method == "simgic":
        return [scorer.simgic(query.terms, c.terms) for c in candidates]
    from pyhpo import helper

    pairs = [(query.hposet, c.hposet) for c in candidates]
    jc = (
        helper.batch_set_similarity(pairs, kind="omim", method="jc", combine="BMA")
        if method in ("jc-bma", "resnik-jc")
        else None
    )
    if method == "jc-bma":
        return [float(x) for x in jc]  # type: ignore[union-attr]
    raw = helper.batch_set_similarity(pairs, kind="omim", method="resnik", combine="BMA")
    ss = query.self_score
    resnik = [min(1.0, float(r) / ss) if ss > 0 else 0.0 for r in raw]
    if method == "resnik-bma":
        return resnik
    return [0.5 * r + 0.5 * float(j) for r, j in zip(resnik, jc, strict=True)]  # type: ignore[arg-type]


def score_many(
    query: PreparedQuery,
    candidates: Sequence[PreparedQuery],
    *,
    phenotype_method: PhenotypeMethod = "resnik-jc",
    weighting: Weighting = "genomesh",
) -> list[MatchScore]:
    """`score` for every candidate, the phenotype part in one batch (what a node's /match
    runs; equal to scoring one pair at a time, which the tests check)."""
    if weighting == "patientmatcher":
        phenotype_method = "simgic"
    if not candidates:
        return []
    phenos: list[float | None] = (
        list(_batch_phenotype(query, candidates, phenotype_method))
        if query.terms
        else [None] * len(candidates)
    )
    out = []
    for candidate, pheno in zip(candidates, phenos, strict=True):
        geno: float | None = None
        shared_genes: list[str] = []
        if query.genes:
            geno, shared_genes = genotype_score(query.genes, candidate.genes, weighting=weighting)
        if weighting == "patientmatcher":
            total = 0.75 * (geno or 0.0) + 0.25 * (pheno or 0.0)
        elif pheno is not None and geno is not None:
            total = 0.5 * pheno + 0.5 * geno
        else:
            total = pheno if pheno is not None else (geno or 0.0)
        shared_terms = sorted(set(query.terms) & set(candidate.terms))
        out.append(MatchScore(total, pheno, geno, shared_genes, shared_terms))
    return out


__all__ = [
    "GenomicKey",
    "MatchScore",
    "PhenotypeScorer",
    "PreparedQuery",
    "genomic_keys",
    "genotype_score",
    "observed_terms",
    "phenotype_scorer",
    "prepare",
    "score",
    "score_many",
]
