"""Who may use the node's admin API: the holder of the node admin token.

`Authorization: Bearer <token>`. The token is generated on first use into
`NODE_DIR/admin.token` (mode 0600), so the custodian on the machine can read it and nobody
else can guess it; `genomesh node admin-token DIR` prints it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from fastapi import Request

from genomesh.core.errors import AccessDeniedError, AuthenticationError
from genomesh.core.settings import NodeSettings

TOKEN_FILE = "admin.token"


def node_admin_token(settings: NodeSettings) -> str:
    """The node's admin token (created once, readable only by the node's user)."""
    path = Path(settings.node_dir) / TOKEN_FILE
    if path.is_file():
        return path.read_text().strip()
    token = "gsa_" + secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


def require_node_admin(request: Request) -> None:
    """FastAPI dependency: the caller presented the node admin token."""
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError(
            "the node's admin API needs its admin token (Authorization: Bearer ...; "
            "`genomesh node admin-token DIR` prints it)"
        )
    expected = node_admin_token(request.app.state.settings)
    if not secrets.compare_digest(token.strip().encode(), expected.encode()):
        raise AccessDeniedError("the node admin token is not valid")


__all__ = ["TOKEN_FILE", "node_admin_token", "require_node_admin"]
