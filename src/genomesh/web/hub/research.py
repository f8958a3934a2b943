"""The research pages of the hub portal: analyses (with plotly.js) and matchmaking.

`research_pages()` gives their routers and navigation entries; `hub_pages()` adds them.
"""

from __future__ import annotations

from fastapi import APIRouter


def research_pages() -> tuple[list[APIRouter], list[tuple[str, str]]]:
    """(routers, navigation entries) of the analysis and matchmaking pages."""
    from genomesh.web import vendor
    from genomesh.web.hub import analysis, matchmaking

    routers = [vendor.router, analysis.router, matchmaking.router]
    return routers, [("Analyses", "/analysis"), ("Matchmaking", "/matchmaking")]


__all__ = ["research_pages"]
