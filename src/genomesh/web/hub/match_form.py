"""The matchmaking form: from what a clinician typed to an MME v1.1 request, and back from
the MME response to what the results page shows.

Phenotype: HPO terms, one per line or comma-separated, each `HP:0001250` or
`HP:0001250 Seizure` (the type-ahead fills in that form); an unknown or obsolete id is an
error next to the field, naming the term (an obsolete one with its replacement). Genes: HGNC
symbols, Entrez or Ensembl ids, comma-separated. The contact is the signed-in account's
(name, institution, `mailto:` e-mail), so replies and the hub's match notices reach them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from genomesh.core.errors import GenomeshError
from genomesh.matchmaker.schema import SEXES

MAX_TERMS = 100
MAX_GENES = 50
_TERM = re.compile(r"(HP:\d{7})", re.IGNORECASE)
_LABEL = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_GENE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-_:@/]{0,63}$")
SEX_OPTIONS = [(s, s.replace("_", " ").lower()) for s in SEXES]


@dataclass
class MatchForm:
    body: dict[str, Any] | None = None
    errors: dict[str, str] = field(default_factory=dict)
    terms: list[str] = field(default_factory=list)
    genes: list[str] = field(default_factory=list)


def parse_terms(text: str) -> tuple[list[str], str | None]:
    """HPO ids from the features field, in order, deduplicated; or the error to show."""
    from genomesh.ontology.hpo import get_hpo

    hpo = get_hpo()
    terms: list[str] = []
    for line in re.split(r"[\n,;]+", text):
        line = line.strip()
        if not line:
            continue
        found = _TERM.match(line)
        if not found:
            return [], f"{line!r} is not an HPO term: write HP:NNNNNNN (pick from the suggestions)"
        term = found.group(1).upper()
        if not hpo.has(term):
            return [], f"{term} is not in HPO {hpo.version}"
        if hpo.is_obsolete(term):
            better = hpo.replaced_by(term)
            hint = f"; use {better} ({hpo.label(better)})" if better else ""
            return [], f"{term} is obsolete in HPO {hpo.version}{hint}"
        if term not in terms:
            terms.append(term)
    if len(terms) > MAX_TERMS:
        return [], f"at most {MAX_TERMS} terms"
    return terms, None


def parse_genes(text: str) -> tuple[list[str], str | None]:
    genes: list[str] = []
    for item in re.split(r"[\s,;]+", text):
        if not item:
            continue
        if not _GENE.match(item):
            return [], f"{item!r} is not a gene symbol or id (e.g. KCNQ2, NCBIGene:3785)"
        if item.upper() not in (g.upper() for g in genes):
            genes.append(item)
    if len(genes) > MAX_GENES:
        return [], f"at most {MAX_GENES} genes"
    return genes, None


def parse_match_form(form: Mapping[str, str], contact: Mapping[str, str]) -> MatchForm:
    """The MME request for the form, or the errors per field."""
    out = MatchForm()
    label = form.get("label", "").strip()
    if not _LABEL.match(label):
        out.errors["label"] = "a short reference of your own: letters, digits, '.', '_', '-'"
    try:
        out.terms, problem = parse_terms(form.get("features", ""))
    except GenomeshError as exc:
        out.terms, problem = [], exc.message
    if problem:
        out.errors["features"] = problem
    out.genes, problem = parse_genes(form.get("genes", ""))
    if problem:
        out.errors["genes"] = problem
    if not out.errors and not out.terms and not out.genes:
        out.errors["features"] = "give at least one HPO term or one gene"
    sex = form.get("sex", "").strip()
    if sex and sex not in SEXES:
        out.errors["sex"] = "choose one of the listed values"
    if out.errors:
        return out
    patient: dict[str, Any] = {
        "id": label,
        "contact": {k: v for k, v in contact.items() if v},
    }
    if sex:
        patient["sex"] = sex
    if out.terms:
        patient["features"] = [{"id": t, "observed": "yes"} for t in out.terms]
    if out.genes:
        patient["genomicFeatures"] = [{"gene": {"id": g}} for g in out.genes]
    out.body = {"patient": patient}
    if form.get("test"):
        out.body["test"] = True
    return out


def safe_href(href: Any) -> str | None:
    """A contact link fit to show as a link (mailto:, https: or http:), else None."""
    if not isinstance(href, str):
        return None
    scheme = urlparse(href.strip()).scheme.lower()
    return href.strip() if scheme in ("mailto", "https", "http") else None


def explain(result: Mapping[str, Any], labels: Mapping[str, str]) -> dict[str, Any]:
    """One MME result as the page shows it: scores, what is shared, contact, source."""
    score = result.get("score") or {}
    patient = result.get("patient") or {}
    contact = patient.get("contact") or {}
    source = result.get("_source") or {}
    shared_terms = [str(t) for t in score.get("_sharedTerms") or []]
    return {
        "id": str(patient.get("id", "")),
        "score": float(score.get("patient") or 0.0),
        "phenotype": score.get("_phenotype"),
        "genotype": score.get("_genotype"),
        "shared_genes": [str(g) for g in score.get("_sharedGenes") or []],
        "shared_terms": [(t, labels.get(t, "")) for t in shared_terms],
        "features": [
            (str(f.get("id")), labels.get(str(f.get("id")), ""))
            for f in patient.get("features") or []
            if isinstance(f, dict) and f.get("observed", "yes") != "no"
        ],
        "genes": [
            str((g.get("gene") or {}).get("id", ""))
            for g in patient.get("genomicFeatures") or []
            if isinstance(g, dict)
        ],
        "contact": {
            "name": str(contact.get("name", "")),
            "institution": str(contact.get("institution", "")),
            "href": safe_href(contact.get("href")),
            "href_text": str(contact.get("href", "")),
        },
        "source": " / ".join(str(source.get(k)) for k in ("name", "country") if source.get(k)),
    }


__all__ = ["SEX_OPTIONS", "MatchForm", "explain", "parse_genes", "parse_match_form",
           "parse_terms", "safe_href"]  # fmt: skip
