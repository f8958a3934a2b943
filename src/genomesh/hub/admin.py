"""Who may change the registry: the hub admin token, or a DAC account with the admin role.

The token is a bearer token: `Authorization: Bearer <token>`. When `settings.admin_token`
is not set, a random one is generated on first start into `HUB_DIR/admin.token` (mode
0600) so an operator on the machine can read it and nobody else can guess it.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from genomesh.core.errors import AccessDeniedError, AuthenticationError, GenomeshError
from genomesh.core.settings import HubSettings
from genomesh.core.token_files import private_token

TOKEN_FILE = "admin.token"


def admin_token(settings: HubSettings) -> str:
    """The configured admin token, or the one kept in HUB_DIR/admin.token (created once)."""
    if settings.admin_token:
        return settings.admin_token
    return private_token(Path(settings.hub_dir) / TOKEN_FILE)


def require_admin(request: Request) -> None:
    """FastAPI dependency: the caller presented the admin bearer token."""
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError(
            "registry changes need the hub admin token (Authorization: Bearer ...)"
        )
    expected: str = request.app.state.admin_token
    if secrets.compare_digest(token.strip().encode(), expected.encode()):
        return
    if _dac_admin(request, token.strip()):
        return
    raise AccessDeniedError("the admin token is not valid")


def _dac_admin(request: Request, token: str) -> bool:
    """True if `token` is a DAC session of an account with the hub admin role."""
    try:
        from genomesh.hub.dac.routes import get_service
    except ImportError:
        return False
    try:
        service = get_service(request)
        return service.me(service.authenticate(token)).role == "admin"
    except GenomeshError:
        return False


AdminOnly = Annotated[None, Depends(require_admin)]

__all__ = ["TOKEN_FILE", "AdminOnly", "admin_token", "require_admin"]
