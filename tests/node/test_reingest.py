"""A running node answers from a new dataset version (atomic re-ingest) from the very next
request, without a restart, and the guard and the engine agree on the version."""

from __future__ import annotations

from genomesh.store import ingest_dataset, init_node, open_node
from genomesh.testing.cohorts import small_cohort
from tests.beacon.helpers import open_settings, serve


def _variants_with_carriers(node_dir, dataset: str) -> int:  # type: ignore[no-untyped-def]
    con = open_node(node_dir).dataset(dataset).connect()
    try:
        return int(con.execute("SELECT count(*) FROM variants WHERE ac > 0").fetchone()[0])  # type: ignore[index]
    finally:
        con.close()


def test_reingest__the_next_answer_uses_the_new_version(tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = small_cohort(tmp_path / "a")
    second = small_cohort(tmp_path / "b", length=100_000, seed=8)
    node_dir = tmp_path / "node"
    init_node(node_dir, name="Re-ingest node", jurisdiction="ZZ")
    ingest_dataset(
        node_dir, "ds", vcf=first.vcf, individuals=first.individuals, consent=first.consent
    )
    before = _variants_with_carriers(node_dir, "ds")
    first_version = open_node(node_dir).dataset("ds").info.version
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
        assert open_node(node_dir).dataset("ds").info.version != first_version
        assert n_variants() == after  # no refresh delay: CURRENT is checked on every request
