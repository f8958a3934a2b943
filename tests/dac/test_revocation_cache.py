"""The revocation list is cached per worker, yet a revocation counts at once everywhere."""

from __future__ import annotations

from genomesh.access.keys import KeyStore
from genomesh.core.settings import HubSettings
from genomesh.hub.dac import DacService
from tests.dac.conftest import FAST_HASHER, HMB_URL, Clock
from tests.dac.test_passport import HMB, approved


def test_revocations__change_at_one_worker_is_seen_at_the_next_read_of_another(
    service: DacService, hub_settings: HubSettings, clock: Clock
) -> None:
    # worker B: its own DacService, engine and cache on the same hub database
    other = DacService(
        hub_settings, keys=KeyStore.ephemeral(), clock=clock, password_hasher=FAST_HASHER
    )
    app_id = approved(service, HMB_URL, HMB)
    jtis = {v["jti"] for v in service.passport("alice").visas}
    assert jtis and not jtis & other.revocations.revoked()
    reads = other.revocations.rebuilds
    for _ in range(5):  # nothing changed: the cached list, no rebuild
        other.revocations.revoked()
    assert other.revocations.rebuilds == reads

    service.revoke("bob", app_id, reason="misuse")  # at worker A
    assert jtis <= other.revocations.revoked()  # B: at once, no waiting for a refresh
    assert other.revocations.rebuilds == reads + 1


def test_revocations__single_revoked_id_and_expiry(service: DacService, clock: Clock) -> None:
    revocations = service.revocations
    assert "jti-1" not in revocations.revoked()
    expires = int(clock().timestamp()) + 60
    revocations.revoke("jti-1", expires=expires)
    assert "jti-1" in revocations.revoked()
    from datetime import timedelta

    clock.advance(timedelta(seconds=120))  # the entry expired: it leaves the cached list too
    assert "jti-1" not in revocations.revoked()
