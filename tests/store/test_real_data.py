"""Real data: CINECA UK1 against its independent answer key, 1000 Genomes, the EGA edge cases."""

from __future__ import annotations

import gzip
import json
import subprocess
from pathlib import Path

import jsonschema
import pytest

from genomesh.store import NodeStore, cineca_attribution, ingest_dataset

CINECA_ID = "CINECA_synthetic_cohort_EUROPE_UK1"


def test_cineca__carriers_equal_answer_key_for_every_variant(cineca_node: NodeStore, cineca: Path):
    ds = cineca_node.dataset(CINECA_ID)
    with gzip.open(cineca / "vcf" / "genomicVariationsVcf.expected.json.gz") as fh:
        expected = json.load(fh)
    assert len(expected) == 4998
    con = ds.connect()
    got: dict[tuple[int, str, str], set[tuple[str, int]]] = {}
    rows = con.execute(
        "SELECT v.pos, v.ref, v.alt, i.individual_id, c.dosage FROM carriers c "
        "JOIN variants v USING (variant_index) JOIN individuals i USING (sample_index)"
    ).fetchall()
    for pos, ref, alt, person, dosage in rows:
        got.setdefault((pos, ref, alt), set()).add((person, dosage))
    keys = {tuple(r) for r in con.execute("SELECT pos, ref, alt FROM variants").fetchall()}
    zygosity = {"0/1": 1, "1/0": 1, "1/1": 2}
    for doc in expected:
        var = doc["variation"]
        pos = doc["_position"]["startInteger"] + 1
        key = (pos, var["referenceBases"], var["alternateBases"])
        assert key in keys, key
        want = {(c["biosampleId"], zygosity[c["zygosity"]["label"]]) for c in doc["caseLevelData"]}
        assert got.get(key, set()) == want, key


def test_cineca__dataset_info_and_attribution(cineca_node: NodeStore):
    info = cineca_node.dataset(CINECA_ID).info
    assert info.assembly == "GRCh37"
    assert (info.n_samples, info.n_individuals, info.n_variants) == (2504, 2504, 5002)
    assert info.attribution == cineca_attribution()
    assert "CINECA project (funding: EC H2020 grant 825775)" in info.attribution
    assert info.has_consent_terms is False and info.duo == []


def test_cineca__symbolic_copy_number_alleles_and_annotations(cineca_node: NodeStore):
    con = cineca_node.dataset(CINECA_ID).connect()
    cnv = con.execute(
        "SELECT alt, variant_type FROM variants WHERE pos = 16050654 ORDER BY alt"
    ).fetchall()
    assert cnv and all(t == "CNV" for _, t in cnv)
    genes, aa = con.execute(
        "SELECT genes, aa_changes FROM variants WHERE pos = 17566000"
    ).fetchone()
    assert genes == ["IL17RA"] and aa == ["p.Pro7Ser"]
    counts = dict(con.execute("SELECT variant_type, count(*) FROM variants GROUP BY 1").fetchall())
    assert counts["SNV"] == 4859 and counts["INS"] + counts["DEL"] == 139


def test_cineca__individual_documents_validate_against_beacon_schema(
    cineca_node: NodeStore, reference: Path
):
    schema = json.loads(
        (
            reference / "beacon-v2" / "deref_schemas" / "individuals" / "defaultSchema.json"
        ).read_text()
    )
    # The released schema's measurementValue is oneOf [Value, ComplexValue] and ComplexValue
    # requires nothing, so every plain Quantity matches both branches and fails `oneOf`. Make
    # ComplexValue require its typedQuantities (what it means) so real measures can validate.
    value = schema["properties"]["measures"]["items"]["properties"]["measurementValue"]
    value["oneOf"][1].setdefault("required", ["typedQuantities"])
    validator = jsonschema.Draft202012Validator(schema)
    con = cineca_node.dataset(CINECA_ID).connect()
    docs = [
        json.loads(d)
        for (d,) in con.execute("SELECT document FROM individuals LIMIT 200").fetchall()
    ]
    for doc in docs:
        validator.validate(doc)
    sex = dict(con.execute("SELECT sex_label, count(*) FROM individuals GROUP BY 1").fetchall())
    assert set(sex) <= {"male", "female"} and sum(sex.values()) == 2504
    diseases = con.execute("SELECT count(DISTINCT individual_id) FROM diseases").fetchone()[0]
    assert diseases == 1705
    bmi = con.execute(
        "SELECT value, unit_id FROM measures WHERE individual_id='HG00096' AND assay_id='LOINC:35925-4'"
    ).fetchone()
    assert bmi == (pytest.approx(26.63838307), "NCIT:C49671")


