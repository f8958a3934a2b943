"""The DAC on each database it supports (SQLite file, PostgreSQL): one contract, same results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from genomesh.access.keys import KeyStore
from genomesh.core.consent import DataUseTerm
from genomesh.core.errors import ConflictError
from genomesh.core.settings import HubSettings
from genomesh.hub.dac import DacService
from genomesh.hub.dac.datasets import DatasetRef
from genomesh.hub.dac.notifications import NotificationIn
from genomesh.hub.dac.schemas import ApplicationIn, DatasetIn
from tests.dac.conftest import ADMIN_PASSWORD, FAST_HASHER, HMB_URL, NODE_URL, Clock


def test_dac_contract__workflow_on_backend(state_url: str, tmp_path: Path) -> None:
    clock = Clock()
    settings = HubSettings(
        hub_dir=tmp_path / "hub", state_url=state_url, admin_password=ADMIN_PASSWORD
    )
    svc = DacService(settings, keys=KeyStore.ephemeral(), clock=clock, password_hasher=FAST_HASHER)
    svc.register_dataset(
        "admin",
        DatasetIn(
            node="n1", dataset_id="hmb1", base_url=NODE_URL, duo=[DataUseTerm(id="DUO:0000006")]
        ),
    )
    svc.register(username="alice", password="Wonderland-Research-42")
    svc.register(username="bob", password="Committee-Seat-8812")
    svc.add_member("admin", "bob", dataset=DatasetRef(node="n1", dataset_id="hmb1"), committee=None)
    with pytest.raises(ConflictError):
        svc.register(username="alice", password="Wonderland-Research-43")

    body = ApplicationIn(
        title="t", datasets=[DatasetRef(url=HMB_URL)], purpose={"category": "health_medical"},
        accepted_terms=True, submit=True,
    )  # fmt: skip
    app = svc.apply("alice", body)
    assert app.precheck is not None and app.precheck["decision"] == "approve"
    approved = svc.decide("bob", app.id, "approve", until=datetime.now(UTC) + timedelta(days=1))
    assert approved.approved_until is not None and approved.approved_until.tzinfo is not None
    assert len(svc.passport("alice").visas) == 5

    second = svc.decide(
        "bob", svc.apply("alice", body).id, "approve", until=datetime.now(UTC) + timedelta(days=9)
    )
    svc.revoke("bob", second.id, reason="misuse")
    assert {v["jti"] for v in second.visas} <= svc.revocations.revoked()

    clock.advance(timedelta(days=2))
    assert svc.show("alice", app.id).state == "expired"
    assert svc.passport("alice").visas == []
    assert [e.action for e in svc.show("alice", app.id).events] == [
        "create",
        "submit",
        "approve",
        "expire",
    ]

    note = NotificationIn(
        node="n1", dataset_id="hmb1", individual_pseudonym="p1",
        recipients=[svc.me("alice").subject], withdrawn_at=datetime.now(UTC),
    )  # fmt: skip
    with svc.database.transaction() as session:
        from genomesh.hub.dac.notifications import store_notification

        store_notification(session, note, clock=clock)
    assert [n.individual_pseudonym for n in svc.notifications("alice")] == ["p1"]
