"""`genomesh node participant-token|withdraw|access-report|export` on a copy of the test node."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from genomesh.cli.main import main
from genomesh.core.settings import NodeSettings
from genomesh.gate import Gate, GateRequest
from genomesh.node.state import NodeState
from genomesh.store import open_node
from tests.gate.conftest import carriers_at, researcher


@pytest.fixture
def node(node_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "node"
    shutil.copytree(node_dir, copy)
    settings = NodeSettings.load(copy)
    with NodeState.open(settings) as state:
        gate = Gate(settings=settings, node=open_node(copy), state=state)
        gate.run(
            GateRequest(researcher("alice"), "beacon", "g_variants", {}, ("cohort",), "count"),
            carriers_at(gate.node, 200),
        )
    return copy


def test_cli__participant_token_issues_a_working_token(
    node: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["node", "participant-token", str(node), "--individual", "S1"]) == 0
    token = capsys.readouterr().out.strip()
    with NodeState.open(NodeSettings.load(node)) as state:
        assert state.participant_for_token(token) == "S1"
    assert main(["node", "participant-token", str(node), "--individual", "NOPE"]) == 5
    assert "no dataset at this node has individual 'NOPE'" in capsys.readouterr().err


def test_cli__withdraw_report_and_export(
    node: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (
        main(
            [
                "node",
                "withdraw",
                str(node),
                "--dataset",
                "cohort",
                "--individual",
                "S2",
                "--reason",
                "asked",
            ]
        )
        == 8  # recorded and in force, but nobody was told (this node has no hub_url)
    )
    captured = capsys.readouterr()
    out = captured.out
    assert "withdrew S2 from cohort" in out and "alice" in out
    assert "(NOT notified)" in out and "(notified" not in out
    assert "did not reach the hub (no hub_url in genomesh.toml)" in captured.err
    assert "--retry" in captured.err
    assert re.search(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ", out), out  # recipients' last answer, ISO
    assert main(["node", "withdraw", str(node), "--dataset", "cohort", "--individual", "S2"]) == 6
    assert "already withdrew" in capsys.readouterr().err

    assert main(["node", "access-report", str(node), "--individual", "S2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    cohort = next(d for d in report["datasets"] if d["dataset_id"] == "cohort")
    assert cohort["withdrawn_at"] and [r["recipient"] for r in cohort["recipients"]] == ["alice"]
    # without --json: words and a table like every other command, not raw JSON (issue 10)
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["node", "access-report", str(node), "--individual", "S2"]) == 0
    text = capsys.readouterr().out
    assert not text.lstrip().startswith("{")
    assert "dataset cohort  withdrawn: " + cohort["withdrawn_at"][:19] + "Z" in text
    assert "alice" in text and all(len(line) <= 80 for line in text.splitlines())

    target = tmp_path / "s2.json"
    assert main(["node", "export", str(node), "--individual", "S2", "--out", str(target)]) == 0
    exported = json.loads(target.read_text())
    assert {d["dataset_id"] for d in exported["datasets"]} == {"cohort", "noterms"}

    assert main(["audit", "verify", str(node)]) == 0
    assert main(["audit", "show", str(node), "--json", "--last", "50"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert [x["what"]["operation"] for x in lines] == [
        "g_variants",
        "withdraw",
        "access_report",
        "access_report",  # audited each time it is read (--json and the table above)
        "export",
    ]
    assert lines[0]["includes_withdrawn"] is True


def test_cli__notifications_listed_and_token_revoked(
    node: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["node", "withdraw", str(node), "--dataset", "cohort", "--individual", "S3"]) == 8
    assert main(["node", "notifications", str(node)]) == 0
    out = capsys.readouterr().out
    assert "alice" in out and "local_only" in out
    assert main(["node", "participant-token", str(node), "--individual", "S3"]) == 0
    token = capsys.readouterr().out.strip()
    assert main(["node", "participant-token", str(node), "--individual", "S3", "--revoke"]) == 0
    assert "revoked 1 token(s)" in capsys.readouterr().out
    with NodeState.open(NodeSettings.load(node)) as state:
        assert state.participant_for_token(token) is None


def test_cli__recipient_and_hub_text_shown_literally(
    node: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Passport subjects (and hub replies) are other parties' text: Rich markup in them must
    # not be interpreted in the custodian's terminal.
    monkeypatch.setenv("COLUMNS", "250")
    settings = NodeSettings.load(node)
    with NodeState.open(settings) as state:
        gate = Gate(settings=settings, node=open_node(node), state=state)
        gate.run(
            GateRequest(
                researcher("[red]mallory[/]"), "beacon", "g_variants", {}, ("cohort",), "count"
            ),
            carriers_at(gate.node, 200),
        )
    assert main(["node", "withdraw", str(node), "--dataset", "cohort", "--individual", "S3"]) == 8
    assert "[red]mallory[/]" in capsys.readouterr().out
    assert main(["node", "notifications", str(node)]) == 0
    assert "[red]mallory[/]" in capsys.readouterr().out


def test_cli__participant_requests_keep_raw_ids_out_of_the_audit_log(
    node: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # docs/audit.md: "Individual ids are not in the audit log (they are in the ledger)". A
    # participant's own export / access report is audited under a keyed pseudonym instead.
    assert main(["node", "access-report", str(node), "--individual", "S2"]) == 0
    out = tmp_path / "s2.json"
    assert main(["node", "export", str(node), "--individual", "S2", "--out", str(out)]) == 0
    assert main(["node", "export", str(node), "--individual", "NOPE", "--out", str(out)]) == 5
    capsys.readouterr()
    assert main(["audit", "show", str(node), "--json", "--last", "3"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert [x["what"]["operation"] for x in lines] == ["access_report", "export", "export"]
    for entry in lines:
        text = json.dumps({"who": entry["who"], "what": entry["what"]})
        assert '"S2"' not in text and "NOPE" not in text, text
        assert entry["who"]["subject"].startswith("participant:")
    # the same participant gets the same pseudonym (custodians can still follow one person)
    assert lines[0]["who"]["subject"] == lines[1]["who"]["subject"] != lines[2]["who"]["subject"]
    assert main(["audit", "verify", str(node)]) == 0
