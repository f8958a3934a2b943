"""The hub's broker router over real HTTP, and a node resolver fetching from it."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from genomesh.access.jwks import KeyLookupError, TrustedKeys
from genomesh.access.keys import KeyStore
from genomesh.access.resolve import IdentityResolver
from genomesh.access.revocation import InMemoryRevocationList, RevocationChecker
from genomesh.core.errors import AuthenticationError
from genomesh.core.settings import HubSettings, TrustedIssuer
from genomesh.hub import broker
from genomesh.testing.passports import TestIssuer, serve_app


def test_broker__serves_jwks_metadata_and_revocations(
    served_issuer: TestIssuer, http_client: httpx.Client
) -> None:
    base = served_issuer.base_url
    jwks = http_client.get(f"{base}/.well-known/jwks.json")
    assert jwks.status_code == 200
    (key,) = jwks.json()["keys"]
    assert key["kid"] == served_issuer.keys.active_kid
    assert key["alg"] == "ES256" and key["kty"] == "EC" and key["use"] == "sig"
    assert "d" not in key  # never the private part

    meta = http_client.get(f"{base}/.well-known/openid-configuration").json()
    assert meta["issuer"] == "https://hub.genomesh.test"
    assert meta["jwks_uri"] == f"{base}/.well-known/jwks.json"
    assert meta["revocation_list_uri"] == f"{base}/ga4gh/revocations"

    grant = served_issuer.grant("ds9")
    served_issuer.revoke(grant)
    body = http_client.get(f"{base}/ga4gh/revocations").json()
    assert body["issuer"] == "https://hub.genomesh.test"
    assert grant.jti in body["revoked"]
    assert body["refresh_seconds"] == 60.0


def test_broker__visas_carry_jku_of_served_jwks(served_issuer: TestIssuer) -> None:
    from genomesh.testing.passports import decode_part

    header = decode_part(str(served_issuer.grant("ds1")).split(".")[0])
    assert header["jku"] == f"{served_issuer.base_url}/.well-known/jwks.json"
    assert header["kid"] == served_issuer.keys.active_kid


def test_broker__module_router_reads_app_state(tmp_path: Path) -> None:
    settings = HubSettings(hub_dir=tmp_path / "hub", issuer="https://hub.example.org")
    app = FastAPI()
    app.include_router(broker.router)
    with serve_app(app) as base, httpx.Client() as client:
        # not configured: a clean 404 error body, no stack trace
        response = client.get(f"{base}/.well-known/jwks.json")
        assert response.status_code == 404
        assert response.json()["error"] == "NotFoundError"
        app.state.broker = broker.BrokerState.from_settings(settings)
        keys = client.get(f"{base}/.well-known/jwks.json").json()["keys"]
    assert [k["kid"] for k in keys] == [app.state.broker.keys.active_kid]
    assert (tmp_path / "hub" / "keys" / "keys.json").is_file()
    issuer = app.state.broker.visa_issuer()
    assert issuer.jku == "http://127.0.0.1:8000/.well-known/jwks.json"


def test_resolver__fetches_jwks_and_follows_rotation(http_client: httpx.Client) -> None:
    issuer = TestIssuer("https://hub.genomesh.test")
    with issuer.serve():
        settings = issuer.node_settings(remote=True, jwks_refetch_min_seconds=0)
        resolver = IdentityResolver(settings, http_client=http_client)
        old_token = issuer.passport(datasets=["ds1"])
        assert resolver.resolve(f"Bearer {old_token}").tier == "controlled"
        fetches = resolver.keys.fetch_count

        old_kid = issuer.keys.active_kid
        new_kid = issuer.rotate()
        assert new_kid != old_kid
        new_token = issuer.passport(datasets=["ds1"])
        identity = resolver.resolve(f"Bearer {new_token}")
        assert identity.tier == "controlled"
        assert resolver.keys.fetch_count == fetches + 1  # refetched for the unknown kid
        # tokens signed before the rotation still verify (old key still published)
        assert resolver.resolve(f"Bearer {old_token}").tier == "controlled"
        published = [
            k["kid"] for k in http_client.get(issuer.trusted(remote=True).jwks_url).json()["keys"]
        ]
        assert published == [new_kid, old_kid]


def test_resolver__unknown_kid_refetch_is_rate_limited(http_client: httpx.Client) -> None:
    issuer = TestIssuer("https://hub.genomesh.test")
    with issuer.serve():
        settings = issuer.node_settings(remote=True, jwks_refetch_min_seconds=60)
        resolver = IdentityResolver(settings, http_client=http_client)
        resolver.resolve(issuer.bearer())
        assert resolver.keys.fetch_count == 1
        for _ in range(20):
            with pytest.raises(AuthenticationError, match="unknown key id"):
                resolver.resolve(f"Bearer {issuer.bad_passport('unknown_kid')}")
        assert resolver.keys.fetch_count == 1  # a flood of made-up kids costs the issuer nothing
        issuer.rotate()
        with pytest.raises(AuthenticationError, match="unknown key id"):
            resolver.resolve(issuer.bearer())  # within the rate limit the new key is not seen yet


def test_trusted_keys__unreachable_issuer_names_the_problem(http_client: httpx.Client) -> None:
    keys = TrustedKeys(
        [TrustedIssuer(iss="https://hub.test", jwks_url="http://127.0.0.1:9/jwks.json")],
        http_client=http_client,
    )
    with pytest.raises(KeyLookupError, match=r"keys of issuer 'https://hub\.test' unavailable"):
        keys.key("https://hub.test", "k1")


def test_resolver__jku_not_on_allow_list_drops_visa(http_client: httpx.Client) -> None:
    issuer = TestIssuer("https://hub.genomesh.test")
    with issuer.serve():
        settings = issuer.node_settings(remote=True)
        resolver = IdentityResolver(settings, http_client=http_client)
        issuer.issuer.jku = "https://attacker.example/jwks.json"
        identity = resolver.resolve(issuer.bearer(datasets=["ds1"]))
    assert identity.tier == "anonymous"
    assert all("allow-list" in reason for reason in identity.dropped_visas)
    assert len(identity.dropped_visas) == 3


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_revocation_checker__revocation_seen_within_refresh_interval(
    served_issuer: TestIssuer, http_client: httpx.Client
) -> None:
    clock = FakeClock()
    checker = RevocationChecker(
        [served_issuer.trusted(remote=True)],
        http_client=http_client,
        refresh_seconds=60,
        max_stale_seconds=600,
        clock=clock,
    )
    grant = served_issuer.grant("ds1")
    assert checker.check(served_issuer.iss, grant.jti) is None
    served_issuer.revoke(grant)
    clock.now += 59  # inside the interval: the cached list is still used
    assert checker.check(served_issuer.iss, grant.jti) is None
    clock.now += 1  # the bound: at most refresh_seconds after the revocation
    assert "revoked" in (checker.check(served_issuer.iss, grant.jti) or "")
    assert checker.fetch_count == 2


def test_revocation_checker__fails_closed_when_list_unreachable(http_client: httpx.Client) -> None:
    clock = FakeClock()
    issuer = TestIssuer("https://hub.genomesh.test")
    with issuer.serve():
        trusted = issuer.trusted(remote=True)
        checker = RevocationChecker(
            [trusted],
            http_client=http_client,
            refresh_seconds=60,
            max_stale_seconds=300,
            clock=clock,
        )
        assert checker.check(issuer.iss, "jti-1") is None
    # the issuer is gone: the last list is used until it is max_stale_seconds old
    clock.now += 299
    assert checker.check(issuer.iss, "jti-1") is None
    clock.now += 2
    reason = checker.check(issuer.iss, "jti-1")
    assert reason is not None and "unavailable" in reason


def test_resolver__revoked_passport_is_refused(
    served_issuer: TestIssuer, http_client: httpx.Client
) -> None:
    settings = served_issuer.node_settings(remote=True, revocation_refresh_seconds=0)
    resolver = IdentityResolver(settings, http_client=http_client)
    token = served_issuer.passport(datasets=["ds1"])
    assert resolver.resolve(f"Bearer {token}").tier == "controlled"
    served_issuer.revoke(token)
    with pytest.raises(AuthenticationError, match="revoked"):
        resolver.resolve(f"Bearer {token}")


def test_in_memory_revocation_list__forgets_expired_entries() -> None:
    revocations = InMemoryRevocationList(["a"])
    revocations.revoke("b", expires=int(time.time()) - 10)
    revocations.revoke("c", expires=int(time.time()) + 3600)
    assert revocations.revoked() == {"a", "c"}


def test_broker__build_router_with_persisted_keys(
    tmp_path: Path, http_client: httpx.Client
) -> None:
    keys = KeyStore.open(tmp_path / "keys", alg="RS256")
    app = FastAPI()
    app.include_router(
        broker.build_broker_router(keys, InMemoryRevocationList(), issuer="https://hub.test")
    )
    with serve_app(app) as base:
        (key,) = http_client.get(f"{base}/.well-known/jwks.json").json()["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256"


def test_broker__issuer_defaults_to_request_url(http_client: httpx.Client) -> None:
    app = FastAPI()
    app.include_router(broker.build_broker_router(KeyStore.ephemeral(), InMemoryRevocationList()))
    with serve_app(app) as base:
        meta = http_client.get(f"{base}/.well-known/openid-configuration").json()
    assert meta["issuer"] == base
    assert meta["jwks_uri"] == f"{base}/.well-known/jwks.json"


def test_resolver__issuer_list_never_fetched_drops_its_visas(
    issuer: TestIssuer, http_client: httpx.Client
) -> None:
    trusted = issuer.trusted()
    trusted.revocations_url = "http://127.0.0.1:9/ga4gh/revocations"  # nothing listens
    settings = issuer.node_settings(trusted_issuers=[trusted])
    identity = IdentityResolver(settings, http_client=http_client).resolve(
        issuer.bearer(datasets=["ds1"])
    )
    assert identity.tier == "anonymous"
    assert len(identity.dropped_visas) == 3
    assert all("unavailable" in reason for reason in identity.dropped_visas)
