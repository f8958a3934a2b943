"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# CLI modules build their rich consoles at import time, and rich fixes a console's width from
# COLUMNS when it is built: set it before any test module imports them (CI has no terminal,
# and rich's 80-column fallback truncates table cells that tests look for).
os.environ["COLUMNS"] = "200"

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
