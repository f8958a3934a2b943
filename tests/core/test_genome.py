from __future__ import annotations

import pytest

from genomesh.core.errors import InvalidInputError
from genomesh.core.genome import (
    assembly_of_refseq,
    normalize_assembly,
    normalize_chromosome,
    require_chromosome,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("1", "1"), ("chr1", "1"), ("NC_000001.10", "1"), ("NC_000001.11", "1"), ("19", "19"),
     ("chrX", "X"), ("NC_000023.11", "X"), ("chrM", "MT"), ("22", "22"), ("chr22", "22")],
)  # fmt: skip
def test_normalize_chromosome__aliases(name: str, expected: str) -> None:
    assert normalize_chromosome(name) == expected


def test_normalize_chromosome__one_never_matches_nineteen() -> None:
    assert normalize_chromosome("1") != normalize_chromosome("19")
    assert normalize_chromosome("chr1") != normalize_chromosome("NC_000019.10")


def test_normalize_chromosome__unknown_is_none_and_required_raises() -> None:
    assert normalize_chromosome("chrUn_gl000220") is None
    with pytest.raises(InvalidInputError, match="unknown chromosome 'banana'"):
        require_chromosome("banana")


def test_assemblies() -> None:
    assert assembly_of_refseq("NC_000001.10") == "GRCh37"
    assert assembly_of_refseq("NC_000001.11") == "GRCh38"
    assert normalize_assembly("hs37d5") == "GRCh37"
    assert normalize_assembly("hg38") == "GRCh38"
    assert normalize_assembly("mm10") is None
