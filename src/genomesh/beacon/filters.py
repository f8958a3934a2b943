"""Beacon v2 filters -> SQL selecting individual ids in one dataset.

Three kinds (all ANDed):

* ontology — `{"id": "HP:0001250", "includeDescendantTerms": true, "similarity": "exact"}`:
  individuals with the term or (default) any descendant among phenotypic features (not
  excluded), diseases, interventions, sex, ethnicity, geographic origin, or with a measure of
  that assay. Hierarchies come from `genomesh.ontology` (HPO packaged release, others from the
  data's own terms). `similarity` high/medium/low widens an HPO term to the data's HPO terms
  whose Lin similarity to it is at least 0.8/0.6/0.4 (`genomesh.ontology.hpo.Hpo.similar`).
* alphanumeric — `{"id": "LOINC:35925-4" | "BMI", "operator": ">", "value": "25"}` on measures
  (by assay id or label), or `{"id": "sex", "operator": "=", "value": "female"}` on the
  individual's sex / ethnicity / geographicOrigin labels. Operators `= < > <= >= !` (`!`/`!=`:
  not equal).
* custom — any other string, matched against term labels (`"female"`, `"obesity"`), or
  `field:value` with field sex / ethnicity / geographicOrigin.

An id that no dataset holds and no ontology knows, a bad operator or a non-numeric value for
a numeric comparison raises `UnknownTermError` / `InvalidInputError` naming the filter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from genomesh.core.errors import InvalidInputError, UnknownTermError

CURIE = re.compile(r"^\w[^:]+:.+$")
OPERATORS = {"=": "=", "<": "<", ">": ">", "<=": "<=", ">=": ">=", "!": "<>", "!=": "<>"}
SIMILARITY = ("exact", "high", "medium", "low")
INDIVIDUAL_FIELDS = {
    "sex": "sex_label",
    "ethnicity": "ethnicity_label",
    "geographicorigin": "origin_label",
    "origin": "origin_label",
}
FILTER_KEYS = {"id", "operator", "value", "includeDescendantTerms", "similarity", "scope"}

ONTOLOGY_SQL = """
SELECT individual_id FROM features WHERE NOT coalesce(excluded, false) AND list_contains($t, term_id)
UNION SELECT individual_id FROM diseases WHERE list_contains($t, term_id)
UNION SELECT individual_id FROM interventions WHERE list_contains($t, term_id)
UNION SELECT individual_id FROM measures WHERE list_contains($t, assay_id)
UNION SELECT individual_id FROM individuals
      WHERE list_contains($t, sex_id) OR list_contains($t, ethnicity_id) OR list_contains($t, origin_id)
"""
LABEL_SQL = """
SELECT individual_id FROM features WHERE NOT coalesce(excluded, false) AND lower(label) = $v
UNION SELECT individual_id FROM diseases WHERE lower(label) = $v
UNION SELECT individual_id FROM interventions WHERE lower(label) = $v
UNION SELECT individual_id FROM individuals
      WHERE lower(sex_label) = $v OR lower(ethnicity_label) = $v OR lower(origin_label) = $v
"""


@dataclass(frozen=True)
class Vocabulary:
    """What the node's datasets hold: term ids -> labels, measure assays, labels."""

    terms: Mapping[str, str]  # ontology term id -> label (features, diseases, sex, ...)
    hpo_terms: frozenset[str]  # HP: terms present (for similarity)
    assays: Mapping[str, str]  # assay id -> label (measures)
    labels: frozenset[str]  # lower-cased labels of every term present


@dataclass(frozen=True)
class ResolvedFilter:
    """A validated filter with the SQL that selects matching individual ids."""

    id: str
    kind: str  # ontology | alphanumeric | custom
    sql: str
    params: Mapping[str, Any]

    @property
    def key(self) -> str:
        """A canonical cache key."""
        return json.dumps([self.sql, dict(self.params)], sort_keys=True, default=str)


def _ontology_descendants(term: str) -> set[str] | None:
    """Descendants (incl. the term) from genomesh.ontology; None if no ontology knows it."""
    from genomesh.ontology import registry

    try:
        if not registry.has(term):
            return None
        return set(registry.descendants(term))
    except UnknownTermError:
        return None


def _similar_terms(term: str, level: str, vocab: Vocabulary) -> set[str]:
    if level == "exact" or not term.startswith("HP:"):
        return {term}
    from genomesh.ontology.hpo import get_hpo

    hpo = get_hpo()
    if not hpo.has(term):
        return {term}
    return {term} | set(hpo.similar(term, vocab.hpo_terms, level=level))  # type: ignore[arg-type]


def _flag(raw: Mapping[str, Any], name: str, default: bool) -> bool:
    value = raw.get(name, default)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise InvalidInputError(
            f"filter {raw.get('id')!r}: {name} must be true or false", field="filters"
        )
    return value


