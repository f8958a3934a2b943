"""Passports from the DAC: verified by the node-side resolver; expiry, revocation, purposes."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from genomesh.access.issuer import VisaIssuer
from genomesh.access.resolve import IdentityResolver
from genomesh.core.errors import (
    AccessDeniedError,
    AuthenticationError,
    ConflictError,
    InvalidInputError,
)
from genomesh.core.settings import NodeSettings, TrustedIssuer
from genomesh.hub.dac import DacService
from genomesh.hub.dac.datasets import DatasetRef
from genomesh.hub.dac.schemas import ApplicationIn
from tests.dac.conftest import DS_URL, HMB_URL, NODE_URL, broker_app, serve

HMB = {"category": "health_medical", "ethics_approval": "EC-1"}


def approved(service: DacService, url: str, purpose: dict, *, days: float = 30) -> int:
    app = service.apply(
        "alice",
        ApplicationIn(
            title="study", datasets=[DatasetRef(url=url)], purpose=purpose,
            accepted_terms=True, submit=True,
        ),
    )  # fmt: skip
    until = service.clock() + timedelta(days=days)
    return service.decide("bob", app.id, "approve", until=until).id


def node_settings(tmp_path: Path, service: DacService, **issuer: str) -> NodeSettings:
    trusted = TrustedIssuer(iss=service.settings.issuer, **issuer)
    if "jwks_url" not in issuer:
        trusted = trusted.model_copy(update={"jwks": service.keys.jwks()})
    return NodeSettings(
        node_dir=tmp_path, base_url=NODE_URL, trusted_issuers=[trusted],
        jurisdiction="DE", passport_leeway_seconds=0, revocation_refresh_seconds=0,
    )  # fmt: skip


def test_passport__controlled_for_granted_dataset_with_purpose(
    service: DacService, tmp_path: Path
) -> None:
    approved(service, HMB_URL, HMB)
    out = service.passport("alice", audience=NODE_URL)
    identity = IdentityResolver(node_settings(tmp_path, service)).resolve(f"Bearer {out.passport}")
    assert identity.tier == "controlled"
    assert identity.controlled_datasets == frozenset({"hmb1"})
    assert identity.subject == service.me("alice").subject
    assert identity.purpose is not None
    assert identity.purpose.category == "health_medical"
    assert identity.purpose.user_id == "alice"


def test_passport__no_approval_gives_anonymous_tier(service: DacService, tmp_path: Path) -> None:
    out = service.passport("alice", audience=NODE_URL)
    assert out.visas == []
    identity = IdentityResolver(node_settings(tmp_path, service)).resolve(f"Bearer {out.passport}")
    assert identity.tier == "anonymous"
    assert identity.controlled_datasets == frozenset()


def test_passport__default_is_for_the_hub_and_refused_at_a_node(
    service: DacService, tmp_path: Path
) -> None:
    """QA F23: a passport is for one audience. The default is the hub's (the Beacon network
    sends each node its own); a node accepts only one for its own audience (its base URL)."""
    approved(service, HMB_URL, HMB)
    resolver = IdentityResolver(node_settings(tmp_path, service))
    hub_passport = service.passport("alice").passport
    assert _claims(hub_passport)["aud"] == service.settings.hub_audience
    with pytest.raises(AuthenticationError, match="audience"):
        resolver.resolve(f"Bearer {hub_passport}")
    node_passport = service.passport("alice", audience=NODE_URL).passport
    assert _claims(node_passport)["aud"] == NODE_URL
    assert resolver.resolve(f"Bearer {node_passport}").tier == "controlled"


def test_passport__expired_approval_left_out(service: DacService, clock) -> None:
    approved(service, HMB_URL, HMB, days=1)
    assert any(v["type"] == "ControlledAccessGrants" for v in service.passport("alice").visas)
    clock.advance(timedelta(days=2))
    assert service.passport("alice").visas == []


def test_passport__revoked_visas_left_out_and_listed(service: DacService) -> None:
    app_id = approved(service, HMB_URL, HMB)
    jtis = {v["jti"] for v in service.passport("alice").visas}
    service.revoke("bob", app_id, reason="misuse")
    assert service.passport("alice").visas == []
    assert jtis <= service.revocations.revoked()


def test_passport__two_purposes_need_an_application(service: DacService) -> None:
    first = approved(service, HMB_URL, HMB)
    second = approved(
        service, DS_URL, {"category": "disease_specific", "diseases": ["ICD10:C50.9"]}
    )
    with pytest.raises(ConflictError, match="more than one research purpose"):
        service.passport("alice")
    only_ds = service.passport("alice", application_id=second)
    assert {v["value"] for v in only_ds.visas if v["type"] == "ControlledAccessGrants"} == {DS_URL}
    only_hmb = service.passport("alice", application_id=first)
    assert {v["value"] for v in only_hmb.visas if v["type"] == "ControlledAccessGrants"} == {
        HMB_URL
    }


def test_passport__revocation_reaches_node_through_broker_list(
    service: DacService, tmp_path: Path
) -> None:
    app_id = approved(service, HMB_URL, HMB)
    # a passport issued before the revocation
    token = service.passport("alice", audience=NODE_URL).passport
    live = serve(broker_app(service))
    try:
        settings = node_settings(
            tmp_path, service,
            jwks_url=f"{live.url}/.well-known/jwks.json",
            revocations_url=f"{live.url}/ga4gh/revocations",
        )  # fmt: skip
        settings.trusted_issuers[0].jku_allowed.append(
            f"{service.settings.base_url}/.well-known/jwks.json"
        )
        with httpx.Client(timeout=10) as http:
            resolver = IdentityResolver(settings, http_client=http)
            assert resolver.resolve(f"Bearer {token}").tier == "controlled"
            service.revoke("bob", app_id, reason="misuse")
            after = resolver.resolve(f"Bearer {token}")
            assert after.tier != "controlled"
            assert after.controlled_datasets == frozenset()
    finally:
        live.stop()


def test_api_passport__no_store_headers_and_alias(
    client: httpx.Client, service: DacService
) -> None:
    approved(service, HMB_URL, HMB)
    from tests.dac.conftest import login

    headers = login(client, "alice")
    response = client.get("/dac/passport", headers=headers)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache, no-store"
    assert response.json()["passport"].count(".") == 2
    assert client.get("/passport", headers=headers).status_code == 200
    assert client.get("/dac/passport").status_code == 401
    expires = datetime.fromisoformat(response.json()["expires_at"])
    assert expires - datetime.now(UTC) <= timedelta(
        seconds=service.settings.passport_lifetime_seconds
    )


def test_hub_restart__broker_publishes_dac_revocations_from_the_start(
    service: DacService, hub_settings
) -> None:
    from genomesh.hub.app import create_app

    app_id = approved(service, HMB_URL, HMB)
    jtis = {v["jti"] for v in service.passport("alice").visas}
    service.revoke("bob", app_id, reason="misuse")
    live = serve(create_app(hub_settings))  # a fresh hub process on the same database
    try:
        body = httpx.get(f"{live.url}/ga4gh/revocations", timeout=10).json()
    finally:
        live.stop()
    assert body["issuer"] == hub_settings.issuer
    assert jtis <= set(body["revoked"])


def test_hub_start__refused_with_a_weak_admin_password(hub_settings) -> None:
    from genomesh.hub.app import create_app

    weak = hub_settings.model_copy(update={"admin_password": "changeme"})
    app = create_app(weak)

    async def start() -> None:
        async with app.router.lifespan_context(app):
            pass

    with pytest.raises(InvalidInputError, match="password too short"):
        asyncio.run(start())


def test_registered_tier__verified_researcher_who_accepted_terms(
    service: DacService, tmp_path: Path
) -> None:
    with pytest.raises(ConflictError, match="not accepted the Registered Access terms"):
        service.verify_researcher("admin", "alice")
    with pytest.raises(AccessDeniedError, match="hub admin"):
        service.verify_researcher("bob", "alice")
    service.accept_terms("alice")
    verified = service.verify_researcher("admin", "alice", days=30)
    assert verified.verified_by == "admin"
    out = service.passport("alice", audience=NODE_URL)
    assert sorted(v["type"] for v in out.visas) == ["AcceptedTermsAndPolicies", "ResearcherStatus"]
    identity = IdentityResolver(node_settings(tmp_path, service)).resolve(f"Bearer {out.passport}")
    assert identity.tier == "registered"
    assert identity.controlled_datasets == frozenset()
    # an approval adds the grant; the account-level visas stay in per-application passports
    app_id = approved(service, HMB_URL, HMB)
    scoped = service.passport("alice", application_id=app_id, audience=NODE_URL)
    assert {v["by"] for v in scoped.visas if v["type"] == "ResearcherStatus"} <= {"so", "dac"}
    identity = IdentityResolver(node_settings(tmp_path, service)).resolve(
        f"Bearer {scoped.passport}"
    )
    assert identity.tier == "controlled"


def _claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def _with_claims(jwt: str, claims: dict[str, Any]) -> str:
    """The same header and signature over edited claims (a forgery)."""
    header, _, sig = jwt.split(".")
    raw = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{raw}.{sig}"


def test_hub_passport__battery_of_bad_variants(service: DacService, tmp_path: Path) -> None:
    approved(service, HMB_URL, HMB)
    resolver = IdentityResolver(node_settings(tmp_path, service))
    elsewhere = service.passport("alice", audience="https://elsewhere.example").passport
    with pytest.raises(AuthenticationError, match="aud"):
        resolver.resolve(f"Bearer {elsewhere}")
    token = service.passport("alice", audience=NODE_URL).passport
    forged = _with_claims(token, {**_claims(token), "sub": "someone-else"})
    with pytest.raises(AuthenticationError):
        resolver.resolve(f"Bearer {forged}")
    # visas edited to name another dataset, inside a passport validly re-signed by the hub key:
    # each edited visa fails its own signature and is dropped
    swapped = []
    for visa in _claims(token)["ga4gh_passport_v1"]:
        claims = _claims(visa)
        if claims["ga4gh_visa_v1"]["type"] == "ControlledAccessGrants":
            claims["ga4gh_visa_v1"]["value"] = DS_URL
        swapped.append(_with_claims(visa, claims))
    issuer = VisaIssuer(service.keys, issuer=service.settings.issuer)
    resigned = issuer.passport(_claims(token)["sub"], swapped, audience=NODE_URL)
    identity = resolver.resolve(f"Bearer {resigned}")
    assert identity.controlled_datasets == frozenset()
    assert identity.tier != "controlled"


def test_hub_passport__survives_key_rotation(service: DacService, tmp_path: Path) -> None:
    approved(service, HMB_URL, HMB)
    old = service.passport("alice", audience=NODE_URL).passport
    service.keys.rotate()
    new = service.passport("alice", audience=NODE_URL).passport
    resolver = IdentityResolver(
        node_settings(tmp_path, service)
    )  # JWKS: new key + still-needed old
    assert resolver.resolve(f"Bearer {old}").controlled_datasets == frozenset({"hmb1"})
    assert resolver.resolve(f"Bearer {new}").controlled_datasets == frozenset({"hmb1"})
    assert old.split(".")[0] != new.split(".")[0]  # a different kid signed the new one
