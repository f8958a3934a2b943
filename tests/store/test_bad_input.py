"""Bad input: a clear error naming file, line and field, a non-zero exit, and no change."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from genomesh.cli.main import main
from genomesh.core.errors import IngestError, UnknownTermError
from genomesh.store import NodeStore, ingest_dataset
from tests.store.conftest import rec, write_vcf

NO_INFO_HEADER = """##fileformat=VCFv4.2
##reference=GRCh38
##contig=<ID=1,length=248956422>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
"""

GOOD = [
    rec(1, 100, "A", "G", "0/1", "1/1", "0/0"),
    rec(1, 200, "C", "T,G", "1/2", "0/0", "./."),
    rec(2, 300, "GT", "G", "0|1", "0|0", "1|1"),
]


def _tree(path: Path) -> dict[str, str]:
    """Every file under the node with its content hash (to prove nothing changed)."""
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


@pytest.fixture()
def loaded(node: NodeStore, tmp_path: Path) -> NodeStore:
    """A node with a good dataset 'ds' already ingested."""
    vcf = write_vcf(tmp_path / "good.vcf", GOOD)
    ingest_dataset(node.path, "ds", vcf=vcf)
    return node


def _individuals(tmp_path: Path, ids=("S1", "S2", "S3"), features="HP:0001166") -> Path:
    path = tmp_path / "people.tsv"
    rows = ["individual_id\tsex\tfeatures"] + [f"{i}\tfemale\t{features}" for i in ids]
    path.write_text("\n".join(rows) + "\n")
    return path


CASES = {
    "malformed_line": (
        lambda t: {
            "vcf": write_vcf(t / "bad.vcf", [GOOD[0], rec(1, "abc", "A", "G", "0/1", "0/0", "0/0")])
        },
        IngestError,
        "bad.vcf",
        11,
        "POS",
    ),
    "bad_genotype": (
        lambda t: {
            "vcf": write_vcf(t / "bad.vcf", [GOOD[0], rec(1, 150, "A", "G", "0/x", "0/0", "0/0")])
        },
        IngestError,
        "bad.vcf",
        11,
        "GT",
    ),
    "allele_out_of_range": (
        lambda t: {
            "vcf": write_vcf(
                t / "bad.vcf", [GOOD[0], GOOD[1], rec(1, 250, "A", "G", "0/0", "0/3", "0/0")]
            )
        },
        IngestError,
        "bad.vcf",
        12,
        "GT",
    ),
    "sample_columns": (
        lambda t: {
            "vcf": write_vcf(
                t / "bad.vcf",
                [GOOD[0], "\t".join(["1", "150", ".", "A", "G", ".", "PASS", ".", "GT", "0/1"])],
            )
        },
        IngestError,
        "bad.vcf",
        11,
        "samples",
    ),
    "sample_missing_from_individuals": (
        lambda t: {
            "vcf": write_vcf(t / "v.vcf", GOOD),
            "individuals": _individuals(t, ("S1", "S2")),
        },
        IngestError,
        "v.vcf",
        9,
        "samples",
    ),
    "consent_unknown_person": (
        lambda t: {
            "vcf": write_vcf(t / "v.vcf", GOOD),
            "consent": _write(
                t / "consent.tsv", "individual_id\tduo\nS1\tDUO:0000042\nNOBODY\tDUO:0000042\n"
            ),
        },
        IngestError,
        "consent.tsv",
        3,
        "individual_id",
    ),
    "consent_unknown_duo": (
        lambda t: {
            "vcf": write_vcf(t / "v.vcf", GOOD),
            "consent": _write(
                t / "consent.tsv",
                "# consent\nindividual_id\tduo\nS1\tDUO:0000042\nS2\tDUO:0000999\n",
            ),
        },
        UnknownTermError,
        "consent.tsv",
        4,
        "duo",
    ),
    "unknown_hpo": (
        lambda t: {
            "vcf": write_vcf(t / "v.vcf", GOOD),
            "individuals": _individuals(t, features="HP:9999999"),
        },
        UnknownTermError,
        "people.tsv",
        2,
        "features",
    ),
    "bad_consent_date": (
        lambda t: {
            "vcf": write_vcf(t / "v.vcf", GOOD),
            "consent": _write(
                t / "consent.tsv", "individual_id\tduo\texpires\nS1\tDUO:0000025\t2030-13-45\n"
            ),
        },
        IngestError,
        "consent.tsv",
        2,
        "expires",
    ),
    "consent_country_not_iso": (
        lambda t: _consent(t, "S1\tDUO:0000022\t\tGB,Narnia"),
        IngestError,
        "consent.tsv",
        2,
        "countries",
    ),
    "consent_country_uk": (
        lambda t: _consent(t, "S1\tDUO:0000042\t\t\nS2\tDUO:0000022\t\tUK"),
        IngestError,
        "consent.tsv",
        3,
        "countries",
    ),
    "consent_disease_not_curie": (
        lambda t: _consent(t, "S1\tDUO:0000007\tMONDO:0005015,garbage\t"),
        IngestError,
        "consent.tsv",
        2,
        "diseases",
    ),
    "consent_ds_without_disease": (
        lambda t: _consent(t, "S1\tDUO:0000007\t\t"),
        IngestError,
        "consent.tsv",
        2,
        "diseases",
    ),
    "consent_gs_without_country": (
        lambda t: _consent(t, "S1\tDUO:0000042,DUO:0000022\t\t"),
        IngestError,
        "consent.tsv",
        2,
        "countries",
    ),
    "consent_modifier_without_its_code": (
        lambda t: _consent(t, "S1\tDUO:0000042\t\tGB"),
        IngestError,
        "consent.tsv",
        2,
        "countries",
    ),
    "consent_abstract_root": (
        lambda t: _consent(t, "S1\tDUO:0000001\t\t"),
        UnknownTermError,
        "consent.tsv",
        2,
        "duo",
    ),
    "consent_modifier_root": (
        lambda t: _consent(t, "S1\tDUO:0000042,DUO:0000017\t\t"),
        UnknownTermError,
        "consent.tsv",
        2,
        "duo",
    ),
    "consent_investigation_class": (
        lambda t: _consent(t, "S1\tDUO:0000031\t\t"),
        UnknownTermError,
        "consent.tsv",
        2,
        "duo",
    ),
    "consent_obsolete_code": (
        lambda t: _consent(t, "S1\tDUO:0000005\t\t"),
        UnknownTermError,
        "consent.tsv",
        2,
        "duo",
    ),
    "consent_short_row": (
        lambda t: _consent(t, "S1\tDUO:0000042\t\t\nS2\tDUO:0000042"),
        IngestError,
        "consent.tsv",
        3,
        "diseases",
    ),
    "consent_long_row": (
        lambda t: _consent(t, "S1\tDUO:0000042\t\t\textra"),
        IngestError,
        "consent.tsv",
        2,
        "countries",
    ),
    "consent_bad_moratorium_date": (
        lambda t: {
            "vcf": write_vcf(t / "v.vcf", GOOD),
            "consent": _write(
                t / "consent.tsv",
                "individual_id\tduo\tmoratorium_until\nS1\tDUO:0000024\t31/01/2030\n",
            ),
        },
        IngestError,
        "consent.tsv",
        2,
        "moratorium_until",
    ),
    "consent_json_country": (
        lambda t: _consent_json(
            t, {"individuals": {"S2": [{"id": "DUO:0000022", "countries": ["XX"]}]}}
        ),
        IngestError,
        "consent.json",
        None,
        "individuals.S2[0].countries",
    ),
    "consent_json_ds_without_disease": (
        lambda t: _consent_json(t, {"dataset": [{"id": "DUO:0000042"}, {"id": "DUO:0000007"}]}),
        IngestError,
        "consent.json",
        None,
        "dataset[1].diseases",
    ),
    "consent_json_disease_not_curie": (
        lambda t: _consent_json(
            t, {"individuals": {"S1": [{"id": "DUO:0000007", "diseases": ["breast cancer"]}]}}
        ),
        IngestError,
        "consent.json",
        None,
        "individuals.S1[0].diseases",
    ),
    "consent_json_root": (
        lambda t: _consent_json(t, {"dataset": ["DUO:0000001"]}),
        UnknownTermError,
        "consent.json",
        None,
        "dataset[0].id",
    ),
    "consent_json_bad_date": (
        lambda t: _consent_json(
            t, {"individuals": {"S1": [{"id": "DUO:0000025", "expires": "next year"}]}}
        ),
        IngestError,
        "consent.json",
        None,
        "individuals.S1[0].expires",
    ),
    # F20: malformed records that crashed with a traceback or were stored silently
    "no_gt_in_format": (
        lambda t: {
            "vcf": write_vcf(
                t / "bad.vcf",
                [
                    GOOD[0],
                    "\t".join(["1", "150", ".", "A", "G", ".", "PASS", ".", "DP", "5", "6", "7"]),
                ],
            )
        },
        IngestError,
        "bad.vcf",
        11,
        "FORMAT",
    ),
    "sv_end_not_integer_without_header": (
        lambda t: {
            "vcf": write_vcf(
                t / "bad.vcf",
                [rec(1, 100, "A", "<DEL>", "0/1", "0/0", "0/0", info="END=abc")],
                header=NO_INFO_HEADER,
            )
        },
        IngestError,
        "bad.vcf",
        6,
        "INFO/END",
    ),
    "sv_end_before_pos": (
        lambda t: {
            "vcf": write_vcf(
                t / "bad.vcf",
                [GOOD[0], rec(1, 100, "A", "<DEL>", "0/1", "0/0", "0/0", info="SVTYPE=DEL;END=50")],
            )
        },
        IngestError,
        "bad.vcf",
        11,
        "INFO/END",
    ),
    "alt_not_a_base": (
        lambda t: {
            "vcf": write_vcf(t / "bad.vcf", [GOOD[0], rec(1, 150, "A", "Z", "0/1", "0/0", "0/0")])
        },
        IngestError,
        "bad.vcf",
        11,
        "ALT",
    ),
    "alt_bad_breakend": (
        lambda t: {
            "vcf": write_vcf(t / "bad.vcf", [rec(1, 150, "A", "A[2300[", "0/1", "0/0", "0/0")])
        },
        IngestError,
        "bad.vcf",
        10,
        "ALT",
    ),
    "ref_iupac": (
        lambda t: {"vcf": write_vcf(t / "bad.vcf", [rec(1, 150, "R", "G", "0/1", "0/0", "0/0")])},
        IngestError,
        "bad.vcf",
        10,
        "REF",
    ),
    "pos_zero": (
        lambda t: {
            "vcf": write_vcf(t / "bad.vcf", [GOOD[0], rec(1, 0, "A", "G", "0/1", "0/0", "0/0")])
        },
        IngestError,
        "bad.vcf",
        11,
        "POS",
    ),
    "pos_beyond_contig": (
        lambda t: {
            "vcf": write_vcf(t / "bad.vcf", [rec(2, 242193530, "A", "G", "0/1", "0/0", "0/0")])
        },
        IngestError,
        "bad.vcf",
        10,
        "POS",
    ),
    "duplicate_sample_names": (
        lambda t: {"vcf": write_vcf(t / "bad.vcf", GOOD, samples=("S1", "S2", "S1"))},
        IngestError,
        "bad.vcf",
        9,
        "samples",
    ),
    "ploidy_five_first_record": (
        lambda t: {
            "vcf": write_vcf(
                t / "bad.vcf", [rec(1, 150, "A", "G", "0/1/1/1/1", "0/0/0/0/0", "0/0/0/0/0")]
            )
        },
        IngestError,
        "bad.vcf",
        10,
        "GT",
    ),
    # F21: implausible individuals values
    "age_negative": (
        lambda t: _people(t, "age", ["61", "-5", "40"]),
        IngestError,
        "people.tsv",
        3,
        "age",
    ),
    "age_over_150": (
        lambda t: _people(t, "age", ["61", "P500Y", "40"]),
        IngestError,
        "people.tsv",
        3,
        "age",
    ),
    "feature_free_text": (
        lambda t: _people(t, "features", ["HP:0001166", "seizure", ""]),
        IngestError,
        "people.tsv",
        3,
        "features",
    ),
    "disease_free_text": (
        lambda t: _people(t, "diseases", ["", "", "breast cancer|Breast cancer"]),
        IngestError,
        "people.tsv",
        4,
        "diseases",
    ),
    "measure_not_finite": (
        lambda t: _people(t, "measure:LOINC:35925-4@NCIT:C49671", ["22.5", "nan", ""]),
        IngestError,
        "people.tsv",
        3,
        "measure:LOINC:35925-4@NCIT:C49671",
    ),
    "phenopacket_age_over_150": (
        lambda t: {
            "vcf": write_vcf(t / "v.vcf", GOOD),
            "individuals": _write(
                t / "p.json",
                json.dumps(
                    {
                        "subject": {
                            "id": "S1",
                            "timeAtLastEncounter": {"age": {"iso8601duration": "P200Y"}},
                        }
                    }
                ),
            ),
            "allow_unmatched_samples": True,
        },
        IngestError,
        "p.json",
        None,
        "subject.timeAtLastEncounter",
    ),
    "bff_feature_free_text": (
        lambda t: {
            "vcf": write_vcf(t / "v.vcf", GOOD),
            "individuals": _write(
                t / "individuals.json",
                json.dumps(
                    [
                        {"id": i, "sex": {"id": "NCIT:C16576", "label": "female"}}
                        for i in ("S1", "S2")
                    ]
                    + [
                        {
                            "id": "S3",
                            "sex": {"id": "NCIT:C16576", "label": "female"},
                            "phenotypicFeatures": [{"featureType": {"id": "seizure"}}],
                        }
                    ]
                ),
            ),
        },
        IngestError,
        "individuals.json",
        None,
        "phenotypicFeatures",
    ),
    "bad_phenopacket": (
        lambda t: {
            "vcf": write_vcf(t / "v.vcf", GOOD),
            "individuals": _write(
                t / "p.json", json.dumps({"subject": {"id": "S1", "sex": "MAYBE"}})
            ),
        },
        IngestError,
        "p.json",
        None,
        None,
    ),
}


def test_ingest__sv_end_without_info_header_is_read_as_integer(node: NodeStore, tmp_path: Path):
    """F20: without ##INFO=<ID=END> htslib returns END as a string; it is coerced, not a crash."""
    vcf = write_vcf(
        tmp_path / "sv.vcf",
        [rec(1, 100, "A", "<DEL>", "0/1", "0/0", "0/0", info="SVTYPE=DEL;END=500")],
        header=NO_INFO_HEADER,
    )
    ingest_dataset(node.path, "sv", vcf=vcf)
    con = node.dataset("sv").connect()
    rows = con.execute('SELECT variant_type, start, "end" FROM variants').fetchall()
    assert rows == [("DEL", 99, 500)]


