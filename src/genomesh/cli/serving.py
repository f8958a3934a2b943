"""How genomesh runs its ASGI apps under uvicorn (node and hub alike)."""

from __future__ import annotations

from typing import Any

# The C event loop and HTTP parser, named so that a missing dependency fails at start-up
# instead of silently falling back to pure-Python h11. With h11, `--workers 2` answered each
# request ~44 ms late: uvicorn's shared listening socket is made without IPPROTO_TCP, so
# asyncio never sets TCP_NODELAY on accepted connections, and h11 writes a response in two
# pieces (headers, body) - Nagle's algorithm then waits for the client's delayed ACK.
# httptools writes a response in one piece and uvloop sets TCP_NODELAY itself.
#
# proxy_headers off: uvicorn would otherwise take the client address from X-Forwarded-For
# whenever the peer is 127.0.0.1 (its default forwarded_allow_ips), so anyone on the machine,
# or any local reverse proxy passing the header through, could pick a fresh identity (and
# budget) per request. genomesh reads that header itself, and only from the operator's
# `trusted_proxies` (genomesh.core.clients).
UVICORN_OPTIONS: dict[str, Any] = {
    "loop": "uvloop",
    "http": "httptools",
    "proxy_headers": False,
    "forwarded_allow_ips": "",
}

__all__ = ["UVICORN_OPTIONS"]
