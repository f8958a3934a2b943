"""`genomesh node init | ingest | info` through the real entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from genomesh.cli.main import main
from genomesh.store import open_node
from tests.store.conftest import rec, write_vcf


def test_cli__init_ingest_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    node = tmp_path / "node"
    assert main(["node", "init", str(node), "--name", "Test Biobank", "--jurisdiction", "GB"]) == 0
    vcf = write_vcf(tmp_path / "v.vcf", [rec(1, 100, "A", "G,T", "0/1", "1/2", "0/0")])
    code = main(
        ["node", "ingest", str(node), "--dataset", "ds", "--vcf", str(vcf),
         "--duo", "DUO:0000042,DUO:0000019", "--attribution", "cineca-uk1", "--name", "Demo"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "variants (split)" in out and "individuals" in out and "datasets on node" in out
    assert "CINECA project" in out
    # the summary is a key/value table without a header row: every row of it has text
    rows = [ln for ln in out.splitlines() if ln.lstrip()[:1] in ("│", "┃")]
    assert rows and all(ln.strip("│┃ ") for ln in rows), out
    assert "version" in rows[0]
    info = open_node(node).dataset("ds").info
    assert [t.id for t in info.duo] == ["DUO:0000042", "DUO:0000019"]
    assert info.name == "Demo" and info.n_variants == 2
    assert main(["node", "info", str(node)]) == 0
    assert "DUO:0000042" in capsys.readouterr().out


def test_cli__init_twice_is_a_conflict(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    node = tmp_path / "node"
    assert main(["node", "init", str(node), "--name", "A", "--jurisdiction", "GB"]) == 0
    assert main(["node", "init", str(node), "--name", "A", "--jurisdiction", "GB"]) == 6
    assert "already exists" in capsys.readouterr().err
    assert (
        main(["node", "init", str(tmp_path / "x"), "--name", "A", "--jurisdiction", "Britain"]) == 2
    )


def test_cli__info_without_node(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["node", "info", str(tmp_path / "nothing")]) == 5
    assert "genomesh node init" in capsys.readouterr().err


def test_ingest__progress_reports_records_and_indexed_total(tmp_path: Path):
    import subprocess

    from genomesh.store import ingest_dataset, init_node

    records = [rec(1, 100 + i, "A", "G", "0/1", "0/0", "0/0") for i in range(25)]
    vcf = write_vcf(tmp_path / "v.vcf.gz", records)
    subprocess.run(["tabix", "-p", "vcf", str(vcf)], check=True)
    init_node(tmp_path / "node", name="n", jurisdiction="GB")
    seen: list[tuple[int, int | None]] = []
    ingest_dataset(
        tmp_path / "node", "p", vcf=vcf, batch_records=10, progress=lambda d, t: seen.append((d, t))
    )
    assert seen == [(10, 25), (20, 25), (25, 25)]


def test_cli__init_jurisdiction_is_a_country_aliases_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10: `--jurisdiction UK` was accepted and silently got the permissive default
    profile (UK is no ISO code), so GB's national rules did not apply."""
    from genomesh.core.settings import NodeSettings

    assert main(["node", "init", str(tmp_path / "uk"), "--name", "A", "--jurisdiction", "UK"]) == 0
    out = capsys.readouterr().out
    assert "'UK' taken as GB" in out and "United Kingdom" in out
    assert NodeSettings.load(tmp_path / "uk").jurisdiction == "GB"

    assert main(["node", "init", str(tmp_path / "xx"), "--name", "A", "--jurisdiction", "XX"]) == 2
    err = capsys.readouterr().err
    assert "not an ISO 3166-1 alpha-2" in err and "AU, GB, IE, NL, SE" in err
    assert not (tmp_path / "xx").exists()
    assert (
        main(["node", "init", str(tmp_path / "b"), "--name", "A", "--jurisdiction", "Britain"]) == 2
    )
    assert "did you mean GB?" in capsys.readouterr().err

    assert main(["node", "init", str(tmp_path / "de"), "--name", "A", "--jurisdiction", "de"]) == 0
    assert "no national rules for DE" in capsys.readouterr().out


