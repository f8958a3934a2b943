"""What `genomesh node serve` warns about before it starts: the configuration under which a
node runs but silently cannot do its job in a federation (issue 10: every researcher's
passport was refused by a new node, and nothing said why).
"""

from __future__ import annotations

from typing import Any


def serve_warnings(settings: Any, *, base_url_set: bool, key_file_exists: bool) -> list[str]:
    """One sentence per problem, each saying what to do. `settings` is a NodeSettings."""
    out: list[str] = []
    if not settings.trusted_issuers:
        out.append(
            "this node trusts no passport issuer: every passport is refused and only anonymous "
            "answers are given; add the hub as [[trusted_issuers]] in genomesh.toml (iss = the "
            "hub URL, jwks_url = HUB/.well-known/jwks.json), or join with `genomesh node join`"
        )
    if not base_url_set:
        out.append(
            f"no base_url in genomesh.toml: this node calls itself {settings.base_url} and "
            "accepts passports only for that audience; set base_url to the address the hub "
            "reaches it at"
        )
    if not settings.hub_url:
        out.append(
            "no hub_url: withdrawal notices cannot reach earlier recipients; set hub_url (and "
            "hub_secret from `genomesh dac node-secret NODE`)"
        )
    elif not settings.hub_secret and not key_file_exists:
        out.append(
            "no hub_secret and no node key: the hub will refuse withdrawal notices; set "
            "hub_secret (`genomesh dac node-secret NODE`) or register the node's key "
            "(`genomesh node dial-out DIR --show-key`, then `hub register-node --public-key`)"
        )
    return out


__all__ = ["serve_warnings"]
