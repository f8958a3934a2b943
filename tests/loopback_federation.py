"""One hub and one node on loopback, set up the same way for the portal tests (tests/web) and
the end-to-end access test (tests/e2e/test_access_flow.py).

The hub (registry, catalogue, DAC, passport issuer) and the node run as uvicorn servers on
127.0.0.1; the caller gives the app factories (the API apps, or the portal apps that wrap
them). The node `nl-node` (NL) holds two datasets, cohort1 and cohort2, ingested from the
small simulated cohort (consent mix: GRU, HMB, HMB+NPU, HMB+IRB+PUB, DS[type 2 diabetes] ...)
with HMB as their dataset-level terms. It trusts the hub's JWKS and polls its revocation
list (no leeway, no caching), posts withdrawal notices to the hub with the secret the hub
issued, and answers counts from 1 with no anti-differencing and a budget no test exhausts.

Nothing is registered: the node joining the hub and the DAC's records are the caller's steps
(in the end-to-end test they are what is under test).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from genomesh.core.consent import DataUseTerm
from genomesh.core.settings import DatasetPolicy, HubSettings, NodeSettings, TrustedIssuer
from genomesh.store import ingest_dataset, init_node, open_node
from genomesh.testing.cohorts import shared_cohort
from tests.dac.conftest import LiveServer, free_port, serve

ADMIN_PASSWORD = "Federation-Keeper-4410"
NODE_NAME = "nl-node"
DATASETS = ("cohort1", "cohort2")
HMB = DataUseTerm(id="DUO:0000006")


@dataclass
class LoopbackFederation:
    """URLs, apps and HTTP clients of a running loopback federation."""

    hub: str
    node: str
    hub_app: Any
    node_app: Any
    node_dir: Path
    node_settings: NodeSettings
    hub_http: httpx.Client
    node_http: httpx.Client
    servers: list[LiveServer]

    def login(self, username: str, password: str) -> dict[str, str]:
        """API bearer headers for an account (for set-up steps that are not under test)."""
        return login(self.hub_http, username, password)

    def participant_token(self, individual: str) -> str:
        """A participant token issued by the custodian (as `genomesh node participant-token`)."""
        from genomesh.gate import Gate
        from genomesh.node.state import NodeState

        gate = Gate(
            settings=self.node_settings,
            node=open_node(self.node_dir),
            state=NodeState.open(self.node_settings),
        )
        return str(gate.state.issue_participant_token(individual))


@contextmanager
def loopback_federation(
    root: Path,
    *,
    create_hub: Callable[[HubSettings], Any],
    create_node: Callable[[NodeSettings], Any],
    accept_hub_rounds: bool = False,
    **node_options: Any,
) -> Iterator[LoopbackFederation]:
    """Run the hub and the node (folders under `root`) until the block ends.

    `accept_hub_rounds`: the node holds the hub's public key, so it runs the hub's signed
    analysis rounds. `node_options` are further NodeSettings fields (e.g. dataset_policies)."""
    cohort = shared_cohort()
    node_dir = root / "node"
    init_node(node_dir, name=NODE_NAME, jurisdiction="NL")
    for dataset_id in DATASETS:
        ingest_dataset(
            node_dir, dataset_id, vcf=cohort.vcf, individuals=cohort.individuals,
            consent=cohort.consent, duo=[HMB], name=f"simulated {dataset_id}",
        )  # fmt: skip
    hub_port, node_port = free_port(), free_port()
    hub_url, node_url = f"http://127.0.0.1:{hub_port}", f"http://127.0.0.1:{node_port}"
    hub_settings = HubSettings(
        hub_dir=root / "hub", base_url=hub_url, issuer=hub_url, admin_password=ADMIN_PASSWORD,
        catalogue_sync_seconds=0,
    )  # fmt: skip
    hub_app = create_hub(hub_settings)
    servers = [serve(hub_app, port=hub_port)]
    clients = [httpx.Client(base_url=hub_url, timeout=30)]
    try:
        hub_http = clients[0]
        admin = login(hub_http, "admin", ADMIN_PASSWORD)
        secret = hub_http.post(f"/dac/nodes/{NODE_NAME}/secret", headers=admin).json()["secret"]
        if accept_hub_rounds:
            node_options["hub_key"] = _hub_key(hub_settings)
        settings: dict[str, Any] = {
            "base_url": node_url,
            "jurisdiction": "NL",
            "trusted_issuers": [
                TrustedIssuer(
                    iss=hub_url,
                    jwks_url=f"{hub_url}/.well-known/jwks.json",
                    revocations_url=f"{hub_url}/ga4gh/revocations",
                )
            ],
            "passport_leeway_seconds": 0,
            "revocation_refresh_seconds": 0,
            "default_policy": DatasetPolicy(min_count=1),
            "anti_differencing_answers": 0,
            "query_budget": 1_000_000,
            "hub_url": hub_url,
            "hub_secret": secret,
        }
        node_settings = NodeSettings.load(node_dir, **(settings | node_options))
        node_app = create_node(node_settings)
        servers.append(serve(node_app, port=node_port))
        clients.append(httpx.Client(base_url=node_url, timeout=60))
        yield LoopbackFederation(
            hub_url, node_url, hub_app, node_app, node_dir, node_settings, hub_http, clients[1],
            servers,
        )  # fmt: skip
    finally:
        for client in clients:
            client.close()
        for server in reversed(servers):
            server.stop()


def login(http: httpx.Client, username: str, password: str) -> dict[str, str]:
    """Bearer headers for a DAC account, logged in at the hub `http` talks to."""
    response = http.post("/dac/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _hub_key(settings: HubSettings) -> str:
    from genomesh.hub.signing import load_or_create_key, public_key_text

    return public_key_text(load_or_create_key(settings.hub_dir))


__all__ = [
    "ADMIN_PASSWORD",
    "HMB",
    "NODE_NAME",
    "LoopbackFederation",
    "login",
    "loopback_federation",
]
