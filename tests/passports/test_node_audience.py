"""A node's own passport audience (QA F23): default, the old shared one refused, derived
passports linked to their original (revoking the original revokes them)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from genomesh.access.resolve import IdentityResolver
from genomesh.core.errors import AuthenticationError, InvalidInputError
from genomesh.core.settings import NodeSettings
from genomesh.testing.passports import TestIssuer, decode_part


def test_node_audience__defaults_to_the_base_url() -> None:
    assert NodeSettings(base_url="https://node.example.org/").expected_audience == (
        "https://node.example.org"
    )
    assert NodeSettings(audience="urn:x", base_url="https://n.example").expected_audience == "urn:x"


def test_node_audience__old_shared_audience_is_refused_naming_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        IdentityResolver(NodeSettings(node_dir=tmp_path, audience="genomesh"))
    message = raised.value.message
    assert "audience = 'genomesh'" in message and "genomesh.toml" in message
    assert "base_url" in message and "replayed" in message
    monkeypatch.setenv("GENOMESH_AUDIENCE", "genomesh")  # the environment too
    with pytest.raises(InvalidInputError, match="old audience"):
        IdentityResolver(NodeSettings(node_dir=tmp_path))


def _old_node(tmp_path: Path) -> Path:
    from genomesh.store import init_node

    node_dir = tmp_path / "old-node"
    init_node(node_dir, name="old-node", jurisdiction="NL")
    config = node_dir / "genomesh.toml"
    config.write_text(config.read_text() + 'audience = "genomesh"\n')
    return node_dir


def test_node_audience__serve_and_dial_out_refuse_an_old_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`genomesh node serve` and `genomesh node dial-out` stop before opening a port or
    connecting, with one line naming the setting and the fix (exit code 2, bad input)."""
    from genomesh.cli.main import main
    from genomesh.hub.signing import load_or_create_key, public_key_text

    node_dir = _old_node(tmp_path)
    port = "1"  # never bound: the configuration is refused first
    assert main(["node", "serve", str(node_dir), "--port", port]) == 2
    err = capsys.readouterr().err
    assert "audience = 'genomesh'" in err and "Traceback" not in err
    hub_key = public_key_text(load_or_create_key(tmp_path / "hub"))
    args = ["node", "dial-out", str(node_dir), "--hub", "http://127.0.0.1:9", "--hub-key", hub_key]
    assert main(args) == 2
    assert "audience = 'genomesh'" in capsys.readouterr().err


def test_node_audience__dial_out_node_defaults_to_the_hubs_path_for_it(tmp_path: Path) -> None:
    from genomesh.hub.signing import load_or_create_key, public_key_text
    from genomesh.node.dialout import build_client
    from genomesh.store import init_node

    node_dir = tmp_path / "au-rd"
    init_node(node_dir, name="au-rd", jurisdiction="AU")
    hub_key = public_key_text(load_or_create_key(tmp_path / "hub"))
    client = build_client(node_dir, hub_url="http://127.0.0.1:9/", hub_key=hub_key)
    assert client.node_app.state.settings.expected_audience == "http://127.0.0.1:9/nodes/au-rd"


def test_derived_passport__linked_to_its_original_and_revoked_with_it(tmp_path: Path) -> None:
    issuer = TestIssuer()
    with issuer.serve(), httpx.Client(timeout=10) as http:
        # signed while served, so the visas' jku is the served JWKS
        original_token = issuer.passport(audience="https://hub.example.org", lifetime=3600)
        original = decode_part(original_token.split(".")[1])
        now = int(time.time())
        derived, exp = issuer.issuer.derive_passport(
            original, audience=issuer.audience, lifetime=300, now=now
        )
        claims = decode_part(derived.split(".")[1])
        assert exp == claims["exp"] == now + 300 and claims["orig_jti"] == original["jti"]
        settings = issuer.node_settings(
            remote=True, node_dir=tmp_path, revocation_refresh_seconds=0
        )
        resolver = IdentityResolver(settings, http_client=http)
        identity = resolver.resolve(f"Bearer {derived}")
        assert identity.tier == "registered" and identity.orig_jti == original["jti"]
        with pytest.raises(AuthenticationError, match="audience"):
            resolver.resolve(f"Bearer {original_token}")  # the hub's, not this node's
        issuer.revoke(original["jti"])  # the DAC revokes the original passport
        with pytest.raises(AuthenticationError, match="revoked"):
            resolver.resolve(f"Bearer {derived}")


def test_derived_passport__bounded_by_the_original_and_needs_a_jti() -> None:
    issuer = TestIssuer()
    now = int(time.time())
    original = decode_part(issuer.passport(lifetime=60, now=now).split(".")[1])
    _, exp = issuer.issuer.derive_passport(original, audience="a", lifetime=300, now=now)
    assert exp == original["exp"] == now + 60
    with pytest.raises(InvalidInputError, match="expired"):
        issuer.issuer.derive_passport(original, audience="a", lifetime=300, now=now + 61)
    with pytest.raises(InvalidInputError, match="jti"):
        issuer.issuer.derive_passport(
            {k: v for k, v in original.items() if k != "jti"}, audience="a", lifetime=300
        )
