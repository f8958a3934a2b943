"""Does a node trust this hub? Checked by `genomesh hub register-node` before it registers.

A node registered with a hub it does not trust refuses every passport the hub sends it
("issuer ... is not trusted by this node"), and nothing said so until researchers tried
(issue 10). The node publishes whom it trusts and for which audience in `/info`
(`response.info.passports`); the hub publishes its issuer in
`/.well-known/openid-configuration`. Both are public facts.
"""

from __future__ import annotations

from typing import Any

from genomesh.core.errors import UpstreamError


def _get_json(url: str) -> Any:
    import httpx

    try:
        response = httpx.get(url, timeout=10.0, follow_redirects=False)
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise UpstreamError(f"{url}: {type(exc).__name__}: {exc}".rstrip(": ")) from exc


def hub_issuer(hub: str) -> str | None:
    """The issuer of the hub's passports (None if this hub issues none)."""
    try:
        meta = _get_json(f"{hub}/.well-known/openid-configuration")
    except UpstreamError:
        return None
    issuer = meta.get("issuer") if isinstance(meta, dict) else None
    return issuer if isinstance(issuer, str) else None


def trust_problems(node_url: str, *, issuer: str | None, audience: str) -> tuple[list[str], str]:
    """(problems, what was checked): why passports from this hub would be refused there."""
    try:
        body = _get_json(f"{node_url.rstrip('/')}/info")
    except UpstreamError as exc:
        return [], f"could not check the node's trust (node not reachable: {exc.message})"
    info = ((body.get("response") or {}).get("info") or {}) if isinstance(body, dict) else {}
    passports = info.get("passports") if isinstance(info, dict) else None
    if not isinstance(passports, dict):
        return [], "could not check the node's trust (its /info does not say whom it trusts)"
    problems = []
    trusted = [str(t) for t in passports.get("trustedIssuers") or []]
    if issuer is not None and issuer.rstrip("/") not in {t.rstrip("/") for t in trusted}:
        listed = ", ".join(trusted) or "no issuer at all"
        problems.append(
            f"the node does not trust this hub's passports (issuer {issuer}; it trusts "
            f"{listed}): add [[trusted_issuers]] iss = {issuer!r}, jwks_url = "
            f"'{issuer.rstrip('/')}/.well-known/jwks.json' to its genomesh.toml and restart it"
        )
    expected = passports.get("audience")
    if isinstance(expected, str) and expected.rstrip("/") != audience.rstrip("/"):
        problems.append(
            f"the node expects passports for audience {expected}, the hub would send them for "
            f"{audience}: pass --audience {expected}, or set the node's base_url to {audience}"
        )
    return problems, "the node trusts this hub's passports and expects its audience"


__all__ = ["hub_issuer", "trust_problems"]
