"""`genomesh demo --check`, part two: the federation's access wiring works end to end.

* **Revocation reaches the nodes** (QA F8): the hub signs a short-lived passport for the GB
  node's audience with a ControlledAccessGrants visa for the CINECA dataset (with the hub's
  own keys, as its DAC does), the GB node answers it at record level, the visa's `jti` goes on the hub's
  revocation list, and the node stops honouring it within its revocation refresh period.
* **Nodes can notify the hub** (QA F9): every demo node's Ed25519 key is registered with
  the hub, so a withdrawal notice signed with a node's key (the envelope nodes use) is
  accepted by `POST /notifications`.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from genomesh.core.errors import UpstreamError

CHECK_SUBJECT = "urn:genomesh:demo-check"


def _granularity(node_url: str, dataset: str, passport: str) -> str:
    response = httpx.get(
        f"{node_url}/individuals",
        params={"requestedGranularity": "record", "datasetIds": dataset, "limit": 1},
        headers={"authorization": f"Bearer {passport}"},
        timeout=30,
    )
    body = response.json()
    return str((body.get("meta") or {}).get("returnedGranularity"))


def check_revocation(
    hub_dir: Path, hub_url: str, *, node_url: str, dataset: str, within: float
) -> float:
    """Seconds until a revoked visa stopped granting records at `node_url`."""
    from genomesh.access.issuer import VisaIssuer
    from genomesh.access.keys import KeyStore
    from genomesh.core.purpose import ResearchPurpose
    from genomesh.core.settings import HubSettings
    from genomesh.hub.dac.grants import SqlRevocationList

    settings = HubSettings(hub_dir=hub_dir, base_url=hub_url, issuer=hub_url)
    issuer = VisaIssuer(KeyStore.open(hub_dir / "keys"), issuer=hub_url)
    expires = int(time.time()) + 600
    grant = issuer.controlled_access_grant(
        CHECK_SUBJECT, dataset_url=f"{node_url}/datasets/{dataset}", expires=expires
    )
    purpose = issuer.research_purpose(
        CHECK_SUBJECT,
        purpose=ResearchPurpose(category="general", will_publish=True),
        expires=expires,
    )
    # a passport for this node's own audience (its base URL): nodes accept no other (QA F23)
    passport = issuer.passport(CHECK_SUBJECT, [grant, purpose], audience=node_url, lifetime=600)
    before = _granularity(node_url, dataset, passport)
    if before != "record":
        raise UpstreamError(
            f"revocation check: the node answered a fresh controlled-access passport at "
            f"{before!r}, not record"
        )
    SqlRevocationList.from_settings(settings).revoke(
        grant.jti, expires=grant.expires_at, reason="genomesh demo --check"
    )
    started = time.monotonic()
    while time.monotonic() - started < within:
        if _granularity(node_url, dataset, passport) != "record":
            return time.monotonic() - started
        time.sleep(0.5)
    raise UpstreamError(
        f"revocation check: the node still gave records {within:.0f} s after the revocation"
    )


def check_notification(hub_url: str, node_dir: Path, node_name: str) -> int:
    """POST a node-signed withdrawal notice to the hub; the number of notices it stored."""
    from genomesh.hub.signing import sign_message
    from genomesh.node.dialout import node_key

    notice: dict[str, Any] = {
        "node": node_name,
        "dataset_id": "demo-check",
        "individual_pseudonym": f"demo-check-{uuid.uuid4().hex[:8]}",
        "recipients": [CHECK_SUBJECT],
        "withdrawn_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "message": "genomesh demo --check: delivery test, no participant withdrew",
    }
    envelope = sign_message(notice, node_key(node_dir), iss=node_name, aud="hub")
    response = httpx.post(f"{hub_url}/notifications", json=envelope, timeout=30)
    if response.status_code != 202:
        raise UpstreamError(
            f"notification check: the hub answered {response.status_code} to a notice "
            f"signed by {node_name}: {response.text[:300]}"
        )
    return int(response.json().get("stored", 0))


__all__ = ["CHECK_SUBJECT", "check_notification", "check_revocation"]
