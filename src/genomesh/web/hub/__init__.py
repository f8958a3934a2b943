"""The hub's portal pages: discover, account and access, committee, participant.

`hub_pages()` lists the routers and the navigation `genomesh.web.app.create_hub_app` mounts.
"""

from __future__ import annotations

from fastapi import APIRouter


def hub_pages() -> tuple[list[APIRouter], list[tuple[str, str]]]:
    """(routers, navigation entries (label, path)) of the hub's portal."""
    from genomesh.web.hub import (
        access,
        account,
        committee,
        discover,
        participant,
        register,
        transparency,
    )
    from genomesh.web.hub.research import research_pages  # analyses, matchmaking

    research, research_nav = research_pages()
    routers: list[APIRouter] = [
        discover.router, account.router, access.router, committee.router, participant.router,
        register.router, transparency.router,
        *research,
    ]  # fmt: skip
    nav: list[tuple[str, str]] = [
        ("Discover", "/discover"),
        ("Apply for access", "/apply"),
        *research_nav,
        ("My data (participants)", "/participant"),
        ("Transparency", "/transparency-report"),
        ("API docs", "/docs"),
    ]
    return routers, nav


__all__ = ["hub_pages"]
