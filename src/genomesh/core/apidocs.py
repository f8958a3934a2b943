"""/docs (Swagger UI) and /redoc for the node and the hub, served with no internet.

FastAPI's own pages load Swagger UI and ReDoc from a CDN (and fonts from Google), so inside a
trusted research environment - no internet by design - they are blank. Here the assets come
from the `fastapi-offline` package (a registry package that ships Swagger UI and ReDoc
builds) and are served by the app itself under /apidocs-static/; the pages link only to the
app's own URLs.

Use: build the app with `FastAPI(docs_url=None, redoc_url=None, ...)`, then
`install_api_docs(app)`.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_PATH = "/apidocs-static"


def _assets_dir() -> str:
    return str(resources.files("fastapi_offline").joinpath("static"))


def install_api_docs(app: FastAPI, *, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Mount the assets and add the two pages (left out of the OpenAPI schema)."""
    app.mount(STATIC_PATH, StaticFiles(directory=_assets_dir()), name="apidocs-static")
    oauth2_redirect = f"{docs_url}/oauth2-redirect"

    def _root(request: Request) -> str:  # behind a proxy prefix, links keep working
        return str(request.scope.get("root_path") or "").rstrip("/")

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - API",
            swagger_js_url=f"{root}{STATIC_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{STATIC_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{STATIC_PATH}/favicon.png",
            oauth2_redirect_url=f"{root}{oauth2_redirect}",
        )

    @app.get(oauth2_redirect, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(redoc_url, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - API reference",
            redoc_js_url=f"{root}{STATIC_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{STATIC_PATH}/favicon.png",
            with_google_fonts=False,
        )


__all__ = ["STATIC_PATH", "install_api_docs"]