def test_ingest__truncated_bgzip_named_as_such(loaded: NodeStore, tmp_path: Path):
    """A copy cut short (disk full, interrupted transfer) says so, not 'malformed record'."""
    records = [rec(1, 100 + 10 * i, "A", "G", "0/1", "0/0", "1/1") for i in range(20000)]
    data = write_vcf(tmp_path / "full.vcf.gz", records).read_bytes()
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(data[: len(data) // 2])
    before = _tree(loaded.path)
    with pytest.raises(IngestError, match="truncated or corrupt") as info:
        ingest_dataset(loaded.path, "ds", vcf=cut)
    assert info.value.field == "file" and info.value.line is not None
    assert _tree(loaded.path) == before


def test_ingest__lowercase_bases_are_stored_upper_case(node: NodeStore, tmp_path: Path):
    """VCF bases are case-insensitive; stored upper-case so a Beacon query for A>G finds them."""
    vcf = write_vcf(tmp_path / "lc.vcf", [rec(1, 100, "a", "g", "0/1", "0/0", "0/0")])
    ingest_dataset(node.path, "lc", vcf=vcf)
    con = node.dataset("lc").connect()
    assert con.execute("SELECT variant_id, ref, alt FROM variants").fetchall() == [
        ("1-100-A-G", "A", "G")
    ]


def _people(t: Path, column: str, cells: list[str]) -> dict[str, Path]:
    """A VCF and an individuals TSV (S1..S3) with one extra column holding `cells`."""
    rows = [f"individual_id\tsex\t{column}"]
    rows += [f"S{i}\tfemale\t{cell}" for i, cell in enumerate(cells, 1)]
    return {
        "vcf": write_vcf(t / "v.vcf", GOOD),
        "individuals": _write(t / "people.tsv", "\n".join(rows) + "\n"),
    }


def test_ingest__plausible_individuals_values_kept(node: NodeStore, tmp_path: Path):
    """F21 limits leave real values alone: newborn (0), 0.5 years as P6M, 105, NCIT/OMIM codes."""
    kwargs = _people(tmp_path, "age", ["0", "P6M", "105"])
    ingest_dataset(node.path, "ok", **kwargs)
    con = node.dataset("ok").connect()
    ages = con.execute(
        "SELECT individual_id, value FROM measures ORDER BY individual_id"
    ).fetchall()
    assert ages == [("S1", 0.0), ("S2", 0.5), ("S3", 105.0)]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _consent(t: Path, rows: str) -> dict[str, Path]:
    """A VCF and a consent TSV with columns individual_id, duo, diseases, countries."""
    text = "individual_id\tduo\tdiseases\tcountries\n" + rows + "\n"
    return {"vcf": write_vcf(t / "v.vcf", GOOD), "consent": _write(t / "consent.tsv", text)}


def _consent_json(t: Path, data: dict) -> dict[str, Path]:
    return {
        "vcf": write_vcf(t / "v.vcf", GOOD),
        "consent": _write(t / "consent.json", json.dumps(data)),
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_ingest__bad_input_names_problem_and_changes_nothing(
    loaded: NodeStore, tmp_path: Path, case: str
):
    make, error, file_name, line, field = CASES[case]
    before = _tree(loaded.path)
    kwargs = make(tmp_path)
    with pytest.raises(error) as info:
        ingest_dataset(loaded.path, "ds", **kwargs)
    exc = info.value
    assert exc.file is not None and Path(exc.file).name == file_name, exc.describe()
    assert exc.line == line, exc.describe()
    if field is not None:
        assert exc.field == field, exc.describe()
    assert _tree(loaded.path) == before
    assert loaded.dataset("ds").info.n_variants == 4


@pytest.mark.parametrize(
    "case", ["bad_genotype", "consent_unknown_duo", "sample_missing_from_individuals"]
)
def test_cli_ingest__bad_input_exits_non_zero_with_location(
    loaded: NodeStore, tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
):
    make, _, file_name, line, field = CASES[case]
    before = _tree(loaded.path)
    kwargs = make(tmp_path)
    argv = ["node", "ingest", str(loaded.path), "--dataset", "ds", "--replace"]
    for key, value in kwargs.items():
        argv += [f"--{key}", str(value)]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert f"{file_name}:{line}" in err and repr(field) in err
    assert _tree(loaded.path) == before


def test_ingest__unmatched_samples_allowed_with_flag(loaded: NodeStore, tmp_path: Path):
    vcf = write_vcf(tmp_path / "v.vcf", GOOD)
    summary = ingest_dataset(
        loaded.path, "ds", vcf=vcf, individuals=_individuals(tmp_path, ("S1", "S2", "X9")),
        allow_unmatched_samples=True,
    )  # fmt: skip
    assert summary.n_individuals == 4  # S1, S2, X9 (no genotypes) and S3 (no phenotypes)
    con = loaded.dataset("ds").connect()
    rows = dict(con.execute("SELECT individual_id, sample_index FROM individuals").fetchall())
    assert rows == {"S1": 0, "S2": 1, "X9": None, "S3": 2}


def test_ingest__unknown_assembly_needs_flag(node: NodeStore, tmp_path: Path):
    header = '##fileformat=VCFv4.2\n##contig=<ID=1>\n##FORMAT=<ID=GT,Number=1,Type=String,Description="GT">\n'
    vcf = write_vcf(tmp_path / "noasm.vcf", GOOD[:1], header=header)
    with pytest.raises(IngestError, match="pass --assembly") as info:
        ingest_dataset(node.path, "x", vcf=vcf)
    assert info.value.field == "##reference"
    assert node.dataset_ids() == []
    assert ingest_dataset(node.path, "x", vcf=vcf, assembly="hg19").info.assembly == "GRCh37"


def test_ingest__unknown_duo_option(node: NodeStore, tmp_path: Path):
    from genomesh.core.consent import DataUseTerm

    vcf = write_vcf(tmp_path / "v.vcf", GOOD)
    with pytest.raises(UnknownTermError, match="DUO:0000998") as info:
        ingest_dataset(node.path, "x", vcf=vcf, duo=[DataUseTerm(id="DUO:0000998")])
    assert info.value.field == "--duo"
    assert node.dataset_ids() == []


@pytest.mark.parametrize(
    ("codes", "error", "message"),
    [
        ("DUO:0000001", UnknownTermError, "not a usable consent term"),
        ("DUO:0000042,DUO:0000038", UnknownTermError, "investigation"),
        ("DUO:0000007", IngestError, "needs at least one disease.*consent JSON"),
        ("DUO:0000042,DUO:0000025", IngestError, "needs an end date"),
    ],
)
def test_ingest__duo_option_same_rules_as_consent(
    node: NodeStore, tmp_path: Path, codes: str, error: type, message: str
):
    from genomesh.store.consent import parse_duo_option

    vcf = write_vcf(tmp_path / "v.vcf", GOOD)
    with pytest.raises(error, match=message) as info:
        ingest_dataset(node.path, "x", vcf=vcf, duo=parse_duo_option(codes))
    assert info.value.field == "--duo"
    assert node.dataset_ids() == []


def test_cli_ingest__duo_option_root_code_exits_non_zero(
    loaded: NodeStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    before = _tree(loaded.path)
    vcf = write_vcf(tmp_path / "v.vcf", GOOD)
    code = main(["node", "ingest", str(loaded.path), "--dataset", "ds", "--vcf", str(vcf),
                 "--duo", "DUO:0000042,DUO:0000017", "--replace"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "DUO:0000017" in err and "'--duo'" in err
    assert _tree(loaded.path) == before
