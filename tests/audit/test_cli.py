"""`genomesh audit verify|show` on a node folder whose state file is edited directly."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from genomesh.cli.main import main
from genomesh.core.settings import NodeSettings
from genomesh.node.state import Disclosure, NodeState


@pytest.fixture
def node_dir(tmp_path: Path) -> Path:
    (tmp_path / "genomesh.toml").write_text('name = "audit-test-node"\n')
    with NodeState.open(NodeSettings.load(tmp_path)) as st:
        for i in range(4):
            st.append_audit(
                {
                    "who": {"identity_key": "iss|alice", "tier": "registered", "subject": "alice"},
                    "what": {
                        "surface": "beacon",
                        "operation": "individuals",
                        "parameters": {"i": i},
                    },
                    "datasets": [{"id": "ds1"}],
                    "granularity": "count",
                    "n_individuals": 7,
                    "outcome": "answered",
                },
                disclosures=[Disclosure("ds1", "P1", "aggregate")],
                recipient_subject="alice",
            )
        st.add_withdrawal(dataset_id="ds1", individual_id="P1", reason=None)
    return tmp_path


def test_audit_verify__intact_log_exits_zero(
    node_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "verify", str(node_dir)]) == 0
    assert "intact: 4 entries" in capsys.readouterr().out


def test_audit_verify__edited_row_exits_nonzero_naming_entry(
    node_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    con = sqlite3.connect(node_dir / "state.sqlite")
    con.execute(
        "UPDATE gs_audit SET body = replace(body, '\"n_individuals\":7', '\"n_individuals\":1') WHERE seq = 2"
    )
    con.commit()
    con.close()
    code = main(["audit", "verify", str(node_dir)])
    assert code == 7
    assert "TAMPERED at entry 2" in capsys.readouterr().err


def test_audit_verify__published_head_and_bad_head_option(
    node_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with NodeState.open(NodeSettings.load(node_dir)) as st:
        seq, digest = st.head()
    assert main(["audit", "verify", str(node_dir), "--head", f"{seq}:{digest}"]) == 0
    assert main(["audit", "verify", str(node_dir), "--head", f"{seq}:{'0' * 64}"]) == 7
    assert main(["audit", "verify", str(node_dir), "--head", "nonsense"]) == 2
    assert "SEQ:SHA256" in capsys.readouterr().err


def test_audit_show__lists_entries_and_flags_withdrawn(
    node_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "show", str(node_dir), "--last", "2", "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert '"seq": 3' in lines[0] and '"includes_withdrawn": true' in lines[0]
    assert main(["audit", "show", str(node_dir)]) == 0
    out = capsys.readouterr().out
    assert "head 4:" in out and "alice" in out


def test_audit_show__caller_controlled_text_is_shown_literally(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The client address (X-Forwarded-For), passport subjects and requested dataset ids come
    # from callers; Rich markup in them must neither hide nor restyle what the custodian reads.
    monkeypatch.setenv("COLUMNS", "250")
    (tmp_path / "genomesh.toml").write_text('name = "audit-test-node"\n')
    with NodeState.open(NodeSettings.load(tmp_path)) as st:
        st.append_audit(
            {
                "who": {"identity_key": "anonymous|[bold red]10.0.0.9[/]", "tier": "anonymous"},
                "what": {"surface": "beacon", "operation": "individuals", "parameters": {}},
                "datasets": [{"id": "[/x]ds"}],
                "granularity": "boolean",
                "n_individuals": 0,
                "outcome": "answered",
            }
        )
    assert main(["audit", "show", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "anonymous|[bold red]10.0.0.9[/]" in out
    assert "[/x]ds" in out
