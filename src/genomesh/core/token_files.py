"""A secret kept in a file only its owner can read, made once.

The hub's and the node's admin tokens live in their folders (`admin.token`, mode 0600) when
no token is configured: the operator on the machine can read it and nobody else can guess
it. Several workers may start at once; the first to create the file wins and the others
read it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def private_token(path: Path, *, prefix: str = "") -> str:
    """The token in `path`, or a new random one written there (mode 0600, created once)."""
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    token = prefix + secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


__all__ = ["private_token"]
