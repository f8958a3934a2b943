"""Who is really calling: the socket peer, unless it is a proxy the operator named.

`X-Forwarded-For` is written by whoever sends the request, so it is believed only when the
socket peer is one of the configured `trusted_proxies` (IP addresses or CIDR networks;
default none). Then the chain is read from the right, skipping further trusted proxies; the
first address that is not one is the client. Anything unparseable ends the walk at the last
trusted hop, so a caller can never pick their own identity by writing the header. (uvicorn's
own rewriting is switched off where genomesh serves apps: genomesh.cli.serving.)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """`trusted_proxies` entries as networks; ValueError naming a bad entry."""
    out = []
    for entry in entries:
        try:
            out.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"trusted_proxies: {entry!r} is not an IP address or network") from exc
    return tuple(out)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: str | None, proxies: Sequence[Network]) -> bool:
    ip = _ip(address) if address else None
    return ip is not None and any(ip in net for net in proxies)


def client_address(
    peer: str | None, forwarded_for: str | None, proxies: Sequence[Network]
) -> str | None:
    """The caller's address: `peer`, or from `forwarded_for` when `peer` is a trusted proxy."""
    if not forwarded_for or not proxies or not _trusted(peer, proxies):
        return peer
    current = peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
        if _ip(hop) is None:
            return current  # garbage: stop at the last hop we can vouch for
        current = hop
        if not _trusted(hop, proxies):
            return hop
    return current


__all__ = ["client_address", "parse_networks"]
