"""Phenotype similarity of one pair of patients, in plain Python loops.

The straightforward definition of what `batch.py` computes for all candidates at once (same
formulas, its module docstring): `scoring.score` uses it for a single pair, and the tests hold
the batch to it (to 1e-9) and it to hpo3's own set similarity.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from genomesh.matchmaker.batch import TermMeasure
from genomesh.matchmaker.termspace import TermSpace


def term_similarity(
    space: TermSpace, q: int, c: int, ic: np.ndarray, measure: TermMeasure
) -> float:
    """Resnik, Lin or Jiang–Conrath (hpo3's conventions) of two terms (dense indices)."""
    common = set(space.ancestors(q).tolist()) & set(space.ancestors(c).tolist())
    mica = max(float(ic[a]) for a in common) if common else 0.0
    if measure == "resnik":
        return mica
    ic_q, ic_c = float(ic[q]), float(ic[c])
    if measure == "lin":
        return 2.0 * mica / (ic_q + ic_c) if ic_q + ic_c > 0 else 0.0
    if q == c:
        return 1.0
    if ic_q == 0 or ic_c == 0:
        return 0.0
    return 1.0 / (1.0 + ic_q + ic_c - 2.0 * mica)


def best_matches(
    space: TermSpace, query: Sequence[int], candidate: Sequence[int], ic: np.ndarray,
    measure: TermMeasure,
) -> tuple[float, float]:  # fmt: skip
    """Σ over query terms of their best match in the candidate, and the reverse sum."""
    if not query or not candidate:
        return 0.0, 0.0
    matrix = [[term_similarity(space, q, c, ic, measure) for c in candidate] for q in query]
    rows = sum(max(row) for row in matrix)
    cols = sum(max(matrix[i][j] for i in range(len(query))) for j in range(len(candidate)))
    return rows, cols


def self_similarity(space: TermSpace, query: Sequence[int], ic: np.ndarray) -> float:
    """Σ_q Resnik(q, q): the most informative term of each query term's closure, summed."""
    return sum(max(float(ic[a]) for a in space.ancestors(q)) for q in query)


def simgic(
    space: TermSpace, query: Sequence[int], candidate: Sequence[int], ic: np.ndarray
) -> float:
    """ΣIC(anc(Q) ∩ anc(C)) / ΣIC(anc(Q) ∪ anc(C))."""
    a = set(space.closure(query).tolist())
    b = set(space.closure(candidate).tolist())
    union = sum(float(ic[t]) for t in a | b)
    return sum(float(ic[t]) for t in a & b) / union if union > 0 else 0.0


__all__ = ["best_matches", "self_similarity", "simgic", "term_similarity"]
