"""QA F19: failed logins back off per username and per address (429 + Retry-After)."""

from __future__ import annotations

import time

import httpx

from tests.dac.conftest import PASSWORDS


def _login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    return client.post("/dac/login", json={"username": username, "password": password})


def test_login__repeated_failures_for_a_username_back_off(client: httpx.Client) -> None:
    statuses = [_login(client, "alice", "wrong-password-123").status_code for _ in range(5)]
    assert statuses == [401] * 5
    throttled = _login(client, "alice", PASSWORDS["alice"])  # even the right password waits
    assert throttled.status_code == 429, throttled.text
    assert int(throttled.headers["retry-after"]) >= 1
    assert "too many failed logins" in throttled.json()["error"]["errorMessage"]
    assert _login(client, "bob", PASSWORDS["bob"]).status_code == 200  # others unaffected

    time.sleep(int(throttled.headers["retry-after"]) + 0.1)
    assert _login(client, "alice", "wrong-password-123").status_code == 401
    again = _login(client, "alice", PASSWORDS["alice"])  # the delay doubled
    assert again.status_code == 429 and int(again.headers["retry-after"]) == 2
    time.sleep(2.1)
    assert _login(client, "alice", PASSWORDS["alice"]).status_code == 200
    assert _login(client, "alice", "wrong-password-123").status_code == 401  # count cleared


def test_login__many_failures_from_one_address_back_off(client: httpx.Client) -> None:
    for i in range(20):  # a different username each time: only the address count grows
        assert _login(client, f"guess{i}", "wrong-password-123").status_code == 401
    assert _login(client, "carol", PASSWORDS["carol"]).status_code == 429
