"""Every Python example in docs/passports.md runs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from genomesh.core.settings import NodeSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "passports.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_docs__python_examples_run(index: int) -> None:
    exec(compile(blocks("python")[index], f"{DOC}:python[{index}]", "exec"), {})


def test_docs__toml_example_is_valid_node_settings() -> None:
    (example,) = blocks("toml")
    settings = NodeSettings.model_validate(tomllib.loads(example))
    assert (
        settings.trusted_issuers[0].revocations_url == "https://hub.example.org/ga4gh/revocations"
    )
    assert settings.revocation_refresh_seconds == 60
