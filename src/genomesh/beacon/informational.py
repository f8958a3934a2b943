"""Beacon informational endpoints: `/`, `/info`, `/service-info`, `/configuration`, `/map`,
`/entry_types`, `/filtering_terms`.

These describe the beacon, not its data, except `/filtering_terms`, which lists only the
terms actually present in the node's datasets (no counts), with the ontology resources and
versions they come from, and the HPO acknowledgement wherever HPO terms are shown.
"""

from __future__ import annotations

from typing import Any

from genomesh.core.beacon_model import (
    API_VERSION,
    CROSS_PATHS,
    ENTRY_TYPES,
    entry_type_definitions,
)
from genomesh.core.settings import NodeSettings

HPO_ACKNOWLEDGEMENT = (
    "This service uses the Human Phenotype Ontology (HPO, https://hpo.jax.org). "
    "Find out more at http://www.human-phenotype-ontology.org. "
    "Köhler S. et al., The Human Phenotype Ontology in 2024, Nucleic Acids Res. 2024."
)

# Cross-entity paths served: /{entry}/{id}/{target} (one table in core.beacon_model, which
# the hub's network routes use too).


def informational_meta(settings: NodeSettings) -> dict[str, Any]:
    return {
        "beaconId": settings.beacon_id,
        "apiVersion": API_VERSION,
        "returnedSchemas": [{"entityType": "info", "schema": "beacon-info-v2.0.0"}],
    }


def _organization(settings: NodeSettings) -> dict[str, Any]:
    return {"id": settings.organization, "name": settings.organization}


def info(settings: NodeSettings, *, version: str, datasets: list[dict[str, Any]]) -> dict[str, Any]:
    """`/info` and `/`."""
    return {
        "meta": informational_meta(settings),
        "response": {
            "id": settings.beacon_id,
            "name": settings.name,
            "apiVersion": API_VERSION,
            "environment": "dev",
            "organization": _organization(settings),
            "description": f"genomesh node {settings.name} ({settings.jurisdiction}): Beacon v2 discovery behind one gate.",
            "version": version,
            "welcomeUrl": settings.base_url,
            "info": {
                "jurisdiction": settings.jurisdiction,
                "datasets": datasets,
                # whom this node accepts passports from, for which audience: public facts a
                # hub checks before registering the node (`genomesh hub register-node`)
                "passports": {
                    "audience": settings.expected_audience,
                    "trustedIssuers": [t.iss for t in settings.trusted_issuers],
                },
            },
        },
    }


def service_info(settings: NodeSettings, *, version: str) -> dict[str, Any]:
    """GA4GH service-info 1.0."""
    return {
        "id": settings.beacon_id,
        "name": settings.name,
        "type": {"group": "org.ga4gh", "artifact": "beacon", "version": API_VERSION.lstrip("v")},
        "description": "genomesh node: GA4GH Beacon v2 discovery with tiered access.",
        "organization": {"name": settings.organization, "url": settings.base_url},
        "version": version,
        "environment": "dev",
    }


def configuration(settings: NodeSettings) -> dict[str, Any]:
    levels = ["PUBLIC", "REGISTERED", "CONTROLLED"]
    return {
        "meta": informational_meta(settings),
        "response": {
            "$schema": "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/framework/json/configuration/beaconConfigurationSchema.json",
            "maturityAttributes": {"productionStatus": "DEV"},
            "securityAttributes": {
                "defaultGranularity": settings.default_policy.tiers.anonymous,
                "securityLevels": levels,
            },
            "entryTypes": entry_type_definitions(),
        },
    }


def beacon_map(settings: NodeSettings) -> dict[str, Any]:
    base = settings.base_url.rstrip("/")
    sets: dict[str, Any] = {}
    for path, entry in ENTRY_TYPES.items():
        eid = entry.id
        endpoints = {
            f"{ENTRY_TYPES[t].id}Lookup": {
                "returnedEntryType": ENTRY_TYPES[t].id,
                "url": f"{base}/{path}/{{id}}/{t}",
            }
            for t in CROSS_PATHS[path]
        }
        sets[eid] = {
            "entryType": eid,
            "rootUrl": f"{base}/{path}",
            "singleEntryUrl": f"{base}/{path}/{{id}}",
            "openAPIEndpointsDefinition": f"{base}/openapi.json",
            "endpoints": endpoints,
        }
    return {
        "meta": informational_meta(settings),
        "response": {
            "$schema": "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/framework/json/configuration/beaconMapSchema.json",
            "endpointSets": sets,
        },
    }


