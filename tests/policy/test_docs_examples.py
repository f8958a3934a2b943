"""Every Python example in the policy docs runs and its assertions hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from genomesh.ontology.hpo import get_hpo

DOCS = Path(__file__).parents[2] / "docs"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def _examples() -> list[tuple[str, str]]:
    out = []
    for name in ("consent-and-purpose.md", "jurisdictions.md"):
        for index, code in enumerate(BLOCK.findall((DOCS / name).read_text())):
            out.append((f"{name}#{index}", code))
    return out


@pytest.mark.parametrize(("where", "code"), _examples(), ids=[w for w, _ in _examples()])
def test_docs__python_example_runs(where: str, code: str) -> None:
    exec(compile(code, where, "exec"), {})


def test_docs__credits_name_packaged_hpo_version() -> None:
    assert f"version {get_hpo().version}" in (DOCS / "credits.md").read_text()
