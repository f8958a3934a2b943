"""Every `genomesh ... --help` reads at 80 columns: no line wider, no option name cut to
`--allow-unmatched-…`, no `<bool>` tag on on/off flags."""

from __future__ import annotations

from typing import Any

import pytest

from genomesh.cli.main import build_command, main


def _command_paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for name, sub in (getattr(command, "commands", None) or {}).items():
        paths.extend(_command_paths(sub, (*prefix, name)))
    return paths


def _lookup(command: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        command = command.commands[name]
    return command


ROOT = build_command()
PATHS = _command_paths(ROOT)


def test_help__covers_the_command_tree() -> None:
    assert ("node", "ingest") in PATHS and ("dac", "register") in PATHS


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "genomesh")
def test_help__fits_80_columns_and_names_every_option(path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main([*path, "--help"]) == 0
    out = capsys.readouterr().out
    wide = [line for line in out.splitlines() if len(line) > 80]
    assert not wide, wide
    assert "…" not in out
    assert "<bool>" not in out
    for param in _lookup(ROOT, path).params:
        for name in (*param.opts, *param.secondary_opts):
            if name.startswith("--"):
                assert name in out, name
