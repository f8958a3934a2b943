"""The analysis and matchmaking forms turn what people type into the hub API's bodies, and
say in words what is wrong, naming the field."""

from __future__ import annotations

import pytest

from genomesh.matchmaker.schema import validate_request
from genomesh.ontology.hpo_search import search_terms
from genomesh.web.hub.analysis_form import form_field, parse_form
from genomesh.web.hub.match_form import explain, parse_match_form, safe_href

CONTACT = {"name": "Dr Ada", "institution": "UMC", "href": "mailto:ada@umc.example.org"}


def test_gwas_form__body_for_the_api() -> None:
    form = {"type": "gwas", "trait": "bmi", "model": "linear", "mode": "pooled",
            "covariates": "sex, age", "min_mac": "3"}  # fmt: skip
    parsed = parse_form(form, ["nl-node/cohort1", " "])
    assert parsed.errors == {} and not parsed.compare
    assert parsed.bodies == [{
        "type": "gwas", "datasets": ["nl-node/cohort1"],
        "params": {"trait": "bmi", "model": "linear", "mode": "pooled",
                   "covariates": ["sex", "age"], "min_mac": 3},
    }]  # fmt: skip


def test_gwas_form__compare_submits_meta_and_pooled() -> None:
    parsed = parse_form({"type": "gwas", "trait": "bmi", "mode": "compare"}, ["a/b"])
    assert parsed.compare
    assert [b["params"]["mode"] for b in parsed.bodies] == ["meta", "pooled"]


@pytest.mark.parametrize(
    ("form", "datasets", "field", "words"),
    [
        ({"type": "gwas", "trait": "bmi"}, [], "datasets", "tick at least one dataset"),
        ({"type": "gwas", "trait": " "}, ["a/b"], "trait", "name the trait"),
        ({"type": "gwas", "trait": "x", "min_mac": "many"}, ["a/b"], "min_mac", "whole number"),
        ({"type": "nope"}, ["a/b"], "type", "choose an analysis type"),
        ({"type": "allele-frequency"}, ["a/b"], "region", "give a region"),
        (
            {"type": "allele-frequency", "region": "1:1-2", "variants": "1-1-A-G"},
            ["a/b"],
            "region",
            "not both",
        ),
        (
            {"type": "gwas", "trait": "x", "application": "first"},
            ["a/b"],
            "application",
            "approved applications",
        ),
    ],
)
def test_forms__errors_name_the_field(form, datasets, field, words) -> None:
    parsed = parse_form(form, datasets)
    assert words in parsed.errors[field] and parsed.bodies == []


def test_api_fields_map_to_form_fields() -> None:
    assert form_field("nodes") == "datasets"
    assert form_field("trait") == "trait"
    assert form_field("params") == "form" and form_field(None) == "form"


def test_match_form__a_valid_mme_request() -> None:
    form = {"label": "pt-7", "features": "HP:0001250 Seizure\nhp:0001263, HP:0001250",
            "genes": "KCNQ2, kcnq2 SCN1A", "sex": "FEMALE", "test": "yes"}  # fmt: skip
    parsed = parse_match_form(form, CONTACT)
    assert parsed.errors == {}
    assert parsed.terms == ["HP:0001250", "HP:0001263"] and parsed.genes == ["KCNQ2", "SCN1A"]
    validate_request(parsed.body)  # the MME schema genomesh checks at every node
    patient = parsed.body["patient"]
    assert patient["contact"] == CONTACT and parsed.body["test"] is True
    assert patient["genomicFeatures"] == [{"gene": {"id": "KCNQ2"}}, {"gene": {"id": "SCN1A"}}]


@pytest.mark.parametrize(
    ("form", "field", "words"),
    [
        ({"label": "p1", "features": "seizures"}, "features", "is not an HPO term"),
        ({"label": "p1", "features": "HP:9999999"}, "features", "is not in HPO"),
        ({"label": "p1"}, "features", "at least one HPO term or one gene"),
        ({"label": "a b", "genes": "KCNQ2"}, "label", "letters, digits"),
        ({"label": "p1", "genes": "KCNQ2 <script>"}, "genes", "is not a gene symbol"),
        ({"label": "p1", "genes": "KCNQ2", "sex": "unknown"}, "sex", "listed values"),
    ],
)
def test_match_form__errors_name_the_field(form, field, words) -> None:
    parsed = parse_match_form(form, CONTACT)
    assert words in parsed.errors[field] and parsed.body is None


def test_match_form__obsolete_term_names_its_replacement() -> None:
    from genomesh.ontology.hpo import get_hpo

    hpo = get_hpo()
    obsolete = next(
        f"HP:{n:07d}" for n in range(1, 40_000)
        if hpo.has(f"HP:{n:07d}") and hpo.is_obsolete(f"HP:{n:07d}")
        and hpo.replaced_by(f"HP:{n:07d}")
    )  # fmt: skip
    parsed = parse_match_form({"label": "p", "features": obsolete}, CONTACT)
    assert f"use {hpo.replaced_by(obsolete)}" in parsed.errors["features"]


def test_explain__scores_shared_evidence_and_safe_links() -> None:
    result = {
        "score": {"patient": 0.8, "_phenotype": 0.6, "_genotype": 1.0,
                  "_sharedGenes": ["KCNQ2"], "_sharedTerms": ["HP:0001250"]},
        "patient": {"id": "P9", "contact": {"name": "Dr B", "href": "javascript:alert(1)"},
                    "features": [{"id": "HP:0001250"}, {"id": "HP:0001263", "observed": "no"}]},
        "_source": {"kind": "node", "name": "au-node", "country": "AU"},
    }  # fmt: skip
    shown = explain(result, {"HP:0001250": "Seizure"})
    assert (shown["score"], shown["phenotype"], shown["genotype"]) == (0.8, 0.6, 1.0)
    assert shown["shared_terms"] == [("HP:0001250", "Seizure")]
    assert shown["features"] == [("HP:0001250", "Seizure")]  # not-observed left out
    assert shown["contact"]["href"] is None  # never a javascript: link
    assert shown["source"] == "au-node / AU"
    assert safe_href("mailto:a@b.org") == "mailto:a@b.org"


def test_hpo_search__names_and_ids() -> None:
    found = search_terms("seizure")
    assert found[0] == ("HP:0001250", "Seizure")
    assert all("seizure" in name.lower() for _, name in found)
    assert search_terms("HP:0001250") == [("HP:0001250", "Seizure")]
    assert search_terms("s") == [] and len(search_terms("ab", limit=3)) <= 3
