"""Individuals (phenopackets, BFF, TSV) and consent (TSV, JSON, inheritance) in the store."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import date
from pathlib import Path

import numpy as np

from genomesh.core.consent import DataUseTerm
from genomesh.store import NodeStore, ingest_dataset
from genomesh.store.individuals import age_in_years, read_individuals
from tests.store.conftest import rec, write_vcf

RECORDS = [
    rec(1, 100, "A", "G", "0/1", "1/1", "0/0"),
    rec(1, 200, "C", "T,G", "1/2", "0/0", "./."),
    rec("chrX", 300, "G", "A", "1", "0/1", "0"),
]


def _packet(reference: Path, name: str, new_id: str) -> dict:
    data = json.loads((reference / "phenopacket-store" / "examples" / name).read_text())
    data["subject"]["id"] = new_id
    return data


def test_individuals__phenopacket_folder(node: NodeStore, reference: Path, tmp_path: Path):
    folder = tmp_path / "packets"
    folder.mkdir()
    names = ["PMID_10756346_Patient_B13.json", "PMID_10874631_II_2.json", "PMID_15266616_100.json"]
    for sample, name in zip(["S1", "S2", "S3"], names, strict=True):
        (folder / f"{sample}.json").write_text(json.dumps(_packet(reference, name, sample)))
    vcf = write_vcf(tmp_path / "v.vcf", RECORDS)
    ingest_dataset(node.path, "pp", vcf=vcf, individuals=folder)
    con = node.dataset("pp").connect()
    feats = con.execute(
        "SELECT term_id, excluded FROM features WHERE individual_id = 'S1' ORDER BY term_id"
    ).fetchall()
    assert ("HP:0001166", False) in feats and ("HP:0004970", True) in feats
    assert len(feats) == 18
    sex = con.execute("SELECT sex_id FROM individuals WHERE individual_id = 'S1'").fetchone()[0]
    assert sex == "NCIT:C20197"
    age = con.execute(
        "SELECT value, unit_id FROM measures WHERE individual_id='S1' AND assay_id='LOINC:30525-0'"
    ).fetchone()
    assert age == (13.0, "NCIT:C29848")
    disease = con.execute("SELECT term_id FROM diseases WHERE individual_id='S1'").fetchall()
    assert ("OMIM:154700",) in disease
    doc = json.loads(
        con.execute("SELECT document FROM individuals WHERE individual_id='S1'").fetchone()[0]
    )
    assert doc["sex"]["id"] == "NCIT:C20197" and doc["phenotypicFeatures"][0]["featureType"][
        "id"
    ].startswith("HP:")


def test_individuals__phenopacket_store_jsonl_parses(reference: Path, tmp_path: Path):
    path = tmp_path / "some.jsonl"
    with gzip.open(reference / "phenopacket-store" / "all_phenopackets.jsonl.gz", "rt") as fh:
        lines = [next(fh) for _ in range(50)]
    path.write_text("".join(lines))
    people = read_individuals(path)
    assert len(people) == 50
    assert all(p.features for p in people)


def test_individuals__tsv_columns(node: NodeStore, tmp_path: Path):
    tsv = tmp_path / "people.tsv"
    tsv.write_text(
        "# documented in docs/store.md\n"
        "individual_id\tsex\tethnicity_id\tethnicity_label\torigin_id\torigin_label\tage\tfeatures\t"
        "excluded_features\tdiseases\tinterventions\tmeasure:LOINC:35925-4@NCIT:C49671\n"
        "S1\tF\tNCIT:C41261\tWhite\tGAZ:00002641\tEngland\tP45Y6M\tHP:0001166|Arachnodactyly,HP:0000768\t"
        "HP:0004322\tMONDO:0007947|Marfan syndrome\tOPCS4:L46.3\t26.5\n"
        "S2\tmale\t\t\t\t\t61\t\t\t\t\t\n"
        "S3\tunknown\t\t\t\t\t\t\t\t\t\t\n"
    )
    vcf = write_vcf(tmp_path / "v.vcf", RECORDS)
    ingest_dataset(node.path, "t", vcf=vcf, individuals=tsv)
    con = node.dataset("t").connect()
    row = con.execute(
        "SELECT sex_label, ethnicity_label, origin_id FROM individuals WHERE individual_id='S1'"
    ).fetchone()
    assert row == ("female", "White", "GAZ:00002641")
    assert con.execute("SELECT count(*) FROM features WHERE excluded").fetchone()[0] == 1
    measures = dict(
        con.execute("SELECT assay_id, value FROM measures WHERE individual_id='S1'").fetchall()
    )
    assert measures == {"LOINC:30525-0": 45.5, "LOINC:35925-4": 26.5}
    assert con.execute("SELECT label FROM diseases").fetchall() == [("Marfan syndrome",)]


def test_age_in_years__iso_durations():
    assert age_in_years("P45Y6M") == 45.5
    assert age_in_years("61") == 61.0
    assert age_in_years("nonsense") is None


def test_consent__tsv_modifiers_and_inheritance(node: NodeStore, tmp_path: Path):
    consent = tmp_path / "consent.tsv"
    consent.write_text(
        "individual_id\tduo\tdiseases\tcountries\texpires\tinstitutions\tprojects\tusers\tmoratorium_until\n"
        "S1\tDUO:0000007,DUO:0000022\tMONDO:0007947\tGB,FR\t\t\t\t\t\n"
        "S2\tDUO:0000042,DUO:0000025,DUO:0000024\t\t\t2030-01-31\t\t\t\t2027-06-01\n"
    )
    vcf = write_vcf(tmp_path / "v.vcf", RECORDS)
    summary = ingest_dataset(
        node.path, "c", vcf=vcf, consent=consent, duo=[DataUseTerm(id="DUO:0000006")]
    )
    assert summary.info.has_consent_terms is True
    terms = node.dataset("c").consents()
    assert terms["S1"] == [
        DataUseTerm(id="DUO:0000007", diseases=("MONDO:0007947",)),
        DataUseTerm(id="DUO:0000022", countries=("GB", "FR")),
    ]
    assert terms["S2"] == [
        DataUseTerm(id="DUO:0000042"),
        DataUseTerm(id="DUO:0000025", expires=date(2030, 1, 31)),
        DataUseTerm(id="DUO:0000024", moratorium_until=date(2027, 6, 1)),
    ]
    assert terms["S3"] == [DataUseTerm(id="DUO:0000006")]  # inherits the dataset's terms
    con = node.dataset("c").connect()
    inherited = con.execute("SELECT individual_id FROM consent WHERE inherited").fetchall()
    assert inherited == [("S3",)]


def test_consent__json_dataset_terms(node: NodeStore, tmp_path: Path):
    consent = tmp_path / "consent.json"
    consent.write_text(
        json.dumps(
            {
                "dataset": [{"id": "DUO:0000042"}],
                "individuals": {"S2": [{"id": "DUO:0000007", "diseases": ["MONDO:0005015"]}]},
            }
        )
    )
    vcf = write_vcf(tmp_path / "v.vcf", RECORDS)
    summary = ingest_dataset(node.path, "j", vcf=vcf, consent=consent)
    assert summary.info.duo == [DataUseTerm(id="DUO:0000042")]
    terms = node.dataset("j").consents()
    assert terms["S1"] == [DataUseTerm(id="DUO:0000042")]
    assert terms["S2"] == [DataUseTerm(id="DUO:0000007", diseases=("MONDO:0005015",))]


def test_consent__none_recorded(node: NodeStore, tmp_path: Path):
    vcf = write_vcf(tmp_path / "v.vcf", RECORDS)
    summary = ingest_dataset(node.path, "n", vcf=vcf)
    assert summary.info.has_consent_terms is False
    assert node.dataset("n").consents() == {"S1": [], "S2": [], "S3": []}


def test_genotypes__streamed_chunks_and_haploid_calls(node: NodeStore, tmp_path: Path):
    vcf = write_vcf(tmp_path / "v.vcf.gz", RECORDS)  # bgzipped this time
    summary = ingest_dataset(node.path, "g", vcf=vcf)
    ds = node.dataset("g")
    assert summary.n_variants == 4
    chunks = list(ds.genotypes(chunk_size=2))
    dosages = np.concatenate([c.dosages for c in chunks])
    assert chunks[0].individual_ids == ["S1", "S2", "S3"]
    # 0/1 1/1 0/0 | 1/2 split: T -> 1 0 -1, G -> 1 0 -1 | chrX haploid 1, 0/1, 0
    assert dosages.tolist() == [[1, 2, 0], [1, 0, -1], [1, 0, -1], [1, 1, 0]]
    picked = list(ds.genotypes(individual_ids=["S3", "S1"], variant_indices=[3, 0]))
    assert [c.variant_indices.tolist() for c in picked] == [[0, 3]]
    assert picked[0].dosages.tolist() == [[0, 1], [0, 1]]
    con = ds.connect()
    x = con.execute(
        "SELECT chrom, ac, an, n_het, n_hom_alt FROM variants WHERE chrom='X'"
    ).fetchone()
    assert x == ("X", 2, 4, 1, 1)  # haploid alt counts as hom-alt; AN counts called alleles


def test_chromosome_names__chr_refseq_and_no_prefix_match(node: NodeStore, tmp_path: Path):
    header = (
        "##fileformat=VCFv4.2\n##contig=<ID=NC_000001.10>\n##contig=<ID=chr19>\n"
        '##contig=<ID=GL000191.1>\n##FORMAT=<ID=GT,Number=1,Type=String,Description="GT">\n'
    )
    records = [
        rec("NC_000001.10", 10, "A", "G", "0/1", "0/0", "0/0"),
        rec("chr19", 20, "A", "G", "0/1", "0/0", "0/0"),
        rec("GL000191.1", 30, "A", "G", "0/1", "0/0", "0/0"),
    ]
    vcf = write_vcf(tmp_path / "v.vcf", records, header=header)
    summary = ingest_dataset(node.path, "r", vcf=vcf)
    assert summary.info.assembly == "GRCh37"  # from the RefSeq accession's version
    assert summary.n_skipped_records == 1
    con = node.dataset("r").connect()
    assert con.execute("SELECT chrom FROM variants ORDER BY pos").fetchall() == [("1",), ("19",)]
    assert con.execute("SELECT count(*) FROM variants WHERE chrom = '1'").fetchone()[0] == 1


def test_zarr__readable_as_vcf_zarr(node: NodeStore, tmp_path: Path):
    import zarr

    vcf = write_vcf(tmp_path / "v.vcf", RECORDS)
    ingest_dataset(node.path, "z", vcf=vcf)
    root = zarr.open_group(str(node.dataset("z").zarr_path), mode="r")
    assert root["call_genotype"].dtype == np.int8 and root["call_genotype"].shape == (4, 3, 2)
    assert root["call_genotype"].attrs["_ARRAY_DIMENSIONS"] == ["variants", "samples", "ploidy"]
    assert root["variant_allele"][1].tolist() == ["C", "T"]
    assert root["call_genotype"][3].tolist() == [[1, -2], [0, 1], [0, -2]]
    contigs = root["contig_id"][:].tolist()
    assert [contigs[i] for i in root["variant_contig"][:]] == ["1", "1", "1", "X"]
    assert root["sample_id"][:].tolist() == ["S1", "S2", "S3"]
    shutil.rmtree(tmp_path / "v.vcf", ignore_errors=True)


def test_variants__region_position_gene_and_type_queries(node: NodeStore, synthetic_vcf: Path):
    ingest_dataset(node.path, "q", vcf=synthetic_vcf)
    ds = node.dataset("q")
    brca2 = ds.variants(gene="BRCA2")
    assert [(v["chrom"], v["pos"]) for v in brca2] == [("13", 32340301)]
    at = ds.variants(chrom="chr17", start=43045704 - 1, end=43045704)
    assert [v["variant_id"] for v in at] == ["17-43045704-G-A"]
    region = ds.variants(chrom="2", start=345675, end=345690)
    assert {v["pos"] for v in region} >= {345676, 345685, 345689}
    assert all(v["chrom"] == "2" for v in region)
    ins = ds.variants(variant_type="INS")
    assert ins and all(v["variant_type"] == "INS" for v in ins)
    # a 13-base deletion starting before the window overlaps it
    overlapping = ds.variants(chrom="2", start=345690, end=345691)
    assert any(v["pos"] < 345690 for v in overlapping)


def test_individuals__generated_documents_match_beacon_schema(
    node: NodeStore, reference: Path, tmp_path: Path
):
    import jsonschema

    packet = _packet(reference, "PMID_10756346_Patient_B13.json", "S1")
    (tmp_path / "p.json").write_text(json.dumps([packet]))
    vcf = write_vcf(tmp_path / "v.vcf", RECORDS)
    ingest_dataset(
        node.path, "d", vcf=vcf, individuals=tmp_path / "p.json", allow_unmatched_samples=True
    )
    schema = json.loads(
        (
            reference / "beacon-v2" / "deref_schemas" / "individuals" / "defaultSchema.json"
        ).read_text()
    )
    value = schema["properties"]["measures"]["items"]["properties"]["measurementValue"]
    value["oneOf"][1].setdefault("required", ["typedQuantities"])  # see test_real_data
    validator = jsonschema.Draft202012Validator(schema)
    con = node.dataset("d").connect()
    docs = [json.loads(d) for (d,) in con.execute("SELECT document FROM individuals").fetchall()]
    assert len(docs) == 3
    for doc in docs:
        validator.validate(doc)


def test_ploidy__haploid_records_first_then_diploid(node: NodeStore, tmp_path: Path):
    records = [
        rec("MT", 50, "A", "G", "1", "0", "."),
        rec(1, 100, "A", "G", "0/1", "1/1", "0/0"),
    ]
    vcf = write_vcf(tmp_path / "v.vcf", records)
    summary = ingest_dataset(node.path, "h", vcf=vcf)
    assert summary.info.ploidy == 2
    con = node.dataset("h").connect()
    rows = con.execute(
        "SELECT chrom, ac, an, n_hom_alt, n_missing FROM variants ORDER BY variant_index"
    ).fetchall()
    assert rows == [("MT", 1, 2, 1, 1), ("1", 3, 6, 1, 0)]


def test_consent__country_groups_lowercase_and_curies_accepted(node: NodeStore, tmp_path: Path):
    consent = tmp_path / "consent.tsv"
    consent.write_text(
        "individual_id\tduo\tdiseases\tcountries\n"
        "S1\tDUO:0000022,DUO:0000006\t\tEU,EEA\n"
        "S2\tDUO:0000007,DUO:0000022\tICD10:C50.9,OMIM:612164,Orphanet:558\tgb,NO\n"
        "S3\tDUO:0000018\t\t\n"
    )
    vcf = write_vcf(tmp_path / "v.vcf", RECORDS)
    ingest_dataset(node.path, "c", vcf=vcf, consent=consent)
    terms = node.dataset("c").consents()
    assert terms["S1"][0].countries == ("EU", "EEA")
    assert terms["S2"][0].diseases == ("ICD10:C50.9", "OMIM:612164", "Orphanet:558")
    assert terms["S3"] == [DataUseTerm(id="DUO:0000018")]  # NPUNCU: a parent, but a real code


def test_consent__country_groups_match_the_purpose_matcher():
    """Every group the purpose matcher expands is accepted, and nothing else is a group."""
    from genomesh.access.jurisdiction import expand_countries, load_profiles
    from genomesh.store.consent_rules import COUNTRY_GROUPS, ISO_3166_ALPHA2

    assert set(load_profiles().groups) == COUNTRY_GROUPS
    for group in COUNTRY_GROUPS:
        assert expand_countries([group]) <= ISO_3166_ALPHA2
