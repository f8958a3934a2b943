"""The custodian view at a real node app (in process, httpx over ASGI, with its lifespan):
the node admin token guards it, the pages show the node's own records, and the rules hold
(CSRF on the sign-in form, errors next to the field, the token never echoed)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from genomesh.core.consent import DataUseTerm
from genomesh.core.settings import DatasetPolicy, NodeSettings
from genomesh.node.admin import node_admin_token
from genomesh.store import ingest_dataset, init_node
from genomesh.testing.cohorts import shared_cohort

pytestmark = pytest.mark.anyio
HMB = DataUseTerm(id="DUO:0000006")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def node_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cohort = shared_cohort()
    root = tmp_path_factory.mktemp("custodian-pages") / "node"
    init_node(root, name="nl-node", jurisdiction="NL")
    ingest_dataset(root, "cohort1", vcf=cohort.vcf, individuals=cohort.individuals,
                   consent=cohort.consent, duo=[HMB], name="simulated cohort")  # fmt: skip
    return root


@pytest.fixture
async def node(node_dir: Path, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    from genomesh.web.app import create_node_app

    settings = NodeSettings.load(
        node_dir,
        base_url="http://node.test",
        state_url=f"sqlite:///{tmp_path / 'state.sqlite'}",
        default_policy=DatasetPolicy(min_count=1),
        query_budget=1_000_000,
    )
    app = create_node_app(settings, warm=False)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://node.test") as client,
    ):
        yield client, app


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field in the form"
    return found.group(1)


async def _sign_in(client: httpx.AsyncClient, token: str) -> httpx.Response:
    form = await client.get("/portal/custodian/login")
    return await client.post(
        "/portal/custodian/login", data={"token": token, "csrf_token": _csrf(form.text)}
    )


async def test_custodian__needs_the_node_admin_token(node) -> None:
    client, app = node
    first = await client.get("/portal/custodian")
    assert first.status_code == 303 and first.headers["location"] == "/portal/custodian/login"
    form = await client.get("/portal/custodian/login")
    token_file = app.state.settings.node_dir / "admin.token"  # made for the operator to read
    assert form.status_code == 200 and token_file.stat().st_mode & 0o777 == 0o600
    wrong = await _sign_in(client, "gso_not-the-token")
    assert wrong.status_code == 400
    assert 'aria-invalid="true"' in wrong.text
    assert "this is not the admin token of this node" in wrong.text
    assert "gso_not-the-token" not in wrong.text  # never echoed back
    no_csrf = await client.post("/portal/custodian/login", data={"token": "x"})
    assert no_csrf.status_code == 403
    token = node_admin_token(app.state.settings)
    ok = await _sign_in(client, token)
    assert ok.status_code == 303 and ok.headers["location"] == "/portal/custodian"
    assert token not in ok.headers["location"]
    page = await client.get("/portal/custodian")
    assert page.status_code == 200
    assert "simulated cohort" in page.text and "HMB (DUO:0000006" in page.text
    assert "Participants&#39; consent" in page.text or "Participants' consent" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert token not in page.text
    out = await client.post("/portal/custodian/logout", data={"csrf_token": _csrf(page.text)})
    assert out.status_code == 303
    assert (await client.get("/portal/custodian/audit")).status_code == 303


async def test_audit_page__search_status_and_tampering(node) -> None:
    client, app = node
    for _ in range(2):  # two real Beacon queries through the node's gate
        answer = await client.post("/individuals", json={"meta": {"apiVersion": "v2.0"},
                                   "query": {"requestedGranularity": "boolean"}})  # fmt: skip
        assert answer.status_code == 200, answer.text
    await _sign_in(client, node_admin_token(app.state.settings))
    page = await client.get("/portal/custodian/audit")
    assert page.status_code == 200
    assert "Verified: audit log intact: 2 entries" in page.text
    assert page.text.count("verified by the hash chain (not yet anchored)") == 2
    found = await client.get("/portal/custodian/audit", params={"surface": "beacon",
                                                                "dataset": "cohort1"})  # fmt: skip
    assert "2 entries" in found.text
    none = await client.get("/portal/custodian/audit", params={"who": "nobody-like-this"})
    assert "0 entries" in none.text and "No entry matches." in none.text
    bad = await client.get("/portal/custodian/audit", params={"since": "yesterday"})
    assert bad.status_code == 400 and "give the date as YYYY-MM-DD" in bad.text
    assert 'id="since-error"' in bad.text
    state = app.state.node_state
    with state.engine.begin() as conn:  # someone edits the first entry in the database
        conn.execute(text("UPDATE gs_audit SET outcome = 'refused' WHERE seq = 1"))
    tampered = await client.get("/portal/custodian/audit")
    assert "Verification FAILED" in tampered.text and "TAMPERED at entry 1" in tampered.text
    assert tampered.text.count("NOT verified") == 2


async def test_withdrawals_and_recipients_pages(node) -> None:
    client, app = node
    state = app.state.node_state
    person = sorted(app.state.node.dataset("cohort1").consents())[0]
    token = state.issue_participant_token(person)
    records = await client.post("/individuals", json={"meta": {"apiVersion": "v2.0"},
                                "query": {"requestedGranularity": "count"}})  # fmt: skip
    assert records.status_code == 200
    gone = await client.post("/participants/me/withdraw", json={"reason": "moved"},
                             headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert gone.status_code == 200, gone.text
    await _sign_in(client, node_admin_token(app.state.settings))
    page = await client.get("/portal/custodian/withdrawals")
    assert page.status_code == 200 and person in page.text and "moved" in page.text
    assert token not in page.text
    # the anonymous caller who got a count before the withdrawal cannot be reached: said so
    assert "not_deliverable: 1" in page.text
    assert re.search(r"anonymous\|127\.0\.0\.1</td><td[^>]*>not_deliverable", page.text)
    who = await client.get("/portal/custodian/recipients", params={"dataset": "cohort1"})
    assert who.status_code == 200
    row = re.search(r"<tr><td>anonymous\|127\.0\.0\.1</td>\s*<td>cohort1</td><td>aggregate</td>"
                    r"<td>(\d+)</td>", who.text)  # fmt: skip
    assert row and row.group(1) == "1"
