"""Proportionate review, the register and community decisions on each DAC database (SQLite
file, PostgreSQL): the same contract, through DacService and Governance (no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from genomesh.access.keys import KeyStore
from genomesh.core.consent import DataUseTerm
from genomesh.core.errors import AccessDeniedError, ConflictError, InvalidInputError
from genomesh.core.settings import HubSettings
from genomesh.hub.dac import DacService
from genomesh.hub.dac.datasets import DatasetRef
from genomesh.hub.dac.governance import Governance
from genomesh.hub.dac.register import PublicationIn
from genomesh.hub.dac.review import ReviewPolicy
from genomesh.hub.dac.schemas import ApplicationIn, DatasetIn
from tests.dac.conftest import ADMIN_PASSWORD, FAST_HASHER, NODE_URL, Clock

GRU = [DataUseTerm(id="DUO:0000042")]
POLICY = ReviewPolicy.model_validate({"automatic": {"institutions": ["uni.example.org"]}})
PURPOSE = {"category": "general", "aggregates_only": True, "ethics_approval": "EC-1"}


def test_governance_contract__on_backend(state_url: str, tmp_path: Path) -> None:
    settings = HubSettings(
        hub_dir=tmp_path / "hub", state_url=state_url, admin_password=ADMIN_PASSWORD
    )
    svc = DacService(
        settings, keys=KeyStore.ephemeral(), clock=Clock(), password_hasher=FAST_HASHER
    )
    gov = Governance(svc)
    for dataset_id, country in (("open", "SE"), ("nordic", "SE")):
        svc.register_dataset("admin", DatasetIn(
            node="n1", dataset_id=dataset_id, base_url=NODE_URL, duo=GRU, jurisdiction=country,
            review_policy=POLICY,
        ))  # fmt: skip
    svc.register(username="alice", password="Wonderland-Research-42",
                 institution="uni.example.org", accept_terms=True)  # fmt: skip
    svc.verify_researcher("admin", "alice")
    svc.register(username="bob", password="Committee-Seat-8812")
    svc.add_member(
        "admin", "bob", dataset=DatasetRef(node="n1", dataset_id="nordic"), committee=None
    )
    svc.register(username="aili", password="Other-Committee-5561")

    def apply(dataset: str, purpose: dict[str, object]) -> int:
        body = ApplicationIn(
            title="t", lay_summary="in plain words", datasets=[DatasetRef(node="n1", dataset_id=dataset)],
            purpose=purpose, accepted_terms=True, submit=True,
        )  # fmt: skip
        return svc.apply("alice", body).id

    auto = svc.show("alice", apply("open", PURPOSE))
    assert auto.state == "approved" and auto.review_route == "automatic"
    no_ethics = svc.show("alice", apply("open", {"category": "general", "aggregates_only": True}))
    assert no_ethics.state == "submitted"
    assert any("rule se-ethics-approval" in r for r in no_ethics.review_reasons)

    gov.report_publication("alice", auto.id, PublicationIn(title="Paper", doi="10.1000/x1"))
    register = gov.register("n1", "open")
    assert [p["application"] for p in register["projects"]] == [auto.id]
    assert register["projects"][0]["publications"][0]["doi"] == "10.1000/x1"

    gov.create_community("admin", slug="nation", name="A Nation", governance_body="", contact="")
    gov.add_governor("admin", "nation", "aili")
    with pytest.raises(InvalidInputError, match="not a Local Contexts"):
        gov.mark_data("admin", "nation", DatasetRef(node="n1", dataset_id="nordic"), group="",
                      labels=["TK Whatever"])  # fmt: skip
    gov.mark_data("admin", "nation", DatasetRef(node="n1", dataset_id="nordic"), group="",
                  labels=["BC Provenance"])  # fmt: skip
    governed = apply("nordic", PURPOSE)
    routed = svc.show("alice", governed)
    assert routed.state == "submitted"  # community data: never automatic
    assert any("community governs" in r for r in routed.review_reasons)
    svc.decide("bob", governed, "approve", until=datetime.now(UTC) + timedelta(days=5))
    types = {v["type"] for v in svc.passport("alice", application_id=governed).visas}
    assert "genomesh.CommunityApproval" not in types
    with pytest.raises(AccessDeniedError):
        gov.community_decide("bob", "nation", governed, "approve", comment="")
    gov.community_decide("aili", "nation", governed, "approve", comment="yes")
    with pytest.raises(ConflictError, match="already decided"):
        gov.community_decide("aili", "nation", governed, "decline", comment="no")
    visas = svc.passport("alice", application_id=governed).visas
    assert [v["value"] for v in visas if v["type"] == "genomesh.CommunityApproval"] == ["nation"]
    report = gov.community_report("aili", "nation")
    assert [a["application"] for a in report["applications"]] == [governed]
    # revoking the application ends the community visa with it
    svc.revoke("bob", governed, reason="misuse")
    assert svc.passport("alice").visas and all(
        v["type"] != "genomesh.CommunityApproval" for v in svc.passport("alice").visas
    )
