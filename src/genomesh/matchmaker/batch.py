"""Phenotype similarity of one query to every candidate of a node at once (numpy).

Term level, with IC the information content of the chosen corpus and MICA the most
informative common ancestor (`termspace.py`):
- Resnik: ``IC(MICA(q, c))``;
- Lin: ``2·IC(MICA) / (IC(q) + IC(c))`` (0 when both ICs are 0);
- Jiang–Conrath, as hpo3 scores it: ``1 / (1 + IC(q) + IC(c) − 2·IC(MICA))``, 1 for the same
  term and 0 when either IC is 0 (a term without annotations in the corpus).

Set level, for query terms Q (k of them) and a candidate's terms C (n):
- best-match average, as hpo3's `BMA`: ``(Σ_q max_c s(q, c) + Σ_c max_q s(q, c)) / (k + n)``;
- the query-to-candidate direction alone: ``Σ_q max_c s(q, c) / k``;
- simGIC: ``ΣIC(anc(Q) ∩ anc(C)) / ΣIC(anc(Q) ∪ anc(C))``.

Every function returns one float64 per candidate (0 for a candidate with no known term); the
per-pair reference `reference.py` computes the same numbers with plain Python loops.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numba import njit

from genomesh.matchmaker.termspace import CandidateIndex, TermSpace

TermMeasure = Literal["resnik", "lin", "jc"]
Combine = Literal["bma", "query"]


def resnik_rows(
    space: TermSpace, index: CandidateIndex, query: Sequence[int], ic: np.ndarray
) -> np.ndarray:
    """``rows[i, v]`` = Resnik similarity of query term i to vocabulary term v."""
    rows = np.zeros((len(query), len(index.vocab)))
    for r, q in enumerate(query):
        ancestors = space.ancestors(q)
        for a in ancestors[np.argsort(ic[ancestors], kind="stable")]:
            where = index.under.get(int(a))
            if where is not None:
                rows[r, where] = ic[a]  # ascending IC: the last write is the MICA
    return rows


def jc_from_resnik(
    rows: np.ndarray, index: CandidateIndex, query: Sequence[int], ic: np.ndarray
) -> np.ndarray:
    """Jiang–Conrath rows from Resnik rows: hpo3's convention, 1 for the same term and 0 when
    either term has IC 0 (no annotation in the corpus)."""
    q = np.asarray(query, dtype=np.int64)[:, None]
    ic_q, ic_v = ic[q], ic[index.vocab][None, :]
    with np.errstate(divide="ignore"):
        jc = np.where((ic_q > 0) & (ic_v > 0), 1.0 / (1.0 + ic_q + ic_v - 2.0 * rows), 0.0)
    return np.where(q == index.vocab[None, :], 1.0, jc)


def term_rows(
    space: TermSpace,
    index: CandidateIndex,
    query: Sequence[int],
    ic: np.ndarray,
    measure: TermMeasure,
) -> np.ndarray:
    """``rows[i, v]`` = the term measure of query term i and vocabulary term v."""
    rows = resnik_rows(space, index, query, ic)
    if measure == "resnik":
        return rows
    if measure == "jc":
        return jc_from_resnik(rows, index, query, ic)
    denominator = ic[np.asarray(query, dtype=np.int64)][:, None] + ic[index.vocab][None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, 2.0 * rows / denominator, 0.0)


@njit(cache=True, nogil=True)
def _best_matches(
    rows_t: np.ndarray, flat: np.ndarray, offsets: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate: Σ over query terms of the best match among its terms, and Σ over its
    terms of the best match among the query terms (one pass, no temporary matrix)."""
    k = rows_t.shape[1]
    row_sum = np.zeros(len(counts))
    col_sum = np.zeros(len(counts))
    best = np.empty(k)
    for c in range(len(counts)):
        if counts[c] == 0:
            continue
        best[:] = -np.inf
        col = 0.0
        for i in range(offsets[c], offsets[c] + counts[c]):
            v = flat[i]
            top = -np.inf
            for j in range(k):
                x = rows_t[v, j]
                if x > best[j]:
                    best[j] = x
                if x > top:
                    top = x
            col += top
        total = 0.0
        for j in range(k):
            total += best[j]
        row_sum[c] = total
        col_sum[c] = col
    return row_sum, col_sum


def best_match_sums(rows: np.ndarray, index: CandidateIndex) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate: (Σ_q max_c s(q, c), Σ_c max_q s(q, c)); zeros for no terms."""
    if rows.shape[0] == 0 or len(index) == 0:
        return np.zeros(len(index)), np.zeros(len(index))
    return _best_matches(np.ascontiguousarray(rows.T), index.flat, index.offsets, index.counts)


def set_scores(rows: np.ndarray, index: CandidateIndex, combine: Combine) -> np.ndarray:
    """Combine term-level rows into one score per candidate (see the module docstring)."""
    row_sum, col_sum = best_match_sums(rows, index)
    if combine == "query":
        return row_sum / max(1, rows.shape[0])
    return (row_sum + col_sum) / np.maximum(1, rows.shape[0] + index.counts)


def simgic_scores(
    space: TermSpace, index: CandidateIndex, query: Sequence[int], ic: np.ndarray
) -> np.ndarray:
    """simGIC of the query to every candidate."""
    out = np.zeros(len(index))
    present = index.closure_counts > 0
    if not query or not present.any():
        return out
    in_query = np.zeros(len(ic))
    closure = space.closure(query)
    in_query[closure] = ic[closure]
    starts = index.closure_offsets[present]
    shared = np.add.reduceat(in_query[index.closure_flat], starts)
    own = np.add.reduceat(ic[index.closure_flat], starts)
    union = float(ic[closure].sum()) + own - shared
    with np.errstate(divide="ignore", invalid="ignore"):
        out[present] = np.where(union > 0, shared / union, 0.0)
    return out


__all__ = [
    "Combine",
    "TermMeasure",
    "best_match_sums",
    "jc_from_resnik",
    "resnik_rows",
    "set_scores",
    "simgic_scores",
    "term_rows",
]