def _ontology(raw: Mapping[str, Any], vocab: Vocabulary) -> ResolvedFilter:
    term = str(raw["id"])
    level = raw.get("similarity", "exact")
    if level not in SIMILARITY:
        raise InvalidInputError(
            f"filter {term!r}: similarity must be one of {', '.join(SIMILARITY)}", field="filters"
        )
    known = _ontology_descendants(term)
    in_data = term in vocab.terms or term in vocab.assays
    if known is None and not in_data:
        raise UnknownTermError(
            f"unknown filter term {term!r}: no dataset holds it and no ontology knows it",
            field="filters",
            details={"filter": term},
        )
    terms = {term}
    if _flag(raw, "includeDescendantTerms", True) and known:
        terms |= known
    terms |= _similar_terms(term, level, vocab)
    return ResolvedFilter(term, "ontology", ONTOLOGY_SQL, {"t": sorted(terms)})


def _number(raw: Mapping[str, Any]) -> float | None:
    try:
        return float(raw["value"])
    except (TypeError, ValueError):
        return None


def _alphanumeric(raw: Mapping[str, Any], vocab: Vocabulary) -> ResolvedFilter:
    fid = str(raw["id"])
    op = raw.get("operator", "=")
    if op not in OPERATORS:
        raise InvalidInputError(
            f"filter {fid!r}: operator {op!r} is not one of {' '.join(OPERATORS)}", field="filters"
        )
    if "value" not in raw or raw["value"] is None or isinstance(raw["value"], (dict, list, bool)):
        raise InvalidInputError(
            f"filter {fid!r}: an alphanumeric filter needs a value", field="filters"
        )
    sql_op = OPERATORS[op]
    number = _number(raw)
    field_col = INDIVIDUAL_FIELDS.get(fid.lower())
    if field_col:
        if op not in ("=", "!", "!="):
            raise InvalidInputError(f"filter {fid!r}: only = and ! apply to {fid}", field="filters")
        sql = f"SELECT individual_id FROM individuals WHERE lower({field_col}) {sql_op} $v"
        return ResolvedFilter(fid, "alphanumeric", sql, {"v": str(raw["value"]).lower()})
    lowered = {label.lower(): aid for aid, label in vocab.assays.items()}
    assay = fid if fid in vocab.assays else lowered.get(fid.lower())
    if assay is None:
        raise UnknownTermError(
            f"unknown filter {fid!r}: no measure with that assay id or label",
            field="filters",
            details={"filter": fid},
        )
    if number is None:
        raise InvalidInputError(
            f"filter {fid!r}: value {raw['value']!r} is not a number", field="filters"
        )
    sql = f"SELECT individual_id FROM measures WHERE assay_id = $a AND value {sql_op} $v"
    return ResolvedFilter(fid, "alphanumeric", sql, {"a": assay, "v": number})


def _custom(raw: Mapping[str, Any], vocab: Vocabulary) -> ResolvedFilter:
    fid = str(raw["id"])
    prefix, _, value = fid.partition(":")
    field_col = INDIVIDUAL_FIELDS.get(prefix.lower()) if value else None
    if field_col:
        sql = f"SELECT individual_id FROM individuals WHERE lower({field_col}) = $v"
        return ResolvedFilter(fid, "custom", sql, {"v": value.lower()})
    if fid.lower() not in vocab.labels:
        raise UnknownTermError(
            f"unknown filter {fid!r}: not a term id or label held by any dataset",
            field="filters",
            details={"filter": fid},
        )
    return ResolvedFilter(fid, "custom", LABEL_SQL, {"v": fid.lower()})


def resolve_filters(
    raw_filters: Iterable[Mapping[str, Any]], vocab: Vocabulary
) -> list[ResolvedFilter]:
    """Validate and expand request filters (raises naming the first bad one)."""
    out: list[ResolvedFilter] = []
    for raw in raw_filters:
        fid = raw.get("id")
        if not isinstance(fid, str) or not fid.strip():
            raise InvalidInputError("every filter needs a non-empty string id", field="filters")
        extra = set(raw) - FILTER_KEYS
        if extra:
            raise InvalidInputError(
                f"filter {fid!r}: unknown keys {', '.join(sorted(extra))}", field="filters"
            )
        if "operator" in raw or "value" in raw:
            out.append(_alphanumeric(raw, vocab))
        elif CURIE.match(fid) and fid.split(":", 1)[0].lower() not in INDIVIDUAL_FIELDS:
            out.append(_ontology(raw, vocab))
        else:
            out.append(_custom(raw, vocab))
    return out


__all__ = ["OPERATORS", "ResolvedFilter", "Vocabulary", "resolve_filters"]
