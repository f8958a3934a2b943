"""The node's one custodian credential: the admin token.

It guards the node's admin API (the compelled-disclosure register, the findings queue) and the
custodian view of the portal. `settings.admin_token` (`GENOMESH_ADMIN_TOKEN`) when set,
otherwise a random token generated on first use into `NODE_DIR/admin.token` (mode 0600), so
the custodian on the machine can read it and nobody else can guess it; `genomesh node
admin-token DIR` prints it. Compared in constant time; never logged.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi import Request

from genomesh.core.errors import AccessDeniedError, AuthenticationError
from genomesh.core.settings import NodeSettings
from genomesh.core.token_files import private_token

TOKEN_FILE = "admin.token"


def node_admin_token(settings: NodeSettings) -> str:
    """The configured admin token, or the one kept in NODE_DIR/admin.token (made once)."""
    if settings.admin_token:
        return settings.admin_token
    return private_token(Path(settings.node_dir) / TOKEN_FILE, prefix="gsa_")


def is_node_admin(settings: NodeSettings, presented: str | None) -> bool:
    """True if `presented` is the node's admin token (constant-time comparison)."""
    if not presented or not presented.strip():
        return False
    expected = node_admin_token(settings)
    return secrets.compare_digest(presented.strip().encode(), expected.encode())


def require_node_admin(request: Request) -> str:
    """FastAPI dependency: the caller presented the node admin token; returns "admin"."""
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError(
            "the node's admin API needs its admin token (Authorization: Bearer ...; "
            "`genomesh node admin-token DIR` prints it)"
        )
    if not is_node_admin(request.app.state.settings, token):
        raise AccessDeniedError("the node admin token is not valid")
    return "admin"


__all__ = ["TOKEN_FILE", "is_node_admin", "node_admin_token", "require_node_admin"]
