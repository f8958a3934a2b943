"""HPO from the release bundled with hpo3: lookup, hierarchy, similarity."""

from __future__ import annotations

import pytest

from genomesh.core.errors import UnknownTermError
from genomesh.ontology.hpo import get_hpo

SEIZURE = "HP:0001250"
NERVOUS = "HP:0000707"  # Abnormality of the nervous system
FEBRILE = "HP:0002373"  # Febrile seizure (within the age range of 3 months to 6 years)


def test_get_hpo__cached_with_version() -> None:
    hpo = get_hpo()
    assert hpo is get_hpo()
    assert hpo.version[:2] == "20"
    assert hpo.version in hpo.acknowledgement


def test_hpo__label_and_has() -> None:
    hpo = get_hpo()
    assert hpo.label(SEIZURE) == "Seizure"
    assert hpo.has(SEIZURE)
    assert not hpo.has("HP:9999999")
    assert not hpo.has("seizure")


def test_hpo__unknown_term_raises() -> None:
    with pytest.raises(UnknownTermError, match="HP:9999999"):
        get_hpo().label("HP:9999999")
    with pytest.raises(UnknownTermError, match="HP:NNNNNNN"):
        get_hpo().descendants("HP:1")


def test_hpo__descendants_and_ancestors_are_consistent() -> None:
    hpo = get_hpo()
    below = hpo.descendants(NERVOUS)
    assert SEIZURE in below and FEBRILE in below and NERVOUS in below
    assert NERVOUS in hpo.ancestors(FEBRILE)
    assert "HP:0000001" in hpo.ancestors(SEIZURE)
    assert SEIZURE not in hpo.descendants(FEBRILE)
    # every child's ancestors contain the parent
    for child in hpo.children(SEIZURE):
        assert SEIZURE in hpo.ancestors(child)


def test_hpo__similarity_ordering() -> None:
    hpo = get_hpo()
    assert hpo.similarity(SEIZURE, SEIZURE) == 1.0
    related = hpo.similarity(SEIZURE, FEBRILE)
    unrelated = hpo.similarity(SEIZURE, "HP:0001631")  # atrial septal defect
    assert 0.0 <= unrelated < related <= 1.0
    assert hpo.similarity(FEBRILE, SEIZURE) == related


def test_hpo__similar_levels_nest() -> None:
    hpo = get_hpo()
    candidates = [FEBRILE, "HP:0001631", "HP:0007359", SEIZURE]
    high = hpo.similar(SEIZURE, candidates, level="high")
    low = hpo.similar(SEIZURE, candidates, level="low")
    assert SEIZURE in high and high <= low
    assert "HP:0001631" not in low