def test_cli_ingest__replacing_needs_replace_and_says_what_it_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10: a plain-text file under an existing dataset id replaced the live dataset
    with no prompt; a failed ingest of a new dataset left an empty datasets/<id>/ behind."""
    node = tmp_path / "node"
    assert main(["node", "init", str(node), "--name", "n", "--jurisdiction", "GB"]) == 0
    good = write_vcf(tmp_path / "v.vcf", [rec(1, 100, "A", "G", "0/1", "0/0", "0/0")])
    argv = ["node", "ingest", str(node), "--dataset", "ds", "--vcf", str(good)]
    assert main(argv) == 0
    version = open_node(node).current_version("ds")
    capsys.readouterr()

    assert main(argv) == 6  # no terminal to ask on, no --replace
    assert "pass --replace" in capsys.readouterr().err
    assert open_node(node).current_version("ds") == version

    assert main([*argv, "--replace"]) == 0
    out = capsys.readouterr().out
    assert f"replaced version {version} of ds (3 samples, 1 variants, from v.vcf)" in out

    bad = write_vcf(tmp_path / "bad.vcf", [rec(1, 100, "A", "G", "0/1", "0/0")])
    assert main(["node", "ingest", str(node), "--dataset", "new", "--vcf", str(bad)]) == 2
    assert not (node / "datasets" / "new").exists()
    assert sorted(p.name for p in (node / "datasets").iterdir()) == ["ds"]


def test_cli_ingest__htslib_messages_become_genomesh_warnings(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """htslib writes `[W::vcf_parse] ...` to file descriptor 2 itself; it interleaved with the
    progress bar and led the error output. Now it is genomesh's words, once each."""
    node = tmp_path / "node"
    assert main(["node", "init", str(node), "--name", "n", "--jurisdiction", "GB"]) == 0
    records = [rec(7, 100 + i, "A", "G", "0/1", "0/0", "0/0") for i in range(3)]
    vcf = write_vcf(tmp_path / "v.vcf", records)  # contig 7 is not in the header
    assert main(["node", "ingest", str(node), "--dataset", "ds", "--vcf", str(vcf)]) == 0
    err = capfd.readouterr().err
    assert "[W::" not in err
    assert "warning: the VCF reader (htslib vcf_parse) said: Contig '7' is not defined" in err

    bad = write_vcf(tmp_path / "bad.vcf", [rec(1, 100, "A", "G", "0/1", "0/0")])
    code = main(["node", "ingest", str(node), "--dataset", "x", "--vcf", str(bad)])
    err = capfd.readouterr().err
    assert code == 2 and "[E::" not in err
    assert err.splitlines()[-1].startswith("error: ") and "bad.vcf:" in err


def test_ingest__credits_are_stated_never_inferred(tmp_path: Path, capsys) -> None:
    """Real genotypes ingested beside CINECA's BFF files got CINECA's "synthetic ... FAKE"
    notice by content resemblance. Credits come from --attribution only; a hint is shown."""
    bff = tmp_path / "bff"
    bff.mkdir()
    (bff / "datasets.json").write_text('[{"id": "CINECA_synthetic_cohort_EUROPE_UK1"}]')
    vcf = write_vcf(bff / "v.vcf", [rec(1, 100, "A", "G", "0/1", "0/0", "0/0")])
    node = tmp_path / "node"
    assert main(["node", "init", str(node), "--name", "n", "--jurisdiction", "GB"]) == 0
    assert main(["node", "ingest", str(node), "--dataset", "ds", "--vcf", str(vcf)]) == 0
    assert open_node(node).dataset("ds").info.attribution is None
    assert "--attribution cineca-uk1" in capsys.readouterr().out


def test_file_fraction__follows_how_far_the_file_was_read(tmp_path: Path) -> None:
    from genomesh.cli.ingest_progress import FileFraction

    path = tmp_path / "data.bin"
    path.write_bytes(b"x" * 1000)
    fraction = FileFraction(path)
    assert fraction() is None  # not open
    import os

    fd = os.open(path, os.O_RDONLY)  # as htslib holds it: a raw descriptor
    try:
        os.read(fd, 250)
        assert fraction() == pytest.approx(0.25)
        os.lseek(fd, 500, os.SEEK_SET)
        assert fraction() == pytest.approx(0.5)
    finally:
        os.close(fd)
