"""JavaScript that ships inside Python wheels, served from the installed package.

plotly.js comes from the `plotly` wheel (`plotly/package_data/plotly.min.js`): nothing is
copied into this repository and nothing is fetched from a CDN, so the plots work on a node
or hub with no internet. Served with a day's caching (the file changes only when the
package is upgraded) and `nosniff`.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from genomesh.core.errors import NotFoundError

PLOTLY_PATH = "/portal-vendor/plotly.min.js"
router = APIRouter(include_in_schema=False)


@cache
def plotly_js() -> Path:
    """The plotly.min.js of the installed plotly package."""
    path = Path(str(resources.files("plotly").joinpath("package_data", "plotly.min.js")))
    if not path.is_file():
        raise NotFoundError(f"plotly.js is missing from the installed plotly package ({path})")
    return path


@router.get(PLOTLY_PATH)
def plotly() -> FileResponse:
    return FileResponse(
        plotly_js(),
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


__all__ = ["PLOTLY_PATH", "plotly_js", "router"]
