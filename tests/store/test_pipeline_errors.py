"""Errors while streaming, with the writer thread busy: the people and consent tables are
written while the writer drains its last batches, so an error on either thread must still
name file, line and field, leave the node as it was and leave no writer thread behind."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from genomesh.core.errors import IngestError
from genomesh.store import NodeStore, ingest_dataset
from tests.store.conftest import rec, write_vcf
from tests.store.test_bad_input import GOOD, _individuals, _tree

CASES = {
    # decoded on the writer thread, in the very last batch (after the parser has finished)
    "allele_out_of_range_last_record": (rec(2, 400, "A", "G", "0/0", "0/3", "0/0"), 13),
    # refused by the parser while the writer holds earlier batches
    "bad_genotype_last_record": (rec(2, 400, "A", "G", "0/x", "0/0", "0/0"), 13),
    "bad_ref_last_record": (rec(2, 400, "Z", "G", "0/0", "0/1", "0/0"), 13),
}


@pytest.fixture()
def loaded(node: NodeStore, tmp_path: Path) -> NodeStore:
    ingest_dataset(node.path, "ds", vcf=write_vcf(tmp_path / "good.vcf", GOOD))
    return node


@pytest.mark.parametrize("batch_records", [1, 2, 1000])
@pytest.mark.parametrize("case", sorted(CASES))
def test_ingest__error_while_writer_busy_changes_nothing(
    loaded: NodeStore, tmp_path: Path, case: str, batch_records: int
):
    bad, line = CASES[case]
    before = _tree(loaded.path)
    consent = tmp_path / "consent.tsv"
    consent.write_text("individual_id\tduo\nS1\tDUO:0000042\n")
    with pytest.raises(IngestError) as info:
        ingest_dataset(
            loaded.path, "ds", vcf=write_vcf(tmp_path / "bad.vcf", [*GOOD, bad]),
            individuals=_individuals(tmp_path), consent=consent, batch_records=batch_records,
        )  # fmt: skip
    exc = info.value
    assert (Path(str(exc.file)).name, exc.line) == ("bad.vcf", line), exc.describe()
    assert exc.field in ("GT", "REF"), exc.describe()
    assert _tree(loaded.path) == before
    assert not [t for t in threading.enumerate() if t.name == "genomesh-ingest-writer"]
    assert loaded.dataset("ds").info.n_variants == 4
