"""A hub and a node on one host: the browser sends both portals' `genomesh_portal` cookies
(ports do not separate cookies); each portal must keep using its own session."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response

from genomesh.web.app import mount_portal
from genomesh.web.pages import PageDep, PageRouter
from genomesh.web.sessions import COOKIE_NAME


def _app(state: Path, prefix: str) -> FastAPI:
    app = FastAPI()
    router = PageRouter()

    @router.get("/form")
    def form(page: PageDep) -> HTMLResponse:
        note = page.session.get("note", "")
        return page.render("error.html", status_code=200, message=f"csrf={page.csrf_token};{note}")

    @router.post("/form")
    def post(page: PageDep) -> Response:
        page.session.set("note", page.form.get("note", ""))
        return page.redirect("/form")

    mount_portal(app, state_dir=state, title="t", prefix=prefix, routers=[router])
    return app


async def _two_portals(tmp_path: Path) -> None:
    hub, node = _app(tmp_path / "hub", ""), _app(tmp_path / "node", "/portal")
    hub_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=hub), base_url="http://h")
    node_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=node), base_url="http://h")
    async with hub_http, node_http:
        hub_cookie = (await hub_http.get("/form")).cookies[COOKIE_NAME]
        page = await node_http.get("/portal/form")
        node_cookie = page.cookies[COOKIE_NAME]
        csrf = re.search(r"csrf=([^;]+);", page.text).group(1)
        # the browser sends the node's cookie (path /portal) and the hub's (path /), in that order
        both = f"{COOKIE_NAME}={node_cookie}; {COOKIE_NAME}={hub_cookie}"
        node_http.cookies.clear()
        sent = await node_http.post("/portal/form", data={"note": "kept", "csrf_token": csrf},
                                    headers={"Cookie": both})  # fmt: skip
        assert sent.status_code == 303  # CSRF matched: the node's own session was used
        node_http.cookies.clear()
        again = await node_http.get("/portal/form", headers={"Cookie": both})
        assert again.text.count("kept") == 1


def test_two_portals_on_one_host__each_keeps_its_session(tmp_path: Path) -> None:
    # in a thread with its own event loop: this test may run after the browser tests, whose
    # Playwright loop holds the main thread's
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _two_portals(tmp_path)).result()
