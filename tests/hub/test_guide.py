"""Every `$ genomesh ...` example in docs/researcher-guide.md runs against a live hub."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from genomesh.cli.main import main
from tests.hub.conftest import RunningHub
from tests.hub.standin import serving, standin_app

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "researcher-guide.md"


def guide_commands() -> list[str]:
    commands = re.findall(r"^\$ (genomesh .+)$", GUIDE.read_text(), flags=re.MULTILINE)
    # analyses need real nodes: tests/visiting/test_federation.py runs those lines
    commands = [c for c in commands if not c.startswith("genomesh analysis ")]
    assert len(commands) >= 8
    return commands


def test_guide__every_example_command_succeeds(
    hub: RunningHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GENOMESH_HUB_URL", hub.url)
    (tmp_path / "passport.jwt").write_text(hub.passport() + "\n")  # the hub's DAC issues it
    with serving(standin_app("nl")) as nl, serving(standin_app("au")) as au:
        hub.register("nl-umc", nl.url, "NL")  # the demo's node names, as the guide uses
        hub.register("au-rd", au.url, "AU")
        with hub.client() as client:
            client.post("/catalogue/sync", headers=hub.admin()).raise_for_status()
        for command in guide_commands():
            code = main(shlex.split(command)[1:])
            captured = capsys.readouterr()
            assert code == 0, f"{command}\n{captured.out}\n{captured.err}"
            assert "error" not in captured.err.lower(), command
