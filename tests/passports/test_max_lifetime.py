"""A maximum passport lifetime (issue 12 part 4): a ten-year passport signed by a trusted key
is refused, by a node (`max_passport_lifetime_seconds`, default the DAC's 1 h) and by the
hub's Beacon network (its own `passport_lifetime_seconds`), with a message naming the limit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from genomesh.access.resolve import IdentityResolver
from genomesh.core.errors import AuthenticationError
from genomesh.core.settings import HubSettings, NodeSettings
from genomesh.testing.passports import TestIssuer
from tests.hub.conftest import RunningHub, start_hub
from tests.hub.standin import serving, standin_app

TEN_YEARS = 10 * 365 * 86400


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    running = start_hub(tmp_path)
    try:
        yield running
    finally:
        running.server.stop()


def test_max_lifetime__default_fits_what_the_dac_issues() -> None:
    assert NodeSettings().max_passport_lifetime_seconds == HubSettings().passport_lifetime_seconds


def test_max_lifetime__ten_year_passport_refused_by_a_node(issuer: TestIssuer) -> None:
    resolver = IdentityResolver(issuer.node_settings())
    token = issuer.passport(datasets=["ds1"], lifetime=TEN_YEARS)
    with pytest.raises(
        AuthenticationError, match=r"lives 315360000 s .* longer than the 3600 s accepted here"
    ) as caught:
        resolver.resolve(f"Bearer {token}")
    assert "max_passport_lifetime_seconds" in caught.value.message
    # the same grant in a passport of the usual hour is accepted
    accepted = resolver.resolve(issuer.bearer(datasets=["ds1"], lifetime=3600))
    assert accepted.tier == "controlled"


def test_max_lifetime__iat_in_the_past_does_not_hide_a_long_life(issuer: TestIssuer) -> None:
    """exp - iat counts: a passport issued long ago that is still valid for years is refused."""
    now = int(time.time())
    claims = issuer.passport_claims(now=now - 86400) | {"exp": now + TEN_YEARS}
    with pytest.raises(AuthenticationError, match="longer than the 3600 s"):
        IdentityResolver(issuer.node_settings()).resolve(f"Bearer {issuer.sign(claims)}")


def test_max_lifetime__per_node_setting(issuer: TestIssuer) -> None:
    day = issuer.bearer(lifetime=86400)
    with pytest.raises(AuthenticationError, match="longer than the 3600 s"):
        IdentityResolver(issuer.node_settings()).resolve(day)
    lenient = issuer.node_settings(max_passport_lifetime_seconds=2 * 86400)
    assert IdentityResolver(lenient).resolve(day).tier == "registered"


def test_max_lifetime__hub_refuses_a_ten_year_passport_of_its_own_key(hub: RunningHub) -> None:
    spy = standin_app("spy")
    with serving(spy) as node:
        hub.register("spy", node.url)
        with hub.client() as http:
            refused = http.get(
                "/individuals", headers={"authorization": hub.bearer(lifetime=TEN_YEARS)}
            )
            hour = http.get("/individuals", headers={"authorization": hub.bearer(lifetime=3600)})
    assert refused.status_code == 401
    assert "longer than the 3600 s accepted here" in refused.json()["error"]["errorMessage"]
    assert hour.status_code == 200
    assert len(spy.state.authorizations) == 1  # only the hour-long passport reached the node
