"""Options, bad input, the CLI, the demo presets and the optional msprime dependency."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from genomesh.cli.main import main
from genomesh.core.errors import ConflictError, InvalidInputError
from genomesh.simulate import SimulationDependencyError, simulate_cohort
from genomesh.simulate.consent import parse_mix
from genomesh.simulate.demography import require_msprime
from genomesh.simulate.presets import DEMO_COHORTS
from tests.simulate.conftest import read_tsv, read_vcf


def test_parse_mix__named_and_explicit_profiles() -> None:
    profiles = parse_mix("GRU=60, HMB+NPU=30, DS[MONDO:0005148|MONDO:0005010]=10, GRU+GS[NL|BE]=5")
    assert [p.label() for p in profiles] == [
        "GRU", "HMB+NPU", "DS[MONDO:0005148|MONDO:0005010]", "GRU+GS[NL|BE]",
    ]  # fmt: skip
    assert [p.weight for p in profiles] == [60, 30, 10, 5]
    assert parse_mix("DUO:0000042=1")[0].codes == ("GRU",)
    for name in ("default", "hospital", "biobank", "rare-disease"):
        assert parse_mix(name)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("FOO=3", "unknown DUO code 'FOO'"),
        ("GRU", "expected PROFILE=WEIGHT"),
        ("HMB[x]=1", "HMB takes no values"),
        ("HMB+IS=1", "IS needs values"),
        ("GRU=0", "no profile with a positive weight"),
        ("DUO:0000999=1", "unknown DUO code 'DUO:0000999'"),
    ],
)
def test_parse_mix__bad_specs_name_the_problem(spec: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as info:
        parse_mix(spec)
    assert info.value.field == "duo_mix"


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        ({"populations": ("AFR", "MARS")}, "populations", "unknown population 'MARS'"),
        ({"populations": ("EUR", "CEU")}, "populations", "each population once"),
        ({"length": 60_000_000}, "length", "does not fit chr22"),
        ({"chromosome": "X"}, "chromosome", "not an autosome"),
        ({"assembly": "T2T"}, "assembly", "unknown assembly"),
        ({"country": "Netherlands"}, "country", "ISO 3166"),
        ({"disease": "flu"}, "disease", "unknown disease 'flu'"),
        ({"n_individuals": 1}, "n_individuals", "at least 2"),
        ({"seed": -1}, "seed", "non-negative integer"),
        ({"id_prefix": "a b"}, "id_prefix", "letters, digits"),
    ],
)
def test_simulate_cohort__bad_options_fail_before_writing(
    tmp_path: Path, options: dict, field: str, message: str
) -> None:
    kwargs = {"n_individuals": 10, "length": 20_000, "seed": 1, **options}
    with pytest.raises(InvalidInputError, match=message) as info:
        simulate_cohort(tmp_path / "out", **kwargs)
    assert info.value.field == field
    assert not (tmp_path / "out").exists()


def test_simulate_cohort__refuses_to_overwrite_a_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(ConflictError, match="not empty"):
        simulate_cohort(tmp_path, n_individuals=10, length=20_000)
    with pytest.raises(ConflictError, match="not a simulated cohort"):
        simulate_cohort(tmp_path, n_individuals=10, length=20_000, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_simulate_cohort__overwrite_replaces_an_earlier_cohort(tmp_path: Path) -> None:
    simulate_cohort(tmp_path / "c", n_individuals=12, length=20_000, seed=1)
    files = simulate_cohort(tmp_path / "c", n_individuals=8, length=20_000, seed=2, overwrite=True)
    assert len(list(files.phenopackets.glob("*.json"))) == 8
    assert json.loads(files.manifest.read_text())["seed"] == 2


def test_missing_msprime__clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "msprime", None)  # makes `import msprime` fail
    with pytest.raises(SimulationDependencyError, match=r"pip install 'genomesh\[simulate\]'"):
        require_msprime()


def test_cli__simulate_writes_a_cohort_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli"
    argv = ["simulate", str(out), "--individuals", "30", "--populations", "EUR:2,AFR:1",
            "--length", "50000", "--seed", "9", "--country", "gb", "--duo-mix", "GRU+GS=1",
            "--prevalence", "0.2"]  # fmt: skip
    assert main(argv) == 0
    assert "simulated cohort" in capsys.readouterr().out
    _, rows = read_tsv(out / "consent.tsv")
    assert {r[1] for r in rows} == {"DUO:0000042,DUO:0000022"} and {r[3] for r in rows} == {"GB"}
    truth = json.loads((out / "truth.json").read_text())
    assert truth["seed"] == 9 and truth["binary"]["prevalence"] == 0.2
    assert truth["parameters"]["populations"] == {"EUR": 20, "AFR": 10}
    # a second run into the same folder needs --force
    assert main(argv) == ConflictError.exit_code
    assert main([*argv, "--force"]) == 0


def test_cli__bad_input_exits_2_and_names_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", str(tmp_path / "x"), "-n", "10", "--populations", "AFR:lots"]) == 2
    assert "--populations" in capsys.readouterr().err
    assert main(["simulate", str(tmp_path / "x"), "--preset", "mars"]) == 2
    assert not (tmp_path / "x").exists()


def test_presets__three_demo_cohorts_differ_as_documented(tmp_path: Path) -> None:
    assert set(DEMO_COHORTS) == {"nl-hospital", "gb-biobank", "au-rare-disease"}
    assert {p.country for p in DEMO_COHORTS.values()} == {"NL", "GB", "AU"}
    assert len({p.n_individuals for p in DEMO_COHORTS.values()}) == 3
    for preset in DEMO_COHORTS.values():
        files = preset.simulate(tmp_path / preset.key, n_individuals=40, length=50_000)
        assert files.country == preset.country
        assert files.sample_ids[0].startswith(preset.id_prefix)
        truth = files.read_truth()
        assert truth["parameters"]["country"] == preset.country
        disease_id = truth["binary"]["disease"]["id"]
        for term in preset.dataset_terms():
            if term.id == "DUO:0000007":
                assert term.diseases == (disease_id,)
        _, rows = read_tsv(files.consent)
        ds_diseases = {r[2] for r in rows if "DUO:0000007" in r[1].split(",")}
        assert ds_diseases <= {disease_id}
    assert DEMO_COHORTS["au-rare-disease"].disease == "dee4"


def test_docs__python_example_runs(tmp_path: Path) -> None:
    text = (Path(__file__).parents[2] / "docs" / "simulate.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
    example = next(b for b in blocks if "simulate_cohort(" in b)
    example = example.replace("/tmp/genomesh-doc-cohort", str(tmp_path / "doc"))
    namespace: dict = {}
    exec(compile(example, "docs/simulate.md", "exec"), namespace)
    assert namespace["files"].n_individuals == 200
    assert (tmp_path / "doc" / "manifest.json").is_file()


def test_gzip_fallback__without_bgzip_a_plain_gzip_vcf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil as _shutil

    import genomesh.simulate.genotypes as genotypes

    real_which = _shutil.which
    monkeypatch.setattr(
        genotypes.shutil, "which", lambda name: None if name == "bgzip" else real_which(name)
    )
    a = simulate_cohort(tmp_path / "a", n_individuals=10, length=20_000, seed=4)
    b = simulate_cohort(tmp_path / "b", n_individuals=10, length=20_000, seed=4)
    assert a.vcf_index is None
    assert a.vcf.read_bytes() == b.vcf.read_bytes()  # gzip header carries no timestamp
    samples, positions, _, _ = read_vcf(a.vcf)
    assert len(samples) == 10 and len(positions) == a.n_variants


def test_cli__replay_rebuilds_the_same_vcf(tmp_path: Path) -> None:
    first = ["simulate", str(tmp_path / "a"), "-n", "12", "--length", "30000", "--seed", "5"]
    assert main([*first, "--country", "NL", "--disease", "dee4"]) == 0
    assert (
        main(["simulate", str(tmp_path / "b"), "--replay", str(tmp_path / "a" / "truth.json")]) == 0
    )
    assert (tmp_path / "a" / "cohort.vcf.gz").read_bytes() == (
        tmp_path / "b" / "cohort.vcf.gz"
    ).read_bytes()
    assert (tmp_path / "a" / "consent.tsv").read_text() == (
        tmp_path / "b" / "consent.tsv"
    ).read_text()
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert main(["simulate", str(tmp_path / "c"), "--replay", str(bad)]) == 2


def test_simulate_cohort__failure_midway_keeps_the_earlier_cohort(tmp_path: Path) -> None:
    first = simulate_cohort(tmp_path / "c", n_individuals=12, length=20_000, seed=1)
    before = {p.name: p.read_bytes() for p in first.out_dir.iterdir() if p.is_file()}
    # 2 people on 1 kb have too few polymorphic sites for 10 causal variants: fails after
    # the coalescent simulation and the VCF are written (into a staging folder)
    with pytest.raises(InvalidInputError, match="polymorphic sites") as info:
        simulate_cohort(tmp_path / "c", n_individuals=2, length=1_000, seed=1, overwrite=True)
    assert info.value.field == "length"
    after = {p.name: p.read_bytes() for p in first.out_dir.iterdir() if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]


def test_cli__replay_of_a_file_without_call_says_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # QA: `{}` gave "not a genomesh truth.json ('call')" (a KeyError repr) and a missing file
    # was reported under field 'call'.
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert main(["simulate", str(tmp_path / "c"), "--replay", str(bad)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "has no 'call' record" in err and "('call')" not in err
    assert main(["simulate", str(tmp_path / "d"), "--replay", str(tmp_path / "none.json")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "cannot read" in err and "field 'call'" not in err
    partial = tmp_path / "partial.json"
    partial.write_text('{"call": {"seed": 1}}')
    assert main(["simulate", str(tmp_path / "e"), "--replay", str(partial)]) == 2
    assert "it lacks 'disease'" in " ".join(capsys.readouterr().err.split())
