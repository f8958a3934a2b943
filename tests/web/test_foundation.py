"""The portal's rules, in process (httpx over ASGI): session cookie, CSRF, CSP, error page,
the root shared with the Beacon API, package data. Each test fails when its rule is removed."""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response

from genomesh.core.errors import InvalidInputError
from genomesh.web.app import mount_portal
from genomesh.web.pages import PageDep, PageRouter, template_dir


def threaded(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test body on its own loop in a thread (the browser tests' Playwright
    keeps a loop running in the main thread for the whole session)."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> None:
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, fn(*args, **kwargs)).result()

    return run


def _app(tmp_path: Path, *, secure: bool | None = None) -> tuple[FastAPI, list[str]]:
    app = FastAPI()
    seen: list[str] = []

    @app.get("/")
    def beacon_root() -> dict[str, str]:  # stands for the Beacon info document of hub/node
        return {"beacon": "info"}

    router = PageRouter()

    @router.get("/form")
    def form(page: PageDep) -> HTMLResponse:
        return page.render("error.html", status_code=200, message=f"csrf={page.csrf_token}")

    @router.post("/form")
    def post(page: PageDep) -> Response:
        seen.append(page.form.get("note", ""))
        return page.redirect("/form", flash="saved")

    @router.get("/boom")
    def boom(page: PageDep) -> HTMLResponse:
        raise RuntimeError("secret internals /etc/passwd")

    @router.get("/refused")
    def refused(page: PageDep) -> HTMLResponse:
        raise InvalidInputError("the dataset name is unknown", field="dataset")

    mount_portal(app, state_dir=tmp_path, title="test portal", routers=[router],
                 secure_cookies=secure)  # fmt: skip
    return app, seen


async def _client(app: FastAPI, base: str = "http://testserver") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base)


@pytest.fixture
def portal(tmp_path: Path) -> tuple[FastAPI, list[str]]:
    return _app(tmp_path)


def _token(html: str) -> str:
    match = re.search(r"csrf=([A-Za-z0-9_-]+)", html)
    assert match, html
    return match.group(1)


@threaded
async def test_session_cookie__httponly_samesite_lax_not_secure_over_http(portal) -> None:
    app, _ = portal
    client = await _client(app)
    response = await client.get("/form")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie


@threaded
async def test_session_cookie__secure_over_https(tmp_path: Path) -> None:
    app, _ = _app(tmp_path)
    async with await _client(app, "https://testserver") as client:
        cookie = (await client.get("/form")).headers["set-cookie"].lower()
    assert "; secure" in cookie and "httponly" in cookie


@threaded
async def test_session_cookie__forced_secure_behind_tls_proxy(tmp_path: Path) -> None:
    app, _ = _app(tmp_path, secure=True)
    async with await _client(app) as client:
        assert "; secure" in (await client.get("/form")).headers["set-cookie"].lower()


@threaded
async def test_session_cookie__holds_a_signed_id_only(portal) -> None:
    app, _ = portal
    client = await _client(app)
    await client.get("/form")
    value = client.cookies["genomesh_portal"]
    tampered = value[:-2] + ("AA" if value[-2:] != "AA" else "BB")
    client.cookies.clear()
    response = await client.get("/form", headers={"Cookie": f"genomesh_portal={tampered}"})
    assert "set-cookie" in response.headers  # a tampered id is a new session
    assert response.cookies["genomesh_portal"] not in (value, tampered)


@threaded
async def test_csrf__form_without_token_is_refused_and_not_handled(portal) -> None:
    app, seen = portal
    client = await _client(app)
    await client.get("/form")  # a session exists; the form simply lacks the token
    response = await client.post("/form", data={"note": "hello"})
    assert response.status_code == 403
    assert "expired or did not come from this site" in response.text
    assert seen == []


@threaded
async def test_csrf__wrong_token_refused_right_token_accepted(portal) -> None:
    app, seen = portal
    client = await _client(app)
    token = _token((await client.get("/form")).text)
    bad = await client.post("/form", data={"note": "x", "csrf_token": token[::-1]})
    assert bad.status_code == 403 and seen == []
    good = await client.post("/form", data={"note": "hello", "csrf_token": token})
    assert good.status_code == 303 and seen == ["hello"]
    assert "saved" in (await client.get("/form")).text  # the flash message, shown once


@threaded
async def test_csrf__token_of_another_session_refused(tmp_path: Path) -> None:
    app, seen = _app(tmp_path)
    async with await _client(app) as attacker, await _client(app) as victim:
        token = _token((await attacker.get("/form")).text)
        await victim.get("/form")
        response = await victim.post("/form", data={"note": "x", "csrf_token": token})
    assert response.status_code == 403 and seen == []


@threaded
async def test_csp__forbids_inline_scripts_on_every_page(portal) -> None:
    app, _ = portal
    client = await _client(app)
    for path in ("/form", "/boom", "/refused", "/home"):
        response = await client.get(path)
        csp = response.headers["content-security-policy"]
        script = re.search(r"script-src ([^;]*)", csp)
        assert script and script.group(1).strip() == "'self'", csp
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"


def test_templates__no_inline_script_or_event_handler() -> None:
    """Inline scripts would be blocked by the CSP: every script is a static file."""
    for path in template_dir().rglob("*.html"):
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag, f"{path.name}: inline <script>"
        assert not re.search(r"\son[a-z]+\s*=", text), f"{path.name}: inline event handler"
        assert "javascript:" not in text, f"{path.name}: javascript: URL"


@threaded
async def test_error_page__no_stack_trace(portal) -> None:
    app, _ = portal
    client = await _client(app)
    response = await client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "Something went wrong on the server" in response.text
    for leak in ("Traceback", "RuntimeError", "/etc/passwd", "secret internals", ".py"):
        assert leak not in response.text


@threaded
async def test_error_page__user_error_in_words(portal) -> None:
    app, _ = portal
    client = await _client(app)
    response = await client.get("/refused")
    assert response.status_code == 400
    assert "the dataset name is unknown" in response.text


@threaded
async def test_root__browser_gets_the_portal_api_client_the_beacon(portal) -> None:
    app, _ = portal
    client = await _client(app)
    html = await client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*"})
    assert html.headers["content-type"].startswith("text/html") and "test portal" in html.text
    assert (await client.get("/")).json() == {"beacon": "info"}
    api = await client.get("/", headers={"Accept": "application/json, text/html"})
    assert api.json() == {"beacon": "info"}


@threaded
async def test_static__served_from_package_data(portal) -> None:
    app, _ = portal
    client = await _client(app)
    for name in ("portal.css", "portal.js"):
        response = await client.get(f"/portal-static/{name}")
        assert response.status_code == 200 and len(response.content) > 50


@threaded
async def test_prefix__node_portal_under_portal(tmp_path: Path) -> None:
    app = FastAPI()
    mount_portal(app, state_dir=None, title="node view", prefix="/portal")
    async with await _client(app) as client:
        response = await client.get("/portal/", headers={"Accept": "text/html"})
        assert response.status_code == 200 and "node view" in response.text
        assert "path=/portal" in response.headers["set-cookie"].lower()
