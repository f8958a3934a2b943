"""What the custodian view reads at a real node: datasets and consent, the audit log with
verification status, withdrawals and the delivery of their notices, who received what."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from genomesh.audit.records import Disclosure
from genomesh.audit.search import AuditQuery
from genomesh.core.consent import DataUseTerm
from genomesh.core.settings import NodeSettings
from genomesh.node.admin import TOKEN_FILE, is_node_admin, node_admin_token
from genomesh.node.state import NodeState
from genomesh.participants.withdrawal import withdraw
from genomesh.store import ingest_dataset, init_node, open_node
from genomesh.testing.cohorts import shared_cohort
from genomesh.web.custodian_data import (
    audit_view,
    datasets_overview,
    recipients_view,
    withdrawals_view,
)

HMB = DataUseTerm(id="DUO:0000006")


@pytest.fixture(scope="module")
def node_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cohort = shared_cohort()
    root = tmp_path_factory.mktemp("custodian") / "node"
    init_node(root, name="nl-node", jurisdiction="NL")
    ingest_dataset(root, "cohort1", vcf=cohort.vcf, individuals=cohort.individuals,
                   consent=cohort.consent, duo=[HMB], name="simulated cohort")  # fmt: skip
    return root


@pytest.fixture
def world(node_dir: Path, tmp_path: Path) -> Iterator[tuple[object, NodeState, NodeSettings]]:
    settings = NodeSettings.load(node_dir, state_url=f"sqlite:///{tmp_path / 'state.sqlite'}")
    state = NodeState.open(settings)
    try:
        yield open_node(node_dir), state, settings
    finally:
        state.close()


def _answer(state: NodeState, who: str, people: list[str], *, kind: str = "aggregate") -> None:
    state.append_audit(
        {
            "who": {"identity_key": f"https://hub|{who}", "subject": who, "tier": "controlled"},
            "what": {"surface": "beacon", "operation": "individuals", "parameters": {}},
            "outcome": "answered",
            "datasets": [{"id": "cohort1", "n_individuals": len(people)}],
        },
        disclosures=[Disclosure("cohort1", p, kind) for p in people],
        recipient_key=f"https://hub|{who}",
        recipient_subject=who,
    )


def test_datasets__consent_groups_cover_every_participant(world) -> None:
    node, state, settings = world
    (ds,) = datasets_overview(node, state, settings)
    info = node.dataset("cohort1").info
    assert (ds.id, ds.n_individuals, ds.withdrawn) == ("cohort1", info.n_individuals, 0)
    assert ds.terms == ["HMB (DUO:0000006, health or medical or biomedical research)"]
    assert sum(n for _, n in ds.consent_groups) == info.n_individuals
    consents = node.dataset("cohort1").consents()
    n_gru = sum(1 for terms in consents.values() if [t.id for t in terms] == ["DUO:0000042"])
    gru = [
        n for label, n in ds.consent_groups if label == "GRU (DUO:0000042, general research use)"
    ]
    assert n_gru and gru == [n_gru]
    assert ds.policy["min_count"] == settings.policy_for("cohort1").min_count


def test_audit_and_withdrawal__status_flags_and_delivery(world) -> None:
    node, state, settings = world
    person = sorted(node.dataset("cohort1").consents())[0]
    _answer(state, "rita", [person])
    _answer(state, "maria", [person], kind="record")
    report = withdraw(state, settings=settings, node=node, dataset_id="cohort1",
                      individual_id=person, reason="moved away")  # fmt: skip
    assert report.hub_delivery == "local_only"  # no hub_url: notices stay at the node
    _answer(state, "rita", [])

    view = audit_view(state, AuditQuery())
    assert view.ok and view.total == 4
    assert [r.status for r in view.rows] == ["chained"] * 4
    assert [r.includes_withdrawn for r in view.rows] == [False, False, True, True]
    assert [r.who for r in view.rows] == ["rita", "custodian", "maria", "rita"]
    assert view.rows[1].what == "participants/withdraw"

    w = withdrawals_view(state)
    assert [x["individual_id"] for x in w["withdrawals"]] == [person]
    assert sorted(n["recipient"] for n in w["notices"]) == ["maria", "rita"]
    assert w["delivery_counts"] == {"local_only": 2}
    assert {n["detail"] for n in w["notices"]} == {"no hub_url configured"}

    got = {(r["recipient"], r["kind"]): r["answers"] for r in recipients_view(state)}
    assert got == {("rita", "aggregate"): 1, ("maria", "record"): 1}

    with state.engine.begin() as conn:  # an edit in the database shows on the page
        conn.execute(text("UPDATE gs_audit SET outcome = 'refused' WHERE seq = 2"))
    broken = audit_view(state, AuditQuery())
    assert not broken.ok and "TAMPERED at entry 2" in broken.verdict
    assert [r.status for r in broken.rows] == ["unverified"] * 3 + ["chained"]


def test_operator_token__generated_once_private_and_checked(tmp_path: Path) -> None:
    init_node(tmp_path / "n", name="n", jurisdiction="NL")
    settings = NodeSettings.load(tmp_path / "n")
    token = node_admin_token(settings)
    path = tmp_path / "n" / TOKEN_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert node_admin_token(settings) == token  # the same on every call
    assert is_node_admin(settings, token) and is_node_admin(settings, f" {token}\n")
    assert not is_node_admin(settings, token[:-1]) and not is_node_admin(settings, None)
    fixed = NodeSettings.load(tmp_path / "n", admin_token="configured-token-123")
    assert node_admin_token(fixed) == "configured-token-123"
    assert not is_node_admin(fixed, token)