def entry_types(settings: NodeSettings) -> dict[str, Any]:
    return {
        "meta": informational_meta(settings),
        "response": {"entryTypes": entry_type_definitions()},
    }


def _resource(prefix: str) -> dict[str, Any]:
    """An ontology resource entry with the packaged version when genomesh has one."""
    known = {
        "HP": (
            "hp",
            "Human Phenotype Ontology",
            "https://purl.obolibrary.org/obo/hp.owl",
            "http://purl.obolibrary.org/obo/HP_",
        ),
        "ICD10": (
            "icd10",
            "International Classification of Diseases, 10th revision",
            "https://icd.who.int/browse10",
            "",
        ),
        "NCIT": (
            "ncit",
            "NCI Thesaurus",
            "http://purl.obolibrary.org/obo/ncit.owl",
            "http://purl.obolibrary.org/obo/NCIT_",
        ),
        "LOINC": (
            "loinc",
            "Logical Observation Identifiers Names and Codes",
            "https://loinc.org",
            "https://loinc.org/",
        ),
        "OPCS4": (
            "opcs4",
            "OPCS Classification of Interventions and Procedures v4",
            "https://www.datadictionary.nhs.uk",
            "",
        ),
        "GAZ": (
            "gaz",
            "Gazetteer",
            "http://purl.obolibrary.org/obo/gaz.owl",
            "http://purl.obolibrary.org/obo/GAZ_",
        ),
        "DUO": (
            "duo",
            "Data Use Ontology",
            "http://purl.obolibrary.org/obo/duo.owl",
            "http://purl.obolibrary.org/obo/DUO_",
        ),
    }
    rid, name, url, iri = known.get(prefix, (prefix.lower(), prefix, "", ""))
    out: dict[str, Any] = {"id": rid, "name": name, "nameSpacePrefix": prefix}
    if url:
        out["url"] = url
    if iri:
        out["iriPrefix"] = iri
    try:
        from genomesh.ontology.registry import get_ontology

        out["version"] = str(get_ontology(prefix).version)
    except Exception:  # a resource without a packaged release: no version to state
        pass
    return out


def filtering_terms(
    settings: NodeSettings,
    *,
    terms: dict[str, str],
    kinds: dict[str, str],
    assays: dict[str, str],
) -> dict[str, Any]:
    """`/filtering_terms`: the terms present in the data, alphanumeric measures, resources."""
    items: list[dict[str, Any]] = []
    for term_id in sorted(terms):
        items.append(
            {
                "type": "ontology",
                "id": term_id,
                "label": terms[term_id],
                "scopes": ["individual", "genomicVariation", "biosample", "run", "analysis"],
            }
        )
    for assay_id in sorted(assays):
        items.append(
            {
                "type": "alphanumeric",
                "id": assay_id,
                "label": assays[assay_id],
                "scopes": ["individual"],
            }
        )
    for field in ("sex", "ethnicity", "geographicOrigin"):
        values = sorted({terms[t] for t, k in kinds.items() if k == field and terms.get(t)})
        if values:
            items.append(
                {
                    "type": "alphanumeric",
                    "id": field,
                    "label": f"{field} label",
                    "values": values,
                    "scopes": ["individual"],
                }
            )
    prefixes = sorted({t.split(":", 1)[0] for t in [*terms, *assays] if ":" in t})
    body: dict[str, Any] = {
        "meta": informational_meta(settings),
        "response": {"filteringTerms": items, "resources": [_resource(p) for p in prefixes]},
    }
    if "HP" in prefixes:
        body["info"] = {
            "hpoAcknowledgement": HPO_ACKNOWLEDGEMENT,
            "hpoVersion": _resource("HP").get("version"),
        }
    return body


__all__ = [
    "CROSS_PATHS",
    "HPO_ACKNOWLEDGEMENT",
    "beacon_map",
    "configuration",
    "entry_types",
    "filtering_terms",
    "info",
    "service_info",
]
