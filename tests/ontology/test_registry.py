"""Registry dispatch by prefix; ICD-10 hierarchy; data-registered flat terms."""

from __future__ import annotations

import pytest

from genomesh.core.errors import UnknownTermError
from genomesh.ontology import registry
from genomesh.ontology.icd10 import get_icd10


def test_registry__dispatches_by_prefix() -> None:
    assert "HP:0001250" in registry.descendants("HP:0000707")
    assert registry.label("DUO:0000042") == "general research use"
    assert "DUO:0000042" in registry.ancestors("DUO:0000007")
    assert registry.hierarchy_of("HP") == "full"
    assert registry.hierarchy_of("ICD10:E10") == "full"
    assert registry.hierarchy_of("OMIM") == "flat"


@pytest.mark.parametrize(
    ("term", "ancestor", "expected"),
    [
        ("ICD10:F3181", "ICD10:F31", True),  # CINECA code deeper than WHO's, under F31.8
        ("ICD10:F31.8", "ICD10:F31", True),
        ("ICD10:E10", "ICD10:E10-E14", True),  # block
        ("ICD10:E10", "ICD10:IV", True),  # chapter
        ("ICD10:E10", "ICD10:F31", False),
        ("ICD10:F31", "ICD10:F3181", False),
        ("ICD10:E10-E14", "ICD10:E10", False),  # block is not below its first category
        ("ICD10:E10", "HP:0000001", False),  # no cross-ontology mapping
    ],
)
def test_registry_is_a__icd10_structure(term: str, ancestor: str, expected: bool) -> None:
    assert registry.is_a(term, ancestor) is expected


def test_icd10__labels_and_dotless_form() -> None:
    icd = get_icd10()
    assert icd.label("ICD10:D50") == "Iron deficiency anaemia"
    assert icd.canonical("ICD10:F31.8") == "ICD10:F318"
    assert "ICD10:E105" in icd.descendants("ICD10:E10")
    with pytest.raises(UnknownTermError, match="ICD10:U999"):
        icd.label("ICD10:U999")


def test_registry__omim_names_from_hpo3() -> None:
    assert registry.has("OMIM:616165")
    assert registry.descendants("OMIM:616165") == {"OMIM:616165"}


def test_registry__data_terms_flat_and_unknown_named() -> None:
    registry.register_terms({"NCIT:C16576": "female"})
    assert registry.label("NCIT:C16576") == "female"
    assert registry.descendants("NCIT:C16576") == {"NCIT:C16576"}
    with pytest.raises(UnknownTermError, match="NCIT:C0000000"):
        registry.descendants("NCIT:C0000000")


def test_registry__edges_give_a_hierarchy() -> None:
    registry.register_edges([("TESTONT:2", "TESTONT:1"), ("TESTONT:3", "TESTONT:2")])
    assert registry.descendants("TESTONT:1") == {"TESTONT:1", "TESTONT:2", "TESTONT:3"}
    assert registry.is_a("TESTONT:3", "TESTONT:1")
    with pytest.raises(UnknownTermError, match="crosses"):
        registry.register_edges([("TESTONT:3", "OTHER:1")])


def test_registry__icd10_data_codes_deeper_than_who_are_descendants() -> None:
    registry.register_terms({"ICD10:F3181": "bipolar affective disorder", "ICD10:F31812": None})
    assert "ICD10:F3181" in registry.descendants("ICD10:F31")
    assert "ICD10:F3181" in registry.descendants("ICD10:F30-F39")
    assert registry.descendants("ICD10:F3181") == {"ICD10:F3181", "ICD10:F31812"}
    assert registry.label("ICD10:F3181") == "bipolar affective disorder"
    assert "ICD10:F3181" not in registry.descendants("ICD10:E10")
