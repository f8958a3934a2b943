"""The CLI entry point turns genomesh errors into one unwrapped line and the error's exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from genomesh.cli.main import main


def test_main__error_location_is_one_unwrapped_line(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    deep = tmp_path / ("a-rather-long-folder-name-" * 4) / "[not-markup]"
    code = main(["node", "info", str(deep)])
    err = capsys.readouterr().err
    assert code == 5  # NotFoundError
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "[not-markup]" in lines[0]
    assert lines[0].startswith("error: ")


def test_main__usage_error_exits_two(capsys) -> None:
    assert main(["node", "ingest"]) == 2


@pytest.mark.parametrize("argv", [["--help"], ["node", "--help"]])
def test_main__help_exits_zero(argv: list[str], capsys) -> None:
    assert main(argv) == 0
    assert "Usage" in capsys.readouterr().out


def test_main__emoji_codes_in_user_input_stay_literal(tmp_path: Path, capsys) -> None:
    code = main(["node", "info", str(tmp_path / "x:abc:y")])
    assert code == 5
    assert "x:abc:y" in capsys.readouterr().err
