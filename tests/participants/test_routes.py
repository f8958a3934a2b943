"""The participant API over the node app: token auth, access report, export, withdrawal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from genomesh.core.settings import NodeSettings
from genomesh.gate import Gate, GateRequest
from tests.gate.conftest import PLAIN, carriers_at, researcher
from tests.gate.serve import app_gate, serve_node


@pytest.fixture
def client(node_dir: Path, tmp_path: Path) -> Iterator[httpx.Client]:
    """The real node app served by uvicorn on a free loopback port."""
    settings = NodeSettings.load(
        node_dir, state_url=f"sqlite:///{tmp_path / 'state.sqlite'}", dataset_policies=PLAIN
    )  # the exposure numbers below are the plain account's
    with serve_node(settings) as (c, app):
        c.app = app  # type: ignore[attr-defined]
        yield c


def _gate(client: httpx.Client) -> Gate:
    return app_gate(client.app)  # type: ignore[attr-defined]


def _token(client: httpx.Client, individual: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {_gate(client).state.issue_participant_token(individual)}"}


def test_participant_api__requires_a_valid_token(client: httpx.Client) -> None:
    assert client.get("/participants/me/access-report").status_code == 401
    r = client.get("/participants/me/export", headers={"Authorization": "Bearer gsp_forged"})
    assert r.status_code == 401
    assert "unknown or revoked participant token" in r.text
    assert "Traceback" not in r.text


def test_participant_api__access_report_lists_recipients(client: httpx.Client) -> None:
    gate = _gate(client)
    gate.run(
        GateRequest(researcher("alice"), "beacon", "g_variants", {}, ("cohort",), "count"),
        carriers_at(gate.node, 200),
    )
    r = client.get("/participants/me/access-report", headers=_token(client, "S1"))
    assert r.status_code == 200, r.text
    body = r.json()
    cohort = next(d for d in body["datasets"] if d["dataset_id"] == "cohort")
    assert [x["recipient"] for x in cohort["recipients"]] == ["alice"]
    assert cohort["withdrawn_at"] is None
    # what answers revealed about S1's membership: 8 carriers at pos 200 (docs/disclosure-control.md)
    from genomesh.disclosure.exposure import charge

    assert cohort["exposure"] == {"spent": pytest.approx(charge(8, 10)), "budget": 0.1}
    # and how much S1's alleles were asked about: that one question, about 8 carriers
    from genomesh.disclosure.exposure import expected_charge

    assert cohort["scrutiny"] == {"asked": pytest.approx(expected_charge(8, 10)), "budget": 25.0}
    # the participant's own request is audited like any other answer
    assert gate.state.audit_entry(body["audit_id"]).body["what"]["operation"] == "access_report"  # type: ignore[union-attr]


def test_participant_api__export_contains_own_data_only(client: httpx.Client) -> None:
    r = client.get("/participants/me/export", headers=_token(client, "S3"))
    assert r.status_code == 200, r.text
    datasets = {d["dataset_id"]: d for d in r.json()["datasets"]}
    assert set(datasets) == {"cohort", "noterms"}
    cohort = datasets["cohort"]
    calls = {(g["pos"], g["genotype"]) for g in cohort["genotypes"]["records"]}
    assert calls == {(100, "1/1"), (200, "0/1")}  # S3 is hom-alt at 100, het at 200
    assert [t["id"] for t in cohort["consent_terms"]] == ["DUO:0000042"]
    assert cohort["attributes"]["individual_id"] == "S3"
    # nobody else's data, and no ledger rows for a participant's own copy
    assert "S4" not in r.text
    assert _gate(client).state.ledger(individual_id="S3") == []


def test_participant_api__withdraw_then_report_and_conflict(client: httpx.Client) -> None:
    headers = _token(client, "S5")
    r = client.post(
        "/participants/me/withdraw",
        json={"dataset_id": "cohort", "reason": "no longer"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert [w["dataset_id"] for w in r.json()["withdrawn"]] == ["cohort"]
    assert "S5" in _gate(client).state.withdrawn("cohort")
    again = client.post("/participants/me/withdraw", json={"dataset_id": "cohort"}, headers=headers)
    assert again.status_code == 409
    other = client.post("/participants/me/withdraw", json={"dataset_id": "nope"}, headers=headers)
    assert other.status_code == 404
    bad = client.post("/participants/me/withdraw", json={"dataset": "cohort"}, headers=headers)
    assert bad.status_code in (400, 422)
    report = client.get("/participants/me/access-report", headers=headers).json()
    cohort = next(d for d in report["datasets"] if d["dataset_id"] == "cohort")
    assert cohort["withdrawn_at"] is not None
    # withdrawing from everything else
    rest = client.post("/participants/me/withdraw", json={}, headers=headers)
    assert [w["dataset_id"] for w in rest.json()["withdrawn"]] == ["noterms"]
