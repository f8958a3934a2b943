"""Where the shared reference material (specs, real test data) lives."""

from __future__ import annotations

import os
from pathlib import Path


def reference_dir() -> Path:
    """`$GENOMESH_REFERENCE`, else `../shared/reference` beside the repository checkout."""
    env = os.environ.get("GENOMESH_REFERENCE")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent.parent / "shared" / "reference"
        if (parent / "pyproject.toml").is_file() and candidate.is_dir():
            return candidate
    return Path.cwd().parent / "shared" / "reference"
