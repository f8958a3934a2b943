"""How genomesh runs its ASGI apps under uvicorn (node and hub alike)."""

from __future__ import annotations

from typing import Any

# The C event loop and HTTP parser, named so that a missing dependency fails at start-up
# instead of silently falling back to pure-Python h11. With h11, `--workers 2` answered each
# request ~44 ms late: uvicorn's shared listening socket is made without IPPROTO_TCP, so
# asyncio never sets TCP_NODELAY on accepted connections, and h11 writes a response in two
# pieces (headers, body) - Nagle's algorithm then waits for the client's delayed ACK.
# httptools writes a response in one piece and uvloop sets TCP_NODELAY itself.
UVICORN_OPTIONS: dict[str, Any] = {"loop": "uvloop", "http": "httptools"}

__all__ = ["UVICORN_OPTIONS"]
