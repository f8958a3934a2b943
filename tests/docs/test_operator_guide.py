"""The configuration shown in the operator guide is valid and means what the guide says."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from genomesh.core.settings import NodeSettings

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "operator-guide.md"


def _toml_example() -> str:
    blocks = re.findall(r"```toml\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)
    assert len(blocks) == 1
    return blocks[0]


def test_operator_guide__example_config_loads_with_the_documented_meaning(
    tmp_path: Path, monkeypatch
) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("GENOMESH_"):
            monkeypatch.delenv(name)
    (tmp_path / "genomesh.toml").write_text(_toml_example())
    settings = NodeSettings.load(tmp_path)
    assert settings.jurisdiction == "GB"
    assert settings.trusted_issuers[0].iss == "https://hub.example.org"
    assert settings.default_policy.min_count == 5
    strict = settings.policy_for("cohort1")
    assert strict.min_count == 10
    assert strict.record_countries == ["GB"]
    assert strict.tiers.registered == "boolean"
    assert strict.tiers.controlled == "count"
    assert strict.cohort_role == "cases"
    assert settings.policy_for("another").cohort_role is None
    assert settings.policy_for("another").tiers.controlled == "record"
    [community] = strict.communities
    assert community.community == "example-nation" and community.individuals == ["P0007", "P0012"]
    assert "BC Non-Commercial" in community.labels
    assert settings.custodian_contact.startswith("Example Biobank") and settings.admin_token is None


def test_operator_guide__environment_overrides_the_file(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "genomesh.toml").write_text(_toml_example())
    monkeypatch.setenv("GENOMESH_QUERY_BUDGET", "7")
    assert NodeSettings.load(tmp_path).query_budget == 7
    assert tomllib.loads(_toml_example())["query_budget"] == 1000


def test_operator_guide__nested_environment_override(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "genomesh.toml").write_text(_toml_example())
    monkeypatch.setenv("GENOMESH_DEFAULT_POLICY__MIN_COUNT", "12")
    assert NodeSettings.load(tmp_path).default_policy.min_count == 12
