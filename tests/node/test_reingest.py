"""A running node picks up a new dataset version (atomic re-ingest) without a restart."""

from __future__ import annotations

import time

from genomesh.store import ingest_dataset, init_node, open_node
from genomesh.testing.cohorts import small_cohort
from tests.beacon.helpers import open_settings, serve


def _variants_with_carriers(node_dir, dataset: str) -> int:  # type: ignore[no-untyped-def]
    con = open_node(node_dir).dataset(dataset).connect()
    try:
        return int(con.execute("SELECT count(*) FROM variants WHERE ac > 0").fetchone()[0])  # type: ignore[index]
    finally:
        con.close()


def test_reingest__new_version_answers_after_refresh(tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = small_cohort(tmp_path / "a")
    second = small_cohort(tmp_path / "b", length=100_000, seed=8)
    node_dir = tmp_path / "node"
    init_node(node_dir, name="Re-ingest node", jurisdiction="ZZ")
    ingest_dataset(
        node_dir, "ds", vcf=first.vcf, individuals=first.individuals, consent=first.consent
    )
    before = _variants_with_carriers(node_dir, "ds")
    with serve(open_settings(node_dir)) as client:

        def n_variants() -> int:
            r = client.get("/g_variants", params={"requestedGranularity": "count"})
            return int(r.json()["responseSummary"]["numTotalResults"])

        assert n_variants() == before
        ingest_dataset(
            node_dir, "ds", vcf=second.vcf, individuals=second.individuals, consent=second.consent
        )
        after = _variants_with_carriers(node_dir, "ds")
        assert after != before
        time.sleep(2.2)  # contexts re-check the dataset's CURRENT version every 2 s
        assert n_variants() == after
