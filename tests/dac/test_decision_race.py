"""Committee decisions under concurrency (issue 12 part 1, invariant 7).

Two deciders act on the same submitted application at the same moment. Exactly one
transition leaves `submitted`; the loser gets 409 (ConflictError) naming the state the
winner left; the stored visas match the final state (one set after an approval, none after a
rejection); and a rejected application never yields a passport granting its dataset.
Run many rounds on SQLite and PostgreSQL, through the service and over real HTTP.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from genomesh.access.keys import KeyStore
from genomesh.access.visas import CONTROLLED_ACCESS_GRANTS
from genomesh.core.consent import DataUseTerm
from genomesh.core.errors import ConflictError, GenomeshError
from genomesh.core.settings import HubSettings
from genomesh.hub.dac import DacService
from genomesh.hub.dac.datasets import DatasetRef
from genomesh.hub.dac.schemas import ApplicationIn, DatasetIn
from genomesh.testing.passports import decode_part
from tests.dac.conftest import (
    ADMIN_PASSWORD,
    FAST_HASHER,
    HMB_URL,
    NODE_URL,
    PASSWORDS,
    Clock,
    login,
    serve,
)
from tests.hub.standin import serving, standin_app

ROUNDS = 30
HTTP_ROUNDS = 12
DAVE = "Second-Member-6623"
HMB = {"category": "health_medical"}
# (first decider, its decision), (second decider, its decision)
RACES = {
    "approve_vs_reject": (("bob", "approve"), ("dave", "reject")),
    "approve_vs_approve": (("bob", "approve"), ("dave", "approve")),
    "same_member_two_threads": (("bob", "approve"), ("bob", "reject")),
}


def hub_settings(state_url: str, tmp_path: Path) -> HubSettings:
    return HubSettings(
        hub_dir=tmp_path / "hub", state_url=state_url, admin_password=ADMIN_PASSWORD,
        base_url="http://127.0.0.1:8000", issuer="http://127.0.0.1:8000",
        catalogue_sync_seconds=0, admin_token="race-admin-token",
    )  # fmt: skip


def build_service(
    state_url: str, tmp_path: Path, *, settings: HubSettings | None = None, keys: Any = None
) -> DacService:
    """A DAC on `state_url` with alice (researcher), bob and dave (both on the HMB dataset)."""
    settings = settings or hub_settings(state_url, tmp_path)
    keys = keys or KeyStore.ephemeral()
    svc = DacService(settings, keys=keys, clock=Clock(), password_hasher=FAST_HASHER)
    svc.register_dataset(
        "admin",
        DatasetIn(
            node="n1", dataset_id="hmb1", base_url=NODE_URL, duo=[DataUseTerm(id="DUO:0000006")]
        ),
    )
    svc.register(username="alice", password=PASSWORDS["alice"])
    for member, password in (("bob", PASSWORDS["bob"]), ("dave", DAVE)):
        svc.register(username=member, password=password)
        svc.add_member("admin", member, dataset=DatasetRef(url=HMB_URL), committee=None)
    return svc


def submitted(svc: DacService) -> int:
    body = ApplicationIn(
        title="race", datasets=[DatasetRef(url=HMB_URL)], purpose=HMB, accepted_terms=True,
        submit=True,
    )  # fmt: skip
    return svc.apply("alice", body).id


@dataclass
class Outcome:
    decision: str
    ok: bool
    state: str | None = None  # the state the winner's answer shows
    error: str = ""
    status: int = 200


def race(calls: list[tuple[str, Callable[[], Outcome]]]) -> list[Outcome]:
    """Run the calls in threads released together by a barrier; their outcomes in order."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Outcome | None] = [None] * len(calls)

    def run(i: int, decision: str, call: Callable[[], Outcome]) -> None:
        barrier.wait()
        try:
            outcomes[i] = call()
        except GenomeshError as exc:
            outcomes[i] = Outcome(decision, False, error=exc.message, status=exc.http_status)
        except Exception as exc:  # anything else fails the round, with what it was
            outcomes[i] = Outcome(decision, False, error=repr(exc), status=-1)

    threads = [
        threading.Thread(target=run, args=(i, decision, call))
        for i, (decision, call) in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(o is not None for o in outcomes), "a decider never returned"
    return [o for o in outcomes if o is not None]


def check_round(svc: DacService, app_id: int, outcomes: list[Outcome]) -> str:
    """The invariants after one race; returns the final state."""
    winners = [o for o in outcomes if o.ok]
    assert len(winners) == 1, [(o.decision, o.status, o.error) for o in outcomes]
    winner = winners[0]
    final = "approved" if winner.decision == "approve" else "rejected"
    for loser in (o for o in outcomes if not o.ok):
        assert loser.status == 409, loser.error
        assert f"application {app_id} is {final}" in loser.error, loser.error
    shown = svc.show("alice", app_id)
    assert shown.state == final
    out_of_submitted = [e for e in shown.events if e.from_state == "submitted"]
    assert len(out_of_submitted) == 1, [(e.actor, e.action) for e in shown.events]
    grants = [v for v in shown.visas if v["type"] == CONTROLLED_ACCESS_GRANTS]
    if final == "approved":
        assert shown.approved_until is not None
        assert len(grants) == 1, shown.visas  # one visa set, not one per approval
        assert len(shown.visas) == 5
        passport = svc.passport("alice", application_id=app_id)
        assert HMB_URL in {v["value"] for v in passport.visas}
    else:
        assert shown.approved_until is None
        assert shown.visas == []
        with pytest.raises(ConflictError, match=f"application {app_id} is rejected"):
            svc.passport("alice", application_id=app_id)
    return final


def decide_call(svc: DacService, member: str, decision: Any, app_id: int) -> Outcome:
    until = svc.clock() + timedelta(days=30)
    out = svc.decide(
        member, app_id, decision, comment="race" if decision != "approve" else "", until=until
    )
    return Outcome(decision, True, state=out.state)


@pytest.mark.slow
@pytest.mark.parametrize("race_name", sorted(RACES))
def test_decision_race__one_transition_on_backend(
    race_name: str, state_url: str, tmp_path: Path
) -> None:
    svc = build_service(state_url, tmp_path)
    finals = set()
    for _ in range(ROUNDS):
        app_id = submitted(svc)
        calls = [
            (decision, lambda m=member, d=decision, a=app_id: decide_call(svc, m, d, a))
            for member, decision in RACES[race_name]
        ]
        finals.add(check_round(svc, app_id, race(calls)))
    # no passport of alice's grants the dataset of a rejected application only
    if finals == {"rejected"}:
        assert HMB_URL not in {v["value"] for v in svc.passport("alice").visas}


@pytest.mark.slow
def test_revocation_and_expiry_race__one_transition_on_backend(
    state_url: str, tmp_path: Path
) -> None:
    """Two revokers at once, then two readers that both find the approval ended: one revoke
    event, one expire event, the loser of the revocation told the application is revoked."""
    svc = build_service(state_url, tmp_path)
    clock = svc.clock
    assert isinstance(clock, Clock)
    for _ in range(ROUNDS // 3):
        app_id = svc.decide("bob", submitted(svc), "approve", until=clock() + timedelta(days=30)).id

        def revoke(member: str, app_id: int = app_id) -> Outcome:
            return Outcome("revoke", True, state=svc.revoke(member, app_id, reason="race").state)

        outcomes = race([("revoke", lambda: revoke("bob")), ("revoke", lambda: revoke("dave"))])
        assert sorted(o.ok for o in outcomes) == [False, True], outcomes
        assert f"application {app_id} is revoked" in next(o.error for o in outcomes if not o.ok)
        events = svc.show("alice", app_id).events
        assert [e.action for e in events].count("revoke") == 1

    app_id = svc.decide("bob", submitted(svc), "approve", until=clock() + timedelta(days=1)).id
    clock.advance(timedelta(days=2))

    def look() -> Outcome:
        return Outcome("show", True, state=svc.show("alice", app_id).state)

    assert {o.state for o in race([("show", look), ("show", look), ("show", look)])} == {"expired"}
    assert [e.action for e in svc.show("alice", app_id).events].count("expire") == 1


@pytest.fixture
def live_dac(state_url: str, tmp_path: Path) -> Iterator[tuple[DacService, str]]:
    """The real hub app (SQLite or PostgreSQL DAC state) served over loopback HTTP."""
    from genomesh.hub.app import create_app

    svc = build_service(state_url, tmp_path)
    app = create_app(svc.settings)
    app.state.dac = svc
    live = serve(app)
    try:
        yield svc, live.url
    finally:
        live.stop()


@pytest.mark.slow
def test_decision_race__over_http_the_loser_gets_409(live_dac: tuple[DacService, str]) -> None:
    svc, url = live_dac
    with httpx.Client(base_url=url, timeout=30.0) as http:
        headers = {
            "bob": login(http, "bob"),
            "dave": login(http, "dave", DAVE),
            "alice": login(http, "alice"),
        }
    until = (svc.clock() + timedelta(days=30)).isoformat()

    def post(member: str, decision: str, app_id: int) -> Outcome:
        body: dict[str, Any] = {"decision": decision, "comment": "race", "until": until}
        if decision != "approve":
            body.pop("until")
        with httpx.Client(base_url=url, timeout=30.0) as http:
            response = http.post(
                f"/dac/applications/{app_id}/decision", json=body, headers=headers[member]
            )
        if response.status_code == 200:
            return Outcome(decision, True, state=response.json()["state"])
        error = response.json()["error"]  # the hub's Beacon error body
        return Outcome(decision, False, error=error["errorMessage"], status=error["errorCode"])

    rejected = []
    for round_no in range(HTTP_ROUNDS):
        app_id = submitted(svc)
        pair = RACES["approve_vs_reject"] if round_no % 2 == 0 else RACES["approve_vs_approve"]
        calls = [
            (decision, lambda m=member, d=decision, a=app_id: post(m, d, a))
            for member, decision in pair
        ]
        if check_round(svc, app_id, race(calls)) == "rejected":
            rejected.append(app_id)
    with httpx.Client(base_url=url, timeout=30.0) as http:
        for app_id in rejected:
            response = http.get(f"/dac/passport?application={app_id}", headers=headers["alice"])
            assert response.status_code == 409, response.text
            assert f"application {app_id} is rejected" in response.json()["error"]["errorMessage"]


def test_passport__visas_of_an_application_not_approved_now_are_left_out(
    tmp_path: Path,
) -> None:
    """Data the race left before the fix (a rejected application holding unrevoked visas) never
    reaches a passport: passports take application visas only from approved applications."""
    from genomesh.hub.dac import grants
    from genomesh.hub.dac.models import Application

    svc = build_service(f"sqlite:///{tmp_path / 'hub.sqlite'}", tmp_path)
    app_id = svc.decide("bob", submitted(svc), "approve", until=svc.clock() + timedelta(days=30)).id
    assert HMB_URL in {v["value"] for v in svc.passport("alice").visas}
    with svc.database.transaction() as session:  # what the racing reject used to leave behind
        app = session.get(Application, app_id)
        assert app is not None
        app.state = "rejected"
        left = {v.jti for v in grants.application_visas(session, app) if v.revoked_at is None}
    assert len(left) == 5  # visas neither revoked nor gone
    assert HMB_URL not in {v["value"] for v in svc.passport("alice").visas}
    # a passport signed while it was approved: nodes and the hub's per-node passports refuse
    # those visas, since the published revocation list names them
    assert left <= svc.revocations.revoked()
    assert all(svc.revocations.is_revoked(jti) for jti in left)
    with pytest.raises(ConflictError, match=f"application {app_id} is rejected"):
        svc.passport("alice", application_id=app_id)


def _grants(authorization: str | None) -> set[str]:
    """The ControlledAccessGrants values in a (derived) passport header."""
    assert authorization is not None
    claims = decode_part(authorization.removeprefix("Bearer ").split(".")[1])
    visas = [decode_part(v.split(".")[1])["ga4gh_visa_v1"] for v in claims["ga4gh_passport_v1"]]
    return {v["value"] for v in visas if v["type"] == CONTROLLED_ACCESS_GRANTS}


def test_derived_passports__only_grants_of_applications_approved_now(tmp_path: Path) -> None:
    """The hub's per-node passports (Beacon network) carry an application's grant while it
    is approved, and drop it once the application is not (here: what the old race left, a
    rejected application whose visas were never revoked), though the researcher's own
    passport, signed while it was approved, still carries it."""
    from genomesh.hub.app import create_app
    from genomesh.hub.dac.models import Application

    settings = hub_settings(f"sqlite:///{tmp_path / 'hub.sqlite'}", tmp_path)
    app = create_app(settings)
    svc = build_service("", tmp_path, settings=settings, keys=app.state.keys)
    app.state.dac = svc
    app_id = svc.decide("bob", submitted(svc), "approve", until=svc.clock() + timedelta(days=30)).id
    passport = svc.passport("alice").passport
    spy = standin_app("spy")
    live = serve(app)
    try:
        with serving(spy) as node, httpx.Client(base_url=live.url, timeout=30) as http:
            admin = {"authorization": "Bearer race-admin-token"}
            body = {"name": "spy", "base_url": node.url, "country": "NL"}
            assert http.post("/nodes", json=body, headers=admin).status_code == 201
            bearer = {"authorization": f"Bearer {passport}"}
            assert http.get("/individuals", headers=bearer).status_code == 200
            with svc.database.transaction() as session:
                row = session.get(Application, app_id)
                assert row is not None
                row.state = "rejected"
            assert http.get("/individuals", headers=bearer).status_code == 200
    finally:
        live.stop()
    approved_then, rejected_now = spy.state.authorizations
    assert HMB_URL in _grants(approved_then)
    assert HMB_URL not in _grants(rejected_now)


@pytest.mark.slow
def test_revocation_list__same_jti_revoked_twice_at_once(state_url: str, tmp_path: Path) -> None:
    """Two revocations of one jti at the same moment: both succeed, one entry (no 500)."""
    from genomesh.hub.dac.grants import SqlRevocationList

    svc = build_service(state_url, tmp_path)
    revocations: SqlRevocationList = svc.revocations
    for round_no in range(ROUNDS // 3):
        jti = f"v-race-{round_no}"

        def revoke(jti: str = jti) -> Outcome:
            revocations.revoke(jti, reason="race")
            return Outcome("revoke", True)

        outcomes = race([("revoke", revoke), ("revoke", revoke), ("revoke", revoke)])
        assert all(o.ok for o in outcomes), outcomes
        assert revocations.is_revoked(jti)
