"""Mount the portal on a FastAPI app: the hub serves it at `/`, a node at `/portal`.

    from genomesh.web.app import create_hub_app, mount_portal

    app = create_hub_app(hub_settings)            # the hub with its portal pages
    mount_portal(node_app, prefix="/portal", state_dir=node_dir, title="...",
                 routers=[custodian.router], nav=[("Custodian", "/custodian")])

The portal adds HTML routes beside the API's (no catch-all), its static files under
/portal-static/, and one rule at the root: a browser asking for `/` (Accept: text/html) gets
the portal's home page, while API clients keep getting the Beacon info document there.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from genomesh.core.settings import HubSettings, NodeSettings
from genomesh.web.pages import STATIC_PATH, PageDep, PageRouter, Portal
from genomesh.web.sessions import SESSIONS_FILE, SessionStore, load_or_create_secret

HOME_PATH = "/home"


class HtmlRoot:
    """ASGI middleware: GET `{prefix}/` from a browser (text/html before JSON in Accept) is
    served by the portal's home page; every other request passes through unchanged."""

    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.root = prefix or "/"
        self.home = f"{prefix}{HOME_PATH}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and scope["path"] in (self.root, self.root.rstrip("/") + "/")
            and _wants_html(scope)
        ):
            scope = dict(scope, path=self.home, raw_path=self.home.encode())
        await self.app(scope, receive, send)


def _wants_html(scope: Scope) -> bool:
    accept = ""
    for key, value in scope.get("headers", ()):
        if key == b"accept":
            accept = value.decode("latin-1").lower()
    html = accept.find("text/html")
    if html < 0:
        return False
    json = accept.find("application/json")
    return json < 0 or html < json


def _home_router() -> APIRouter:
    router = PageRouter()

    @router.get(HOME_PATH)
    def home(page: PageDep) -> HTMLResponse:
        return page.render("home.html")

    return router


def mount_portal(
    app: FastAPI,
    *,
    state_dir: Path | None,
    title: str,
    prefix: str = "",
    routers: Sequence[APIRouter] = (),
    nav: Sequence[tuple[str, str]] = (),
    secure_cookies: bool | None = None,
    api_base: str = "http://portal.internal",
    extras: dict[str, Any] | None = None,
) -> Portal:
    """Add the portal to `app`: pages from `routers` under `prefix`, static files, the home
    page, sessions kept in `state_dir` (in memory when None). Returns the Portal (also on
    `app.state.portal`)."""
    prefix = prefix.rstrip("/")
    if state_dir is not None:
        secret = load_or_create_secret(Path(state_dir))
        store = SessionStore(Path(state_dir) / SESSIONS_FILE, secret)
    else:
        import secrets

        store = SessionStore(None, secrets.token_urlsafe(48))
    portal = Portal(
        title=title,
        prefix=prefix,
        sessions=store,
        nav=tuple(nav),
        secure_cookies=secure_cookies,
        api_base=api_base,
        extras=dict(extras or {}),
    )
    app.state.portal = portal
    static = str(resources.files("genomesh.web").joinpath("static"))
    app.mount(STATIC_PATH, StaticFiles(directory=static), name="portal-static")
    for router in (_home_router(), *routers):
        app.include_router(router, prefix=prefix)
    app.add_middleware(HtmlRoot, prefix=prefix)
    return portal


def create_hub_app(settings: HubSettings, **options: Any) -> FastAPI:
    """The hub (genomesh.hub.app.create_app) with the portal at `/`."""
    from genomesh.hub.app import create_app
    from genomesh.web.hub import hub_pages

    app = create_app(settings, **options)
    routers, nav = hub_pages()
    mount_portal(
        app,
        state_dir=Path(settings.hub_dir),
        title=settings.name,
        routers=routers,
        nav=nav,
        secure_cookies=True if settings.base_url.startswith("https://") else None,
        api_base=settings.base_url,
    )
    return app


def create_hub_app_from_env() -> FastAPI:
    """`uvicorn --factory` entry of each worker of `genomesh hub serve --workers N`: the hub
    (settings from the GENOMESH_HUB_* environment `hub serve` sets) with its portal."""
    return create_hub_app(HubSettings())


def create_node_app(settings: NodeSettings, **options: Any) -> FastAPI:
    """A node (genomesh.node.app.create_app) with its custodian portal at `/portal`."""
    from genomesh.node.app import create_app
    from genomesh.web.node import node_pages

    app = create_app(settings, **options)
    routers, nav = node_pages()
    mount_portal(
        app,
        state_dir=Path(settings.node_dir),
        title=f"{settings.name} (custodian)",
        prefix="/portal",
        routers=routers,
        nav=nav,
        secure_cookies=True if settings.base_url.startswith("https://") else None,
        api_base=settings.base_url,
    )
    return app


def create_node_app_from_env() -> FastAPI:
    """`uvicorn --factory` entry of a node with its portal (GENOMESH_NODE_DIR as the node's)."""
    import os

    from genomesh.core.errors import InvalidInputError

    node_dir = os.environ.get("GENOMESH_NODE_DIR")
    if not node_dir:
        raise InvalidInputError("GENOMESH_NODE_DIR is not set", field="GENOMESH_NODE_DIR")
    return create_node_app(NodeSettings.load(node_dir))


__all__ = [
    "HOME_PATH",
    "HtmlRoot",
    "create_hub_app",
    "create_hub_app_from_env",
    "create_node_app",
    "create_node_app_from_env",
    "mount_portal",
]
