"""A withdrawal makes every earlier result that used the participant stale (issue 14 part 3):
a record-level Beacon answer and a custodian's export to a named researcher are listed in
the participant's access report, over the real node app, and their recipients are told."""

from __future__ import annotations

from pathlib import Path

from genomesh.core.settings import NodeSettings
from genomesh.gate import GateRequest
from genomesh.participants.portable import custodian_export
from tests.gate.conftest import carriers_at, controlled
from tests.gate.serve import app_gate, serve_node


def test_withdrawal__beacon_records_and_exports_listed_as_stale(
    node_dir: Path, tmp_path: Path
) -> None:
    settings = NodeSettings.load(node_dir, state_url=f"sqlite:///{tmp_path / 'state.sqlite'}")
    with serve_node(settings) as (client, app):
        gate = app_gate(app)
        answer = gate.run(
            GateRequest(controlled("carol"), "beacon", "individuals", {}, ("cohort",), "record"),
            carriers_at(gate.node, 200),
        )
        assert answer.results[0].records, answer  # a record-level answer that named S2
        custodian_export(gate, tmp_path / "s2.zip", individual_ids=["S2"], recipient="bob")
        headers = {"Authorization": f"Bearer {gate.state.issue_participant_token('S2')}"}
        before = client.get("/participants/me/access-report", headers=headers).json()
        cohort = next(d for d in before["datasets"] if d["dataset_id"] == "cohort")
        assert cohort["stale_results"] == [] and not any(r["stale"] for r in cohort["recipients"])
        r = client.post("/participants/me/withdraw", json={"dataset_id": "cohort"}, headers=headers)
        assert r.status_code == 200, r.text
        after = client.get("/participants/me/access-report", headers=headers).json()
    cohort = next(d for d in after["datasets"] if d["dataset_id"] == "cohort")
    stale = {
        (s["surface"], s["operation"], s["kind"], s["recipient"]) for s in cohort["stale_results"]
    }
    assert stale == {
        ("beacon", "individuals", "record", "carol"),
        ("custodian", "export", "record", "bob"),
    }
    assert all(r["stale"] for r in cohort["recipients"])
    assert {n.recipient_subject for n in gate.state.notifications()} == {"carol", "bob"}
    # the other dataset: not withdrawn from, nothing stale
    other = next(d for d in after["datasets"] if d["dataset_id"] == "noterms")
    assert other["stale_results"] == []
