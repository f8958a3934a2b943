"""The node operator's credential: a bearer token for the node's custodian view.

Like the hub's admin token (`genomesh.hub.admin`): `settings.operator_token` when set
(`GENOMESH_OPERATOR_TOKEN`), otherwise a random token generated on first use into
`NODE_DIR/operator.token` (mode 0600), so whoever operates the node on its machine can read
it and nobody else can guess it. Compared in constant time; never logged.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from genomesh.core.settings import NodeSettings

TOKEN_FILE = "operator.token"


def operator_token(settings: NodeSettings) -> str:
    """The configured operator token, or the one kept in NODE_DIR/operator.token (made once)."""
    if settings.operator_token:
        return settings.operator_token
    path = Path(settings.node_dir) / TOKEN_FILE
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    token = "gso_" + secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker created it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


def is_operator(settings: NodeSettings, presented: str | None) -> bool:
    """True if `presented` is the operator token (constant-time comparison)."""
    if not presented or not presented.strip():
        return False
    expected = operator_token(settings)
    return secrets.compare_digest(presented.strip().encode(), expected.encode())


__all__ = ["TOKEN_FILE", "is_operator", "operator_token"]
