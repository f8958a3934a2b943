"""A simulated cohort is what a node ingests: the store accepts every file as written."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genomesh.simulate import CohortFiles
from genomesh.store import ingest_dataset, init_node, open_node
from tests.simulate.conftest import read_tsv, read_vcf


def test_ingest__vcf_individuals_and_consent_load_into_a_node(
    cohort: CohortFiles, tmp_path: Path
) -> None:
    init_node(tmp_path / "node", name="sim-node", jurisdiction="NL")
    summary = ingest_dataset(
        tmp_path / "node", "sim", vcf=cohort.vcf, individuals=cohort.individuals,
        consent=cohort.consent,
    )  # fmt: skip
    assert summary.n_variants == cohort.n_variants
    assert summary.n_individuals == cohort.n_individuals
    ds = open_node(tmp_path / "node").dataset("sim")
    assert ds.info.assembly == "GRCh38" and ds.info.has_consent_terms
    con = ds.connect()
    ethnicity = dict(con.sql("select individual_id, ethnicity_label from individuals").fetchall())
    labels = {"AFR": "African", "EUR": "European", "EAS": "Asian"}
    assert ethnicity == {
        i: labels[p] for i, p in zip(cohort.sample_ids, cohort.populations, strict=True)
    }
    # consent terms survive the round trip, code by code
    _, rows = read_tsv(cohort.consent)
    expected = {(r[0], code) for r in rows for code in r[1].split(",")}
    assert set(con.sql("select individual_id, duo_id from consent").fetchall()) == expected
    # allele counts in the store equal those computed from the VCF with cyvcf2
    _, positions, haps, _ = read_vcf(cohort.vcf)
    ac = dict(con.sql("select pos, ac from variants").fetchall())
    assert ac == {int(p): int(n) for p, n in zip(positions, haps.sum(axis=1), strict=True)}
    # the measurement is the quantitative trait
    _, rows = read_tsv(cohort.traits)
    measures = dict(con.sql("select individual_id, value from measures").fetchall())
    assert np.allclose([measures[r[0]] for r in rows], [float(r[2]) for r in rows])


def test_ingest__phenopacket_folder_gives_the_same_phenotypes(
    cohort: CohortFiles, tmp_path: Path
) -> None:
    init_node(tmp_path / "node", name="sim-node", jurisdiction="NL")
    ingest_dataset(tmp_path / "node", "bff", vcf=cohort.vcf, individuals=cohort.individuals)
    ingest_dataset(tmp_path / "node", "pp", vcf=cohort.vcf, individuals=cohort.phenopackets)
    node = open_node(tmp_path / "node")
    query = "select individual_id, term_id, excluded from features order by all"
    bff = node.dataset("bff").connect().sql(query).fetchall()
    pp = node.dataset("pp").connect().sql(query).fetchall()
    assert bff == pp and any(excluded for _, _, excluded in pp)
    query = "select individual_id, term_id from diseases order by all"
    assert node.dataset("bff").connect().sql(query).fetchall() == (
        node.dataset("pp").connect().sql(query).fetchall()
    )
