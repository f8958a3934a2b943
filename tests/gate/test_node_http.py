"""Invariant 2 over the real node app: every Beacon answer that carries data has an audit entry."""

from __future__ import annotations

from pathlib import Path

from genomesh.core.settings import NodeSettings
from tests.gate.conftest import PLAIN
from tests.gate.serve import app_gate, serve_node


def test_node_http__every_entry_answer_is_audited_and_capped(
    node_dir: Path, tmp_path: Path
) -> None:
    settings = NodeSettings.load(
        node_dir, state_url=f"sqlite:///{tmp_path / 'state.sqlite'}", dataset_policies=PLAIN
    )
    with serve_node(settings) as (client, app):
        state = app_gate(app).state
        assert client.get("/info").status_code == 200
        assert state.audit_entries() == []  # informational endpoints carry no participant data
        q = {"referenceName": "1", "start": "99", "referenceBases": "A", "alternateBases": "G"}
        r = client.get("/g_variants", params=q)
        assert r.status_code == 200, r.text
        assert r.json()["responseSummary"]["exists"] is True
        body = {"meta": {"apiVersion": "v2.0"}, "query": {"requestedGranularity": "record"}}
        r2 = client.post("/individuals", json=body)
        assert r2.status_code == 200, r2.text
        assert (
            r2.json()["meta"]["returnedGranularity"] == "boolean"
        )  # anonymous cap, honestly reported
        entries = state.audit_entries()
        assert [e.body["what"]["surface"] for e in entries] == ["beacon", "beacon"]
        assert entries[0].body["datasets"][0]["n_individuals"] == 3
        assert {e.body["granularity"] for e in entries} == {"boolean"}
        assert state.verify().ok


def test_node_http__every_entry_type_goes_through_the_gate(node_dir: Path, tmp_path: Path) -> None:
    settings = NodeSettings.load(node_dir, state_url=f"sqlite:///{tmp_path / 'state.sqlite'}")
    paths = [
        "/g_variants",
        "/individuals",
        "/biosamples",
        "/analyses",
        "/runs",
        "/datasets",
        "/cohorts",
        "/datasets/cohort/individuals",
        "/individuals/S1/g_variants",
    ]
    with serve_node(settings) as (client, app):
        state = app_gate(app).state
        for i, path in enumerate(paths, start=1):
            r = client.get(path)
            assert r.status_code == 200, (path, r.text)
            assert len(state.audit_entries()) == i, f"{path} answered without an audit entry"
        assert state.verify().ok
