"""The passport battery against passports issued by the real hub app (its keys, JWKS, list).

The node fetches the JWKS and the revocation list from the hub app served on loopback;
good and bad passports are signed with the hub's own KeyStore.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from genomesh.access.resolve import IdentityResolver
from genomesh.core.errors import AuthenticationError
from genomesh.core.settings import HubSettings
from genomesh.testing.passports import TestIssuer, serve_app
from tests.passports.test_battery import CASES, NODE_DATASETS, Case


@pytest.fixture(scope="module")
def hub_issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestIssuer]:
    from genomesh.hub.app import create_app

    hub_dir: Path = tmp_path_factory.mktemp("hub")
    holder: dict = {}

    def factory(base_url: str):  # the hub must know its own URL (jwks_uri, jku)
        settings = HubSettings(hub_dir=hub_dir, base_url=base_url, issuer=base_url)
        holder["app"] = app = create_app(settings)
        return app

    with serve_app(factory, lifespan="on") as base_url:
        broker = holder["app"].state.broker
        issuer = TestIssuer(base_url, keys=broker.keys)
        issuer.issuer = broker.visa_issuer()
        issuer.revocations = broker.revocations  # what the hub publishes
        issuer.base_url = base_url
        yield issuer


@pytest.fixture(scope="module")
def hub_resolver(hub_issuer: TestIssuer) -> Iterator[IdentityResolver]:
    settings = hub_issuer.node_settings(remote=True, revocation_refresh_seconds=0)
    with httpx.Client(timeout=5.0) as client:
        yield IdentityResolver(settings, http_client=client, known_datasets=lambda: NODE_DATASETS)


def test_hub__metadata_points_at_its_own_endpoints(hub_issuer: TestIssuer) -> None:
    with httpx.Client() as client:
        meta = client.get(f"{hub_issuer.base_url}/.well-known/openid-configuration").json()
    assert meta["issuer"] == hub_issuer.iss
    assert meta["jwks_uri"] == hub_issuer.trusted(remote=True).jwks_url


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_resolver__battery_against_hub_issued_passports(
    case: Case, hub_issuer: TestIssuer, hub_resolver: IdentityResolver
) -> None:
    header = case.make(hub_issuer)
    if case.tier is None:
        with pytest.raises(AuthenticationError, match=case.error):
            hub_resolver.resolve(header)
        return
    identity = hub_resolver.resolve(header)
    assert identity.tier == case.tier
    assert identity.controlled_datasets == case.datasets
    if case.dropped:
        assert any(re.search(case.dropped, d) for d in identity.dropped_visas)
