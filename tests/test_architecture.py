"""The package layering in ARCHITECTURE.md holds (import-linter contracts in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import genomesh

ROOT = Path(__file__).resolve().parents[1]


def test_layers__import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and "0 broken" in result.stdout


def test_public_api__all_is_sorted_and_importable() -> None:
    names = genomesh.__all__
    assert list(names) == sorted(names)
    for name in names:
        assert getattr(genomesh, name) is not None, name
