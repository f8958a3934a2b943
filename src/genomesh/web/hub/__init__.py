"""The hub's portal pages: discover, account and access, committee, participant.

`hub_pages()` lists the routers and the navigation `genomesh.web.app.create_hub_app` mounts.
"""

from __future__ import annotations

from fastapi import APIRouter


def hub_pages() -> tuple[list[APIRouter], list[tuple[str, str]]]:
    """(routers, navigation entries (label, path)) of the hub's portal."""
    routers: list[APIRouter] = []
    nav: list[tuple[str, str]] = [("API docs", "/docs")]
    from genomesh.web.hub.research import research_pages  # analyses, matchmaking

    more_routers, more_nav = research_pages()
    routers, nav = [*routers, *more_routers], [*more_nav, *nav]
    return routers, nav


__all__ = ["hub_pages"]
