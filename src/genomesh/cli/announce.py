"""After `genomesh node ingest`: tell the hub, so the new or changed dataset reaches its
catalogue without an admin running `genomesh hub sync` (issue 10).

The announcement is signed with the node's Ed25519 key (the one `node join` registered, or
`hub register-node --public-key`); the hub re-syncs that node in the background. Failing to
announce never fails the ingest: it says so, and the hub's periodic sync picks it up later.
"""

from __future__ import annotations

from pathlib import Path


def announce_dataset(node_dir: Path, dataset_id: str) -> str | None:
    """Announce; returns a sentence for the operator, or None when there is no hub to tell."""
    from genomesh.core.settings import NodeSettings
    from genomesh.node.dialout import NODE_KEY_FILE, node_key

    settings = NodeSettings.load(node_dir)
    if not settings.hub_url:
        return None
    if not (Path(node_dir) / NODE_KEY_FILE).is_file():
        return (
            "the hub was not told (this node has no key registered with it); its catalogue "
            "catches up at its next periodic sync, or `genomesh hub sync`"
        )
    import httpx

    from genomesh.hub.signing import sign_message

    message = sign_message(
        {"datasets": [dataset_id]}, node_key(node_dir), iss=settings.name, aud="hub"
    )
    url = f"{settings.hub_url.rstrip('/')}/catalogue/announce"
    try:
        response = httpx.post(url, json=message, timeout=10.0)
    except httpx.HTTPError as exc:
        return f"the hub at {settings.hub_url} was not reachable ({exc}); its catalogue catches up at its next sync"
    if response.status_code != 202:
        return (
            f"the hub at {settings.hub_url} did not take the announcement (HTTP "
            f"{response.status_code}); its catalogue catches up at its next sync"
        )
    return f"announced to the hub at {settings.hub_url}: its catalogue refreshes this node now"


__all__ = ["announce_dataset"]
