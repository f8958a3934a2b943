"""Fixtures: test issuers with real keys, served over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from genomesh.testing.passports import TestIssuer


@pytest.fixture
def issuer() -> TestIssuer:
    """A fresh ES256 issuer, trusted through inline keys."""
    return TestIssuer()


@pytest.fixture(scope="module")
def served_issuer() -> Iterator[TestIssuer]:
    """An issuer whose JWKS and revocation list are served on 127.0.0.1 (uvicorn thread)."""
    test_issuer = TestIssuer("https://hub.genomesh.test")
    with test_issuer.serve():
        yield test_issuer


@pytest.fixture
def http_client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as client:
        yield client
