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
