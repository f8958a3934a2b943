"""Checks on individuals read for ingest: unique ids, CURIE codes, HPO terms known.

Separate from parsing (individuals.py) because these are the custodian-facing decisions:
repeated subject ids and HPO ids newer than the packaged release are refused with every
offender listed, and an explicit option (`--id-from phenopacket`, `--allow-unknown-terms`)
is named in the error.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from genomesh.core.errors import IngestError, UnknownTermError
from genomesh.store.individuals import Individual

_CURIE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*:[^\s:]\S*")


def _term_ids(person: Individual) -> list[tuple[str, str, str]]:
    """(term id, TSV column, JSON field) of every ontology code a person carries."""
    out = [(t, "excluded_features" if excluded else "features", "phenotypicFeatures")
           for t, _, excluded in person.features]  # fmt: skip
    out += [(t, "diseases", "diseases") for t, _ in person.diseases]
    out += [(t, "interventions", "interventionsOrProcedures") for t, _ in person.interventions]
    if person.ethnicity:
        out.append((person.ethnicity[0], "ethnicity_id", "ethnicity"))
    if person.origin:
        out.append((person.origin[0], "origin_id", "geographicOrigin"))
    for assay, _, _, unit, _ in person.measures:
        out.append((assay, f"measure:{assay}", "measures"))
        if unit:
            out.append((unit, f"measure:{assay}@{unit}", "measures"))
    return out


def _check_term_ids(person: Individual, *, path: Path | str) -> None:
    """Every code is a CURIE (PREFIX:ID): free text such as 'seizure' would be stored as a
    term no filter can ever match, silently hiding the person from phenotype queries."""
    for term, column, json_field in _term_ids(person):
        if not _CURIE.fullmatch(term):
            raise IngestError(
                f"{term!r} for individual {person.id!r} is not an ontology term id (a CURIE "
                "such as HP:0001250; in a TSV write ID or ID|label)",
                file=person.where or str(path), line=person.line,
                field=column if person.source == "tsv" else json_field,
            )  # fmt: skip


def _check_unique(people: list[Individual], *, path: Path | str) -> None:
    """Each id once; the error lists every repeated id (not just the first)."""
    counts = Counter(p.id for p in people)
    repeated = {i: n for i, n in counts.items() if n > 1}
    if not repeated:
        return
    seen: set[str] = set()
    first = people[0]
    for person in people:  # the first repeat, for file/line
        if person.id in seen:
            first = person
            break
        seen.add(person.id)
    shown = ", ".join(f"{i!r} x{n}" for i, n in list(repeated.items())[:10])
    more = f" and {len(repeated) - 10} more" if len(repeated) > 10 else ""
    hint = (
        "; phenopackets from different studies reuse subject ids: pass --id-from phenopacket "
        "to key individuals by the phenopacket id"
        if first.source == "phenopacket"
        else ""
    )
    raise IngestError(
        f"{len(repeated)} individual id(s) appear more than once: {shown}{more}{hint}",
        file=first.where or str(path), line=first.line, field="id",
        details={"repeated_ids": repeated},
    )  # fmt: skip


def validate_individuals(
    people: list[Individual], *, path: Path | str, allow_unknown_terms: bool = False
) -> list[str]:
    """Unique ids; term ids are CURIEs; every HPO feature known to the packaged HPO release.

    Unknown HPO ids (newer than the packaged release, or alt ids it does not list) stop the
    ingest with all of them named, unless `allow_unknown_terms`: then they are kept, a note
    on the feature in the individual's document says so, and they are returned (sorted)."""
    _check_unique(people, path=path)
    for person in people:
        _check_term_ids(person, path=path)
    hpo_terms = [(p, f[0]) for p in people for f in p.features if f[0].startswith("HP:")]
    if not hpo_terms:
        return []
    from genomesh.ontology.hpo import get_hpo

    hpo = get_hpo()
    unknown: dict[str, list[Individual]] = {}
    for person, term in hpo_terms:
        if not hpo.has(term):
            unknown.setdefault(term, []).append(person)
    if not unknown:
        return []
    if allow_unknown_terms:
        note = f"not a term of the packaged HPO release {hpo.version}; kept as given"
        for term, holders in unknown.items():
            for person in holders:
                person.term_notes[term] = note
        return sorted(unknown)
    first_term, holders = next(iter(unknown.items()))
    person = holders[0]
    shown = ", ".join(f"{t} ({len(h)} individual(s))" for t, h in list(unknown.items())[:10])
    more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
    raise UnknownTermError(
        f"{len(unknown)} HPO term(s) unknown to the packaged HPO release {hpo.version}: "
        f"{shown}{more}; first: {first_term!r} for individual {person.id!r}. Correct them, or "
        "pass --allow-unknown-terms to keep them (flagged in each document)",
        file=person.where or str(path), line=person.line,
        field="features" if person.source == "tsv" else "phenotypicFeatures",
        details={"unknown_terms": sorted(unknown), "hpo_version": hpo.version},
    )  # fmt: skip


__all__ = ["validate_individuals"]
