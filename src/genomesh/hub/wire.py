"""Beacon v2 bodies the hub builds itself: meta, informational responses, errors.

Shapes follow the Beacon v2.1.1 framework schemas (../reference/beacon-v2); the hub's tests
validate every body with `genomesh.beacon.schemas.validate_response`.
"""

from __future__ import annotations

from typing import Any

from genomesh.core import beacon_model
from genomesh.core.beacon_model import API_VERSION, ENTRY_TYPES, entry_type_definitions
from genomesh.core.errors import GenomeshError
from genomesh.core.settings import HubSettings

GRANULARITIES = ("boolean", "count", "record")


def returned_schemas(entry: str) -> list[dict[str, str]]:
    return beacon_model.returned_schemas(entry if entry in ENTRY_TYPES else "individuals")


def informational_meta(settings: HubSettings, entry: str | None = None) -> dict[str, Any]:
    return {
        "beaconId": settings.beacon_id,
        "apiVersion": API_VERSION,
        "returnedSchemas": returned_schemas(entry) if entry else [],
    }


def response_meta(
    settings: HubSettings,
    *,
    entry: str,
    granularity: str,
    summary: dict[str, Any],
    schemas: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "beaconId": settings.beacon_id,
        "apiVersion": API_VERSION,
        "returnedSchemas": schemas or returned_schemas(entry),
        "returnedGranularity": granularity,
        "receivedRequestSummary": summary,
    }


def error_body(settings: HubSettings, exc: GenomeshError) -> dict[str, Any]:
    """A beaconErrorResponse for a GenomeshError (status and message from the error)."""
    return {
        "meta": {
            "beaconId": settings.beacon_id,
            "apiVersion": API_VERSION,
            "returnedSchemas": [],
            "returnedGranularity": "boolean",
            "receivedRequestSummary": {
                "apiVersion": API_VERSION,
                "requestedSchemas": [],
                "pagination": {"skip": 0, "limit": 0},
                "requestedGranularity": "boolean",
            },
        },
        "error": {"errorCode": exc.http_status, "errorMessage": exc.describe()},
    }


def organization(settings: HubSettings) -> dict[str, Any]:
    return {"id": settings.beacon_id, "name": settings.name, "welcomeUrl": settings.base_url}


def info_body(settings: HubSettings, *, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "meta": informational_meta(settings),
        "response": {
            "id": settings.beacon_id,
            "name": settings.name,
            "apiVersion": API_VERSION,
            "environment": "prod",
            "organization": organization(settings),
            "description": "genomesh hub: a Beacon network over the registered nodes",
            "welcomeUrl": settings.base_url,
            "info": extra,
        },
    }


def service_info_body(settings: HubSettings) -> dict[str, Any]:
    from genomesh import __version__

    return {
        "id": settings.beacon_id,
        "name": settings.name,
        # GA4GH service-info: the specification's version, semantic (2.1.1, as the nodes
        # say; Beacon's own `apiVersion` fields keep the "v" prefix). QA F24
        "type": {"group": "org.ga4gh", "artifact": "beacon", "version": API_VERSION.lstrip("v")},
        "description": "genomesh hub: Beacon network, node registry and dataset catalogue",
        "organization": {"name": settings.name, "url": settings.base_url},
        "version": __version__,
        "environment": "prod",
    }


def configuration_body(settings: HubSettings) -> dict[str, Any]:
    return {
        "meta": informational_meta(settings),
        "response": {
            "$schema": "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/framework/json/configuration/beaconConfigurationSchema.json",
            "maturityAttributes": {"productionStatus": "PROD"},
            "securityAttributes": {
                "defaultGranularity": "boolean",
                "securityLevels": ["PUBLIC", "REGISTERED", "CONTROLLED"],
            },
            "entryTypes": entry_type_definitions(),
        },
    }


def entry_types_body(settings: HubSettings) -> dict[str, Any]:
    return {
        "meta": informational_meta(settings),
        "response": {"entryTypes": entry_type_definitions()},
    }


def map_body(settings: HubSettings) -> dict[str, Any]:
    base = settings.base_url.rstrip("/")
    sets: dict[str, Any] = {}
    for path, entry in ENTRY_TYPES.items():
        sets[entry.id] = {
            "entryType": entry.id,
            "rootUrl": f"{base}/{path}",
            "singleEntryUrl": f"{base}/{path}/{{id}}",
            "filteringTermsUrl": f"{base}/filtering_terms",
        }
    return {
        "meta": informational_meta(settings),
        "response": {
            "$schema": "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/framework/json/configuration/beaconMapSchema.json",
            "endpointSets": sets,
        },
    }


__all__ = [
    "API_VERSION",
    "ENTRY_TYPES",
    "GRANULARITIES",
    "configuration_body",
    "entry_types_body",
    "error_body",
    "info_body",
    "map_body",
    "response_meta",
    "service_info_body",
]
