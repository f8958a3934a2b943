"""The Python example in docs/store.md runs as written (against a small simulated cohort)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from genomesh.store import open_node
from genomesh.testing.cohorts import requires_msprime, small_cohort

DOC = Path(__file__).resolve().parents[2] / "docs" / "store.md"


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


@requires_msprime()
def test_store_doc__python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    blocks = _python_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) == 1, "docs/store.md should have one Python example"
    cohort = small_cohort(tmp_path)  # cohort.vcf.gz, phenopackets/, consent.tsv, as the doc says
    monkeypatch.chdir(cohort.out_dir)
    namespace: dict[str, object] = {"__name__": "docs_store_example"}
    exec(compile(blocks[0], str(DOC), "exec"), namespace)
    ds = open_node(cohort.out_dir / "node1").dataset("cohort")
    assert ds.info.n_individuals == cohort.n_individuals
    assert ds.info.n_variants >= cohort.n_variants > 0
    assert {t.id for t in ds.info.duo} == {"DUO:0000042"}
    assert namespace["region"], "the example's region query should find simulated variants"
    chunk = namespace["chunk"]
    assert chunk.individual_ids == ["SIM000001"]  # type: ignore[attr-defined]
    assert chunk.dosages.shape == (ds.info.n_variants, 1)  # type: ignore[attr-defined]
