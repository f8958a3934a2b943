"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest

from genomesh.testing.reference import reference_dir


@pytest.fixture(scope="session")
def reference() -> Path:
    """The shared reference folder (Beacon schemas, DUO, CINECA, 1000 Genomes ...)."""
    path = reference_dir()
    assert path.is_dir(), f"shared reference material not found at {path}"
    return path


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI output is checked for content, not layout: give rich a wide, fixed terminal.

    CI has no terminal (rich would fall back to 80 columns and truncate table cells); a test
    about wrapping sets its own COLUMNS.
    """
    monkeypatch.setenv("COLUMNS", "200")
