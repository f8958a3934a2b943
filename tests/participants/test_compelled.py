"""Compelled-disclosure requests (issue 14 part 4), end to end over HTTP: two real nodes and a
real hub. The register is in the hash-chained audit log; what is disclosed goes through the gate
and the ledger; a participant sees a disclosure about them only once a gag order has ended; the
nodes' transparency reports hold counts only, and the hub adds them up."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from genomesh.cli.main import main
from genomesh.core.settings import NodeSettings
from genomesh.gate import Gate
from genomesh.node.admin import node_admin_token
from genomesh.participants.compelled import REGISTER_KEY
from tests.gate.serve import app_gate, serve_node
from tests.hub.conftest import RunningHub, start_hub

TODAY = datetime.now(UTC).date()
YEAR = TODAY.year
COURT = "Crown Court at Testford"


@dataclass
class Node:
    client: httpx.Client
    gate: Gate
    admin: dict[str, str]

    def participant(self, individual: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.gate.state.issue_participant_token(individual)}"}

    def record(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "requester": COURT, "requester_kind": "court",
            "legal_basis": "Production order, s.9 PACE 1984", "dataset_id": "cohort",
            "individuals": ["S2", "S3"], "purpose": "criminal investigation",
            "received": TODAY.isoformat(),
            "deadline": (TODAY + timedelta(days=28)).isoformat(),
            "protections": ["research exemption", "certificate of confidentiality"],
            **overrides,
        }  # fmt: skip
        r = self.client.post("/admin/compelled", json=body, headers=self.admin)
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    def decide(self, rid: str, decision: str) -> httpx.Response:
        return self.client.post(
            f"/admin/compelled/{rid}/decision",
            json={"decision": decision, "reason": "legal advice"},
            headers=self.admin,
        )

    def disclose(self, rid: str, individuals: list[str], items: list[str]) -> httpx.Response:
        return self.client.post(
            f"/admin/compelled/{rid}/disclose",
            json={"individuals": individuals, "items": items},
            headers=self.admin,
        )


@pytest.fixture(scope="module")
def network(
    node_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Node, Node, RunningHub]]:
    """Two nodes over the tiny gate-test node folder (own states and names) and a hub."""
    root = tmp_path_factory.mktemp("compelled")
    hub = start_hub(root)
    try:
        nodes = []
        with (
            serve_node(NodeSettings.load(node_dir, name="node-a", state_url=f"sqlite:///{root / 'a.sqlite'}")) as (ca, app_a),
            serve_node(NodeSettings.load(node_dir, name="node-b", state_url=f"sqlite:///{root / 'b.sqlite'}")) as (cb, app_b),
        ):  # fmt: skip
            token = {"Authorization": f"Bearer {node_admin_token(NodeSettings.load(node_dir))}"}
            for name, c, app in (("node-a", ca, app_a), ("node-b", cb, app_b)):
                hub.register(name, str(c.base_url), "GB")
                nodes.append(Node(c, app_gate(app), token))
            yield nodes[0], nodes[1], hub
    finally:
        hub.server.stop()


def test_compelled_api__needs_the_node_admin_token(network: tuple[Node, Node, RunningHub]) -> None:
    a, _, _ = network
    assert a.client.get("/admin/compelled").status_code == 401
    r = a.client.get("/admin/compelled", headers={"Authorization": "Bearer gsa_forged"})
    assert r.status_code == 403 and "admin token is not valid" in r.text


def test_compelled_api__bad_requests_named(network: tuple[Node, Node, RunningHub]) -> None:
    a, _, _ = network
    body = {
        "requester": COURT, "requester_kind": "tribunal", "legal_basis": "x",
        "dataset_id": "cohort", "individuals": ["S2"], "purpose": "x",
        "received": TODAY.isoformat(),
    }  # fmt: skip
    r = a.client.post("/admin/compelled", json=body, headers=a.admin)
    assert r.status_code == 400 and "requester_kind 'tribunal' is not one of court" in r.text
    early = {**body, "requester_kind": "police", "deadline": "2000-01-01"}
    r = a.client.post("/admin/compelled", json=early, headers=a.admin)
    assert r.status_code == 400 and "is before the request was received" in r.text
    nobody = {**body, "requester_kind": "police", "individuals": ["S99"]}
    r = a.client.post("/admin/compelled", json=nobody, headers=a.admin)
    assert r.status_code == 404 and "S99" in r.text
    r = a.client.post("/admin/compelled", json={**body, "received": "yesterday"}, headers=a.admin)
    assert r.status_code == 422 and "Traceback" not in r.text


def test_compelled__gagged_disclosure_hidden_until_the_gag_ends(
    network: tuple[Node, Node, RunningHub],
) -> None:
    a, _, _ = network
    req = a.record(gag_until=(TODAY + timedelta(days=365)).isoformat())
    rid = req["request_id"]
    assert "S2" not in json.dumps(req)  # the register names participants by pseudonym only
    # nothing may leave before a disclosing decision, nor while the request is contested
    r = a.disclose(rid, ["S2"], ["consent"])
    assert r.status_code == 409 and "is pending: nothing may be disclosed" in r.text
    assert a.decide(rid, "contested").status_code == 200
    assert a.disclose(rid, ["S2"], ["consent"]).status_code == 409
    assert a.decide(rid, "partly_disclosed").status_code == 200
    # only participants the request names
    r = a.disclose(rid, ["S2", "S4"], ["consent"])
    assert r.status_code == 409 and "does not name ['S4']" in r.text
    r = a.disclose(rid, ["S2"], ["consent"])
    assert r.status_code == 200, r.text
    out = r.json()
    assert [set(rec) for rec in out["records"]] == [{"dataset_id", "consent_terms"}]  # no more
    # through the gate: audited and in the ledger like any other disclosure
    entry = a.gate.state.audit_entry(out["audit_id"])
    assert entry is not None and entry.body["what"]["surface"] == "compelled"
    assert entry.body["outcome"] == "answered"
    keys = {e.recipient_key for e in a.gate.state.ledger(individual_id="S2")}
    assert f"urn:genomesh:compelled|compelled:{rid}" in keys
    # gagged: S2's access report does not show it, in any form
    report = a.client.get("/participants/me/access-report", headers=a.participant("S2")).json()
    cohort = next(d for d in report["datasets"] if d["dataset_id"] == "cohort")
    assert cohort["compelled_disclosures"] == []
    assert "compelled" not in json.dumps(cohort["recipients"])
    # the gag's recorded end comes (the court lifted it): shown from then on
    r = a.client.post(
        f"/admin/compelled/{rid}/gag",
        json={"gag_until": (TODAY - timedelta(days=1)).isoformat()},
        headers=a.admin,
    )
    assert r.status_code == 200, r.text
    report = a.client.get("/participants/me/access-report", headers=a.participant("S2")).json()
    cohort = next(d for d in report["datasets"] if d["dataset_id"] == "cohort")
    [shown] = cohort["compelled_disclosures"]
    assert shown["requester"] == COURT and shown["items"] == ["consent"]
    assert shown["legal_basis"].startswith("Production order")
    assert shown["decision"] == "partly_disclosed"
    # S3 was named but nothing about them was disclosed
    report = a.client.get("/participants/me/access-report", headers=a.participant("S3")).json()
    assert all(d["compelled_disclosures"] == [] for d in report["datasets"])


def test_compelled__ungagged_disclosure_shown_at_once_and_register_in_the_chain(
    network: tuple[Node, Node, RunningHub], tmp_path: Path
) -> None:
    a, _, _ = network
    req = a.record(requester="Metropolitan Police", requester_kind="police", individuals=["S6"])
    rid = req["request_id"]
    assert a.decide(rid, "disclosed").status_code == 200
    assert a.disclose(rid, ["S6"], ["identity", "genotypes"]).status_code == 200
    report = a.client.get("/participants/me/access-report", headers=a.participant("S6")).json()
    cohort = next(d for d in report["datasets"] if d["dataset_id"] == "cohort")
    assert [d["request_id"] for d in cohort["compelled_disclosures"]] == [rid]
    # once disclosed, a request cannot be re-labelled refused
    assert a.decide(rid, "refused").status_code == 409
    listed = a.client.get(f"/admin/compelled/{rid}", headers=a.admin).json()
    assert listed["decision"] == "disclosed" and len(listed["disclosures"]) == 1
    # every step is an entry of the hash chain: editing one is found by verification
    steps = a.gate.state.audit_entries_of(REGISTER_KEY)
    assert [s.body["what"]["operation"] for s in steps if s.body["compelled"]["request_id"] == rid] == [
        "request", "decision", "disclosure",
    ]  # fmt: skip
    assert a.gate.state.verify().ok
    db = str(a.gate.state.engine.url.database)
    copy = tmp_path / "copy.sqlite"
    with sqlite3.connect(db) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    first = next(s for s in steps if s.body["compelled"]["request_id"] == rid)
    with sqlite3.connect(copy) as con:
        body = con.execute("SELECT body FROM gs_audit WHERE seq = ?", [first.seq]).fetchone()[0]
        edited = body.replace("Metropolitan Police", "Nobody")
        con.execute("UPDATE gs_audit SET body = ? WHERE seq = ?", [edited, first.seq])
    from genomesh.node.state import NodeState

    with NodeState.from_url(f"sqlite:///{copy}") as tampered:
        result = tampered.verify()
    assert not result.ok and result.first_bad_seq == first.seq


def test_transparency__nodes_count_without_names_and_the_hub_adds_them_up(
    network: tuple[Node, Node, RunningHub],
) -> None:
    a, b, hub = network
    before = a.client.get(f"/transparency/{YEAR}").json()
    refused = a.record(requester="Ministry of Examples", requester_kind="government")
    assert a.decide(refused["request_id"], "refused").status_code == 200
    b.record(requester="County Police", requester_kind="police", individuals=["S1"])  # pending
    mine = a.client.get(f"/transparency/{YEAR}")  # public: no token
    assert mine.status_code == 200
    report = mine.json()
    assert report["requests"] == before["requests"] + 1
    assert report["by_kind"]["government"] == before["by_kind"]["government"] + 1
    assert report["by_decision"]["refused"] == before["by_decision"]["refused"] + 1
    text = mine.text
    for name in ("Ministry of Examples", COURT, "Metropolitan Police", "S2", "S6", "Production"):
        assert name not in text
    theirs = b.client.get(f"/transparency/{YEAR}").json()
    assert theirs["requests"] == 1 and theirs["by_decision"]["pending"] == 1
    from tests.hub.standin import free_port

    hub.register("node-down", f"http://127.0.0.1:{free_port()}", "GB")  # nobody listening
    with hub.client() as c:
        r = c.get(f"/transparency/{YEAR}")
    assert r.status_code == 200, r.text
    network_report = r.json()
    assert network_report["nodes_reporting"] == 2
    down = next(n for n in network_report["nodes"] if n["node"] == "node-down")
    assert down["status"] == "not_reported" and "not reachable" in down["reason"]
    assert network_report["network"]["requests"] == report["requests"] + 1
    assert network_report["network"]["by_kind"]["police"] == (
        report["by_kind"]["police"] + theirs["by_kind"]["police"]
    )
    assert "County Police" not in r.text
    assert a.client.get("/transparency/12").status_code == 422


def test_cli_compelled__record_decide_disclose_and_report(
    node_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GENOMESH_STATE_URL", f"sqlite:///{tmp_path / 'state.sqlite'}")
    base = ["node", "compelled"]
    args = [
        *base, "record", str(node_dir), "--requester", COURT, "--kind", "court",
        "--legal-basis", "subpoena", "--dataset", "cohort", "--individual", "S1",
        "--purpose", "civil case", "--received", TODAY.isoformat(), "--gagged", "--json",
    ]  # fmt: skip
    assert main(args) == 0, capsys.readouterr().err
    rid = json.loads(capsys.readouterr().out)["request_id"]
    assert main([*base, "decide", str(node_dir), rid, "--decision", "maybe"]) == 2
    assert "decision 'maybe' is not one of refused" in capsys.readouterr().err
    out = tmp_path / "disclosed.json"
    disclose = [
        *base,
        "disclose",
        str(node_dir),
        rid,
        "--individual",
        "S1",
        "--item",
        "phenotypes",
        "--out",
        str(out),
    ]
    assert main(disclose) == 6
    assert "is pending" in capsys.readouterr().err
    assert main([*base, "decide", str(node_dir), rid, "--decision", "disclosed"]) == 0
    assert main(disclose) == 0, capsys.readouterr().err
    assert json.loads(out.read_text())["items"] == ["phenotypes"]
    assert main([*base, "list", str(node_dir)]) == 0
    listed = capsys.readouterr().out
    assert rid in listed and "no end set" in listed
    assert main(["node", "access-report", str(node_dir), "--individual", "S1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    cohort = next(d for d in report["datasets"] if d["dataset_id"] == "cohort")
    assert cohort["compelled_disclosures"] == []  # gagged, no end date yet
    assert main([*base, "gag", str(node_dir), rid, "--until", TODAY.isoformat()]) == 0
    assert f"gagged until {TODAY.isoformat()}" in capsys.readouterr().out
    assert main(["node", "access-report", str(node_dir), "--individual", "S1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    cohort = next(d for d in report["datasets"] if d["dataset_id"] == "cohort")
    assert [d["request_id"] for d in cohort["compelled_disclosures"]] == [rid]
    assert main([*base, "transparency", str(node_dir), "--year", str(YEAR), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["requests"] == 1 and report["by_decision"]["disclosed"] == 1
    assert report["with_gag_order"] == 1 and report["participants_disclosed"] == 1
    assert main(["audit", "verify", str(node_dir)]) == 0