def _bcftools_counts(vcf: Path, *, sort: bool = False) -> list[tuple[str, int, int, int, int]]:
    data = None
    if sort:
        data = subprocess.run(
            ["bcftools", "sort", "-Ou", str(vcf)], check=True, capture_output=True
        ).stdout
        # its INFO counts are inconsistent (which bcftools norm refuses); GT is all we compare
        data = subprocess.run(
            ["bcftools", "annotate", "-x", "INFO", "-Ou", "-"],
            input=data,
            check=True,
            capture_output=True,
        ).stdout
    split = subprocess.run(
        ["bcftools", "norm", "-m", "-any", "-Ou", "-" if sort else str(vcf)],
        input=data, check=True, capture_output=True,
    )  # fmt: skip
    filled = subprocess.run(
        ["bcftools", "+fill-tags", "-Ou", "-", "--", "-t", "AC,AN,AC_Het,AC_Hom"],
        input=split.stdout, check=True, capture_output=True,
    )  # fmt: skip
    out = subprocess.run(
        ["bcftools", "query", "-f", "%CHROM\t%ALT\t%AC\t%AN\t%AC_Het\t%AC_Hom\n", "-"],
        input=filled.stdout, check=True, capture_output=True,
    )  # fmt: skip
    rows = []
    for line in out.stdout.decode().splitlines():
        chrom, alt, ac, an, het, hom = line.split("\t")
        if alt != "*":
            rows.append((chrom, int(ac), int(an), int(het), int(hom) // 2))
    return rows


def test_1kg_phase3__plain_gzip_counts_match_bcftools(node: NodeStore, reference: Path):
    vcf = reference / "1kg-phase3-subset" / "1KG_phase3_subset_chr22.vcf.gz"
    summary = ingest_dataset(node.path, "kg22", vcf=vcf)
    con = node.dataset("kg22").connect()
    ours = con.execute(
        "SELECT chrom, ac, an, n_het, n_hom_alt FROM variants ORDER BY variant_index"
    ).fetchall()
    assert summary.n_records == 1120 and summary.info.assembly == "GRCh37"
    assert len(ours) == summary.n_variants > 1120  # multi-allelic sites were split
    assert [tuple(r) for r in ours] == _bcftools_counts(vcf)
    # a multi-allelic record split into its alleles, calls of the other ALT counted as REF
    rows = con.execute(
        "SELECT pos, ref, alt, variant_type FROM variants WHERE pos = 22085620 ORDER BY alt"
    ).fetchall()
    assert rows == [
        (22085620, "CA", "C", "DEL"),
        (22085620, "C", "CA", "INS"),
        (22085620, "C", "CAA", "INS"),
    ]


def test_1kg_phase3__two_chromosomes_in_one_dataset(
    node: NodeStore, reference: Path, tmp_path: Path
):
    base = reference / "1kg-phase3-subset"
    merged = tmp_path / "chr21_22.vcf.gz"
    subprocess.run(
        ["bcftools", "concat", "-Oz", "-o", str(merged), str(base / "1KG_phase3_subset_chr21.vcf.gz"),
         str(base / "1KG_phase3_subset_chr22.vcf.gz")],
        check=True, capture_output=True,
    )  # fmt: skip
    ingest_dataset(node.path, "kg", vcf=merged)
    con = node.dataset("kg").connect()
    per_chrom = dict(con.execute("SELECT chrom, count(*) FROM variants GROUP BY 1").fetchall())
    assert set(per_chrom) == {"21", "22"}
    assert con.execute("SELECT count(*) FROM variants WHERE chrom = '2'").fetchone()[0] == 0


def test_synthetic_edge_cases__split_trim_and_star_alleles(node: NodeStore, synthetic_vcf: Path):
    summary = ingest_dataset(node.path, "edge", vcf=synthetic_vcf)
    ds = node.dataset("edge")
    con = ds.connect()
    assert summary.info.assembly == "GRCh38"  # from ##contig assembly=hg38
    assert summary.n_records == 44 and summary.n_variants == 45
    # T>A,* : the spanning-deletion allele is not a variant of its own
    star = con.execute("SELECT ref, alt FROM variants WHERE pos = 455678 ORDER BY ref").fetchall()
    assert star == [("ATAGCT", "A"), ("T", "A")]
    assert con.execute("SELECT count(*) FROM variants WHERE alt = '*'").fetchone()[0] == 0
    # AGCCAT>G,AGCTAT: the second ALT trims to an SNV three bases on
    split = con.execute(
        "SELECT pos, ref, alt, variant_type, ac FROM variants WHERE pos BETWEEN 489900 AND 489903 ORDER BY pos"
    ).fetchall()
    assert split == [(489900, "AGCCAT", "G", "INDEL", 6), (489903, "C", "T", "SNV", 0)]
    # INFO is not trusted: AC_hom=114 in INFO, but counts come from GT
    n_hom, an = con.execute("SELECT n_hom_alt, an FROM variants WHERE pos = 987654").fetchone()
    assert an == 40 and n_hom <= 20
    genes = con.execute("SELECT genes, consequences FROM variants WHERE pos = 32340301").fetchone()
    assert genes == (["BRCA2"], ["frameshift_variant"])
    brca = con.execute(
        "SELECT count(*) FROM variants WHERE list_contains(genes, 'BRCA1')"
    ).fetchone()[0]
    assert brca == 1
    # sorted by chromosome order then position, variant_index still the Zarr row
    chroms = [c for (c,) in con.execute("SELECT chrom FROM variants").fetchall()]
    order = ["1", "2", "6", "7", "8", "13", "17", "18", "19", "21", "X"]
    assert [c for i, c in enumerate(chroms) if i == 0 or chroms[i - 1] != c] == order
    assert sorted(ds.sample_ids) == sorted(f"SAMPLE{i}" for i in range(1, 21))
    for vi, ac in con.execute("SELECT variant_index, ac FROM variants").fetchall():
        assert sum(d for _, d in ds.carriers(vi)) == ac


def test_synthetic_edge_cases__counts_match_bcftools(node: NodeStore, synthetic_vcf: Path):
    ingest_dataset(node.path, "edge", vcf=synthetic_vcf)
    con = node.dataset("edge").connect()
    ours = con.execute("SELECT chrom, ac, an, n_het, n_hom_alt FROM variants").fetchall()
    assert sorted(tuple(r) for r in ours) == sorted(_bcftools_counts(synthetic_vcf, sort=True))
