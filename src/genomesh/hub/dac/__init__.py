"""The data access committee at the hub: accounts, applications, decisions, visas, notifications.

`DacService` holds the logic (genomesh.hub.dac.service); `router` is the HTTP API under
`/dac` (genomesh.hub.dac.routes), which `genomesh.hub.app.create_app` includes; the CLI is
`genomesh dac ...` (genomesh.cli.dac_commands).
"""

from __future__ import annotations

from genomesh.hub.dac.client import DacClient
from genomesh.hub.dac.datasets import CatalogueEntry, DatasetCatalogue, DatasetRef, StaticCatalogue
from genomesh.hub.dac.grants import SqlRevocationList
from genomesh.hub.dac.routes import build_dac_app, install_dac, router
from genomesh.hub.dac.service import DacService

__all__ = [
    "CatalogueEntry",
    "DacClient",
    "DacService",
    "DatasetCatalogue",
    "DatasetRef",
    "SqlRevocationList",
    "StaticCatalogue",
    "build_dac_app",
    "install_dac",
    "router",
]
