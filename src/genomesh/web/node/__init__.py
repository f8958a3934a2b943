"""A node's portal pages (the custodian's view), mounted under `/portal`.

`node_pages()` lists the routers and the navigation `genomesh.web.app.create_node_app` mounts.
"""

from __future__ import annotations

from fastapi import APIRouter


def node_pages() -> tuple[list[APIRouter], list[tuple[str, str]]]:
    """(routers, navigation entries (label, path)) of a node's portal."""
    from genomesh.web.node import custodian

    routers: list[APIRouter] = [custodian.router]
    nav: list[tuple[str, str]] = [("Custodian view", "/custodian"), ("API docs", "/docs")]
    return routers, nav


__all__ = ["node_pages"]
