"""Bad input never yields a 500 or a stack trace, and changes nothing."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genomesh.hub.dac import DacService
from tests.dac.conftest import login

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = ["title", "summary", "datasets", "purpose", "documents", "accepted_terms", "submit",
          "decision", "until", "comment", "node", "dataset_id", "recipients", "withdrawn_at",
          "individual_pseudonym", "username", "password", "payload", "sig", "url"]  # fmt: skip
bodies = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6) | json_values
ENDPOINTS = [
    ("POST", "/dac/register"), ("POST", "/dac/login"), ("POST", "/dac/applications"),
    ("PATCH", "/dac/applications/1"), ("POST", "/dac/applications/1/decision"),
    ("POST", "/dac/applications/1/revoke"), ("POST", "/notifications"), ("POST", "/dac/members"),
    ("PUT", "/dac/datasets"), ("POST", "/dac/researchers/alice/verify"),
]  # fmt: skip


def test_api__random_bodies_never_500(client: httpx.Client, service: DacService) -> None:
    headers = {
        "alice": login(client, "alice"),
        "bob": login(client, "bob"),
        "admin": login(client, "admin"),
    }
    before = len(service.list_applications("admin"))

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(ENDPOINTS), st.sampled_from(sorted(headers)), bodies)
    def check(endpoint: tuple[str, str], who: str, body: Any) -> None:
        method, path = endpoint
        response = client.request(method, path, json=body, headers=headers[who])
        assert response.status_code < 500, (method, path, body, response.text)
        assert "Traceback" not in response.text

    check()
    assert len(service.list_applications("admin")) >= before  # nothing broke the store


def test_api__oversized_fields_refused_cleanly(client: httpx.Client) -> None:
    alice = login(client, "alice")
    long_title = client.post(
        "/dac/applications", headers=alice,
        json={"title": "x" * 5000, "datasets": [{"node": "n1", "dataset_id": "hmb1"}],
              "purpose": {"category": "general"}},
    )  # fmt: skip
    assert long_title.status_code == 400
    assert "title" in long_title.text
    long_node = client.post(
        "/dac/applications", headers=alice,
        json={"title": "x", "datasets": [{"node": "n" * 500, "dataset_id": "d"}],
              "purpose": {"category": "general"}},
    )  # fmt: skip
    assert long_node.status_code == 400
    assert client.get("/dac/applications", headers=alice).json() == []
