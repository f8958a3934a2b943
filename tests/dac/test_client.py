"""The Python client (genomesh.hub.dac.client.DacClient) against the live hub."""

from __future__ import annotations

import pytest

from genomesh.core.errors import (
    AccessDeniedError,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    UpstreamError,
)
from genomesh.hub.dac.client import DacClient
from tests.dac.conftest import HMB_URL, PASSWORDS, free_port


def test_dac_client__apply_decide_passport(live_hub: str) -> None:
    with DacClient(live_hub) as rita, DacClient(live_hub) as bob:
        rita.register(
            "rita", "Sequencing-Lab-Bench-77", institution="uni.example.org", accept_terms=True
        )
        rita.login("rita", "Sequencing-Lab-Bench-77")
        app = rita.apply(
            title="Cardio", datasets=["n1/hmb1"], purpose={"category": "health_medical"},
            accepted_terms=True,
        )  # fmt: skip
        assert app["state"] == "submitted" and app["datasets"] == [HMB_URL]
        with pytest.raises(AccessDeniedError, match="not a DAC member"):
            rita.decide(app["id"], "approve", until="2099-01-01")
        bob.login("bob", PASSWORDS["bob"])
        assert [a["id"] for a in bob.applications(state="submitted")] == [app["id"]]
        approved = bob.decide(app["id"], "approve", until="2099-01-01", comment="ok")
        assert approved["state"] == "approved"
        with pytest.raises(ConflictError, match="only submitted ones are decided"):
            bob.decide(app["id"], "reject", comment="changed my mind")
        out = rita.passport()
        assert {v["type"] for v in out["visas"]} >= {
            "ControlledAccessGrants",
            "genomesh.ResearchPurpose",
        }
        assert rita.notifications() == []
        with pytest.raises(NotFoundError, match="no application 77"):
            rita.show(77)
        rita.logout()
        with pytest.raises(AuthenticationError):
            rita.me()


def test_dac_client__unreachable_hub() -> None:
    with (
        DacClient(f"http://127.0.0.1:{free_port()}", timeout=2) as dac,
        pytest.raises(UpstreamError, match="cannot reach the hub"),
    ):
        dac.login("x", "y")
