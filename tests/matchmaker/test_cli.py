"""`genomesh match peer-add | enrol | patients | submit` against a real served node."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from genomesh.cli.main import main
from genomesh.core.settings import NodeSettings
from genomesh.matchmaker.registry import MatchmakerRegistry
from tests.gate.serve import serve_node
from tests.matchmaker.conftest import FHS, benchmark

CONTACT = ["--contact-name", "Dr Test", "--contact-href", "mailto:test@example.org"]


@pytest.fixture
def node(mme_node: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "node"
    shutil.copytree(mme_node, copy)
    shutil.rmtree(copy / "matchmaker")
    return copy


def test_enrol__needs_the_consent_statement_and_changes_nothing_without_it(
    node: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "fhs.json"
    file.write_text(FHS.read_text())
    code = main(["match", "enrol", str(node), "--dataset", "mme", "--patients", str(file),
                 "--consent", "yes"])  # fmt: skip
    assert code == 2
    assert "matchmaking+contact" in capsys.readouterr().err
    assert MatchmakerRegistry(node).patients() == []


def test_enrol__a_bad_patient_refuses_the_whole_file_naming_the_field(
    node: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "bench.json"
    file.write_text(json.dumps(benchmark()))  # includes the two records without `start`
    code = main(["match", "enrol", str(node), "--dataset", "mme", "--patients", str(file),
                 "--consent", "matchmaking+contact"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "'start' is a required property" in err and "variant" in err
    assert MatchmakerRegistry(node).patients() == []


def test_enrol__unknown_individual_is_refused(
    node: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    patient = dict(json.loads(FHS.read_text())[0], id="NOBODY")
    file = tmp_path / "one.json"
    file.write_text(json.dumps(patient))
    code = main(["match", "enrol", str(node), "--dataset", "mme", "--patients", str(file),
                 "--consent", "matchmaking+contact"])  # fmt: skip
    assert code == 5
    assert "no individual 'NOBODY'" in capsys.readouterr().err


def test_peer_enrol_submit__round_trip(
    node: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fhs = [{k: v for k, v in p.items() if k != "test"} for p in json.loads(FHS.read_text())]
    file = tmp_path / "fhs.json"
    file.write_text(json.dumps(fhs))
    assert main(["match", "enrol", str(node), "--dataset", "mme", "--patients", str(file),
                 "--consent", "matchmaking+contact"]) == 0  # fmt: skip
    assert "enrolled 5 patients" in capsys.readouterr().out
    assert main(["match", "peer-add", str(node), "clinic-b"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("mme_")
    assert main(["match", "patients", str(node)]) == 0
    assert "SRCAP" in capsys.readouterr().out
    query = tmp_path / "query.json"
    query.write_text(json.dumps({**fhs[1], "id": "query"}))
    settings = NodeSettings.load(node, state_url=f"sqlite:///{tmp_path / 'state.sqlite'}")
    with serve_node(settings) as (client, _app):
        url = str(client.base_url)
        assert main(["match", "submit", str(query), "--url", url, "--token", token]) == 0
        out = capsys.readouterr().out
        lines = out.splitlines()
        assert lines[0] == "5 match(es)"
        assert lines[1].startswith(f"1. {fhs[1]['id']}  score 1.000")  # the same patient, first
        assert "SRCAP" in out and "contact:" in out
        assert main(["match", "submit", str(query), "--url", url, "--token", "wrong"]) == 8
        assert "401" in capsys.readouterr().err
