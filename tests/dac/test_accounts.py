"""Accounts: password policy, hashing, sessions, roles, admin bootstrap."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, text

from genomesh.access.keys import KeyStore
from genomesh.core.errors import AuthenticationError, InvalidInputError
from genomesh.core.settings import HubSettings
from genomesh.hub.dac import DacService
from genomesh.hub.dac.accounts import check_password_strength
from genomesh.hub.dac.models import Account, SessionToken
from tests.dac.conftest import PASSWORDS, login


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short1!", "too short"),
        ("password1234", "default or common"),
        ("changeme-changeme", "default or common"),
        ("genomesh2024", "default or common"),
        ("aaaaaaaaaaaaaaa", "too few distinct"),
        ("xx-alice-2026-yy", "contain the username"),
    ],
)
def test_check_password_strength__weak_passwords_refused(password: str, problem: str) -> None:
    with pytest.raises(InvalidInputError, match=problem):
        check_password_strength(password, username="alice")


def test_check_password_strength__strong_password_accepted() -> None:
    check_password_strength("Tawny-Owl-Lantern-91", username="alice")


def test_register__password_stored_as_argon2_hash(service: DacService) -> None:
    with service.database.transaction() as session:
        account = session.scalar(select(Account).where(Account.username == "alice"))
        assert account is not None
        assert account.password_hash.startswith("$argon2id$")
        assert PASSWORDS["alice"] not in account.password_hash


def test_login__token_stored_only_as_hash(service: DacService) -> None:
    out = service.login("alice", PASSWORDS["alice"])
    with service.database.engine.connect() as conn:
        dump = " ".join(str(row) for row in conn.execute(text("SELECT * FROM dac_sessions")))
    assert out.token not in dump
    assert service.authenticate(out.token) == "alice"


def test_login__wrong_password_refused(service: DacService) -> None:
    with pytest.raises(AuthenticationError, match="wrong username or password"):
        service.login("alice", "Not-Her-Password-11")
    with pytest.raises(AuthenticationError, match="wrong username or password"):
        service.login("nobody", "Not-Her-Password-11")


def test_session__expires(service: DacService, clock) -> None:
    token = service.login("alice", PASSWORDS["alice"]).token
    clock.advance(service.session_ttl + timedelta(seconds=1))
    with pytest.raises(AuthenticationError, match="session expired"):
        service.authenticate(token)
    with service.database.transaction() as session:
        assert session.scalars(select(SessionToken)).all() == []


def test_login__rehashes_with_current_parameters(
    hub_settings: HubSettings, service: DacService
) -> None:
    def stored() -> str:
        with service.database.transaction() as session:
            return (
                session.scalar(select(Account.password_hash).where(Account.username == "alice"))
                or ""
            )

    before = stored()
    assert "m=1024,t=1" in before
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    upgraded = DacService(
        hub_settings,
        keys=KeyStore.ephemeral(),
        engine=service.database.engine,
        password_hasher=stronger,
    )
    upgraded.login("alice", PASSWORDS["alice"])
    assert "m=2048,t=2" in stored()
    assert upgraded.authenticate(upgraded.login("alice", PASSWORDS["alice"]).token) == "alice"


def test_admin_bootstrap__weak_admin_password_refused(tmp_path) -> None:
    settings = HubSettings(hub_dir=tmp_path / "hub", admin_password="admin")
    with pytest.raises(InvalidInputError, match="password"):
        DacService(settings, keys=KeyStore.ephemeral())


def test_admin_bootstrap__idempotent(hub_settings: HubSettings, service: DacService) -> None:
    again = DacService(hub_settings, keys=KeyStore.ephemeral(), engine=service.database.engine)
    assert again.me("admin").role == "admin"


def test_api_register__duplicate_and_weak_give_clear_errors(client) -> None:
    weak = client.post("/dac/register", json={"username": "dave", "password": "password"})
    assert weak.status_code == 400
    assert "password" in weak.text
    taken = client.post(
        "/dac/register", json={"username": "alice", "password": "Fresh-Strong-Pass-77"}
    )
    assert taken.status_code == 409
    assert "already registered" in taken.text
    bad = client.post(
        "/dac/register", json={"username": "Dave Smith", "password": "Fresh-Strong-Pass-77"}
    )
    assert bad.status_code == 400


def test_api_me__needs_valid_token(client) -> None:
    assert client.get("/dac/me").status_code == 401
    assert client.get("/dac/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/dac/me", headers={"Authorization": "Basic abc"}).status_code == 401
    me = client.get("/dac/me", headers=login(client, "bob")).json()
    assert me["username"] == "bob"
    assert {m["committee"] for m in me["memberships"]} == {None, "onco"}


def test_api_logout__ends_session(client) -> None:
    headers = login(client, "alice")
    assert client.post("/dac/logout", headers=headers).status_code == 204
    assert client.get("/dac/me", headers=headers).status_code == 401


def test_api_admin_only__members_and_datasets(client) -> None:
    alice = login(client, "alice")
    refused = client.post(
        "/dac/members", headers=alice, json={"username": "alice", "committee": "onco"}
    )
    assert refused.status_code == 403
    refused = client.put(
        "/dac/datasets",
        headers=alice,
        json={"node": "n", "dataset_id": "d", "base_url": "http://x"},
    )
    assert refused.status_code == 403
    admin = login(client, "admin")
    made = client.post(
        "/dac/members", headers=admin, json={"username": "carol", "committee": "onco"}
    )
    assert made.status_code == 200
    assert made.json()["memberships"] == [{"dataset": None, "committee": "onco"}]


def test_api_change_password__strong_only_and_sessions_end(client) -> None:
    alice = login(client, "alice")
    other_session = login(client, "alice")
    wrong = client.post(
        "/dac/me/password",
        headers=alice,
        json={"current": "nope-nope-nope", "new": "Brand-New-Secret-55"},
    )
    assert wrong.status_code == 401
    weak = client.post(
        "/dac/me/password", headers=alice, json={"current": PASSWORDS["alice"], "new": "changeme"}
    )
    assert weak.status_code == 400
    done = client.post(
        "/dac/me/password",
        headers=alice,
        json={"current": PASSWORDS["alice"], "new": "Brand-New-Secret-55"},
    )
    assert done.status_code == 204
    assert client.get("/dac/me", headers=other_session).status_code == 401
    assert (
        client.post(
            "/dac/login", json={"username": "alice", "password": PASSWORDS["alice"]}
        ).status_code
        == 401
    )
    assert (
        client.get("/dac/me", headers=login(client, "alice", "Brand-New-Secret-55")).status_code
        == 200
    )
