"""Per-node passports (QA F23): the hub verifies a researcher's passport and sends each node a
short-lived passport for that node's audience alone, linked to the original by `orig_jti`.

Real hub on a loopback port, stand-in nodes that record the Authorization header they get,
real signatures (the hub's own keys), the node-side resolver for what a node would accept."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from genomesh.access.resolve import IdentityResolver
from genomesh.core.errors import AuthenticationError
from genomesh.core.settings import NodeSettings
from genomesh.testing.passports import TestIssuer, decode_part
from tests.hub.conftest import RunningHub
from tests.hub.standin import serving, standin_app


def _claims(token_or_header: str) -> dict[str, Any]:
    return decode_part(token_or_header.removeprefix("Bearer ").split(".")[1])


def _ask(hub: RunningHub, bearer: str | None, **params: str) -> httpx.Response:
    headers = {"authorization": bearer} if bearer else {}
    with hub.client() as http:
        return http.get("/individuals", params=params, headers=headers)


def _node_resolver(hub: RunningHub, node_url: str, tmp_path: Path) -> IdentityResolver:
    """What a genomesh node at `node_url` trusting the hub would accept."""
    return IdentityResolver(
        NodeSettings(node_dir=tmp_path, base_url=node_url, trusted_issuers=[hub.trusted()])
    )


def test_audiences__each_node_gets_a_derived_passport_for_itself_only(
    hub: RunningHub, tmp_path: Path
) -> None:
    token = hub.passport(lifetime=3600)
    original = _claims(token)
    a_app, b_app = standin_app("a"), standin_app("b")
    with serving(a_app) as a, serving(b_app) as b:
        hub.register("a", a.url)
        hub.register("b", b.url)
        before = int(time.time())
        assert _ask(hub, f"Bearer {token}").status_code == 200
    sent_a, sent_b = a_app.state.authorizations[0], b_app.state.authorizations[0]
    for header, url in ((sent_a, a.url), (sent_b, b.url)):
        claims = _claims(header)
        assert token not in header
        assert claims["aud"] == url  # one node's audience, not a list, not the hub's
        assert claims["iss"] == original["iss"] and claims["sub"] == original["sub"]
        assert claims["orig_jti"] == original["jti"] and claims["jti"] != original["jti"]
        assert claims["ga4gh_passport_v1"] == original["ga4gh_passport_v1"]
        assert claims["scope"] == original["scope"]
        # short-lived, and never longer than the original
        assert before - 5 <= claims["iat"] and claims["exp"] <= claims["iat"] + 300
        assert claims["exp"] <= original["exp"]
    assert _claims(sent_a)["jti"] != _claims(sent_b)["jti"]

    # a node accepts its own passport (same researcher, registered tier) and refuses the other's
    identity = _node_resolver(hub, a.url, tmp_path).resolve(sent_a)
    assert identity.tier == "registered" and identity.subject == original["sub"]
    assert identity.orig_jti == original["jti"] and identity.passport_jti == _claims(sent_a)["jti"]
    with pytest.raises(AuthenticationError, match="audience"):
        _node_resolver(hub, a.url, tmp_path).resolve(sent_b)
    with pytest.raises(AuthenticationError, match="audience"):  # nor the researcher's own
        _node_resolver(hub, a.url, tmp_path).resolve(f"Bearer {token}")


def test_audiences__derived_passport_never_outlives_the_original(hub: RunningHub) -> None:
    token = hub.passport(lifetime=60)
    spy = standin_app("spy")
    with serving(spy) as node:
        hub.register("spy", node.url)
        assert _ask(hub, f"Bearer {token}").status_code == 200
        assert _ask(hub, f"Bearer {token}").status_code == 200
    first, second = spy.state.authorizations
    assert _claims(first)["exp"] == _claims(token)["exp"]  # 60 s left: capped at the original
    assert second == first  # reused while fresh: one signature per passport and node
    assert hub.app.state.deriver.derived_count == 1


def test_audiences__revoked_original_gets_no_derived_passport(hub: RunningHub) -> None:
    token = hub.passport()
    spy = standin_app("spy")
    with serving(spy) as node:
        hub.register("spy", node.url)
        assert _ask(hub, f"Bearer {token}").status_code == 200
        hub.app.state.broker.revocations.revoke(_claims(token)["jti"], reason="test")
        refused = _ask(hub, f"Bearer {token}")
        anonymous = _ask(hub, None)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["error"]["errorMessage"]
    assert len(spy.state.authorizations) == 2  # the refused query reached no node
    assert spy.state.authorizations[1] is None  # (the second is the anonymous one)
    assert anonymous.status_code == 200


def test_audiences__revoked_visa_is_left_out_of_derived_passports(hub: RunningHub) -> None:
    token = hub.passport(datasets=["http://127.0.0.1:9/datasets/ds1"])
    visas = _claims(token)["ga4gh_passport_v1"]
    grant = next(
        v for v in visas if _claims(v)["ga4gh_visa_v1"]["type"] == "ControlledAccessGrants"
    )
    spy = standin_app("spy")
    with serving(spy) as node:
        hub.register("spy", node.url)
        assert _ask(hub, f"Bearer {token}").status_code == 200
        hub.app.state.broker.revocations.revoke(_claims(grant)["jti"], reason="test")
        assert _ask(hub, f"Bearer {token}").status_code == 200
    before, after = (_claims(h)["ga4gh_passport_v1"] for h in spy.state.authorizations)
    assert before == visas
    assert after == [v for v in visas if v != grant]


def test_audiences__passports_the_hub_cannot_verify_go_nowhere(hub: RunningHub) -> None:
    spy = standin_app("spy")
    with serving(spy) as node:
        hub.register("spy", node.url)
        cases = {
            "for one node": (f"Bearer {hub.passport(audience=node.url)}", "own audience"),
            "another issuer": (TestIssuer().bearer(), "not trusted"),
            "not a JWT": ("Bearer not.a.jwt", "invalid passport"),
            "expired": (f"Bearer {hub.passport(lifetime=60)}", "expired"),
            "basic auth": ("Basic dXNlcjpwdw==", "unsupported authorization scheme"),
        }
        deriver = hub.app.state.deriver
        real_clock = deriver._clock
        answers = {}
        for name, (header, _) in cases.items():
            if name == "expired":
                deriver._clock = lambda: real_clock() + 120  # 2 min on: past exp + 30 s leeway
            answers[name] = _ask(hub, header)
            deriver._clock = real_clock
    for name, (_, message) in cases.items():
        response = answers[name]
        assert response.status_code == 401, (name, response.text)
        error = response.json()["error"]["errorMessage"]
        assert message in error, (name, error)
    assert spy.state.authorizations == []  # no node received any of them


def test_audiences__registry_knows_each_nodes_audience(hub: RunningHub, tmp_path: Path) -> None:
    from genomesh.hub.signing import load_or_create_key, public_key_text

    key = public_key_text(load_or_create_key(tmp_path / "node"))
    spy = standin_app("spy")
    with serving(spy) as node, hub.client() as http:
        push = hub.register("push", node.url)
        assert push["audience"] is None and push["passport_audience"] == node.url
        dial = hub.register("dial", "dial-out", "AU", public_key=key)
        assert dial["passport_audience"] == f"{hub.url}/nodes/dial"
        own = hub.register("own", "http://127.0.0.1:9", audience="urn:genomesh:node:own")
        assert own["passport_audience"] == "urn:genomesh:node:own"
        listed = {n["name"]: n["passport_audience"] for n in http.get("/nodes").json()}
        assert listed == {
            "push": node.url,
            "dial": f"{hub.url}/nodes/dial",
            "own": "urn:genomesh:node:own",
        }

        def register(**body: Any) -> httpx.Response:
            body = {"name": "x", "base_url": "http://127.0.0.1:10", "country": "NL", **body}
            return http.post("/nodes", json=body, headers=hub.admin())

        shared = register(audience="genomesh")  # the old shared audience
        assert shared.status_code == 400 and "audience" in shared.text
        taken = register(audience=node.url)  # another node's audience: its passports
        assert taken.status_code == 409 and "push" in taken.text
        # ... nor may a node's base URL be the audience another node registered first
        assert register(name="y", audience="http://127.0.0.1:11").status_code == 201
        clash = register(base_url="http://127.0.0.1:11")
        assert clash.status_code == 409 and "'y'" in clash.text
        spaced = register(audience="has spaces")
        assert spaced.status_code == 400 and "audience" in spaced.text

        # an explicit audience is what the node gets
        http.put(
            "/nodes/push",
            json={"name": "push", "base_url": node.url, "country": "NL",
                  "audience": "urn:genomesh:node:push"},
            headers=hub.admin(),
        ).raise_for_status()  # fmt: skip
        _ask(hub, hub.bearer(), nodes="push")
    assert _claims(spy.state.authorizations[-1])["aud"] == "urn:genomesh:node:push"
