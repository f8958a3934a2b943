"""DUO loaded from the packaged release: ids, shorthands, hierarchy, obsolete terms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genomesh.core.errors import UnknownTermError
from genomesh.ontology.duo import get_duo, packaged_owl


def test_get_duo__is_cached_and_versioned() -> None:
    assert get_duo() is get_duo()
    assert get_duo().version == "2021-02-23"


def test_get_duo__npoa_keyed_by_obo_id_despite_iri_typo() -> None:
    term = get_duo().term("DUO:0000044")
    assert term.shorthand == "NPOA"
    assert term.iri.endswith("DUO_00000044")
    assert get_duo().resolve("npoa") == "DUO:0000044"


@pytest.mark.parametrize(
    ("code", "ancestor", "expected"),
    [
        ("DS", "HMB", True),
        ("DS", "GRU", True),
        ("HMB", "GRU", True),
        ("GRU", "HMB", False),
        ("POA", "GRU", False),
        ("NRES", "GRU", False),
        ("NPU", "NPUNCU", True),
        ("NCU", "NPUNCU", True),
        ("NPUNCU", "NCU", False),
        ("DUO:0000007", "DUO:0000001", True),
        ("IRB", "DUO:0000017", True),
    ],
)
def test_duo_is_a__hierarchy(code: str, ancestor: str, expected: bool) -> None:
    assert get_duo().is_a(code, ancestor) is expected


def test_duo__obsolete_terms_flagged() -> None:
    duo = get_duo()
    for code in ("DUO:0000002", "DUO:0000003", "DUO:0000005", "DUO:0000014"):
        assert duo.term(code).obsolete, code
    assert not duo.term("DUO:0000042").obsolete
    assert "GRU-CC" not in {t.shorthand for t in duo.permissions()}


def test_duo__unknown_code_raises_naming_it() -> None:
    with pytest.raises(UnknownTermError, match="DUO:9999999"):
        get_duo().term("DUO:9999999")
    assert not get_duo().has("XYZ")


def test_duo__descendants_include_self() -> None:
    assert get_duo().descendants("GRU") == {"DUO:0000042", "DUO:0000006", "DUO:0000007"}


def test_duo__agrees_with_reference_derivation(reference: Path) -> None:
    """Our parse of duo.owl matches the reference folder's independent derivation."""
    derived = json.loads((reference / "duo" / "duo-terms.derived.json").read_text())["terms"]
    duo = get_duo()
    assert len(duo) == len(derived)
    for record in derived:
        term = duo.term(record["id"])
        assert term.label == record["label"]
        assert term.shorthand == record["shorthand"]
        assert set(term.parents) == set(record["parents"])
        assert term.ancestors == set(record["ancestors"]), record["id"]
        assert term.obsolete == record["obsolete"]


def test_duo__packaged_copy_identical_to_reference(reference: Path) -> None:
    assert packaged_owl().read_bytes() == (reference / "duo" / "duo.owl").read_bytes()
