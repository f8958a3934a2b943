"""The dataset catalogue: synced from each node's Beacon `/info` and `/datasets`, searchable.

Entries hold only what a node publishes to anonymous callers (so counts are those the node's
disclosure rules allow), plus what the registry knows (country, how to reach the node).
Search: free text, DUO term (with DUO hierarchy when the ontology is available), disease,
phenotype (HPO descendants included), country, cohort role (population / control / cases,
declared by the custodian in the node's dataset policy).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from genomesh.core.errors import InvalidInputError, UnknownTermError, UpstreamError
from genomesh.hub.beacon_paths import node_path
from genomesh.hub.client import NodeClient, NodeRequest
from genomesh.hub.registry import HubStore, NodePublic

PHENOTYPE_PREFIXES = ("HP:",)
DISEASE_PREFIXES = (
    "MONDO:",
    "ORPHA:",
    "Orphanet:",
    "OMIM:",
    "DOID:",
    "ICD10:",
    "ICD10CM:",
    "NCIT:C",
)


def _obj(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one (node answers are untrusted)."""
    return value if isinstance(value, dict) else {}


def _collections(body: Any) -> list[dict[str, Any]]:
    response = body.get("response") if isinstance(body, dict) else None
    if not isinstance(response, dict):
        return []
    items = response.get("collections") or response.get("resultSets") or []
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("results"), list):
            out.extend(r for r in item["results"] if isinstance(r, dict))
        elif isinstance(item, dict):
            out.append(item)
    return out


def _terms(body: Any) -> list[dict[str, Any]]:
    response = body.get("response") if isinstance(body, dict) else None
    terms = response.get("filteringTerms") if isinstance(response, dict) else None
    return [t for t in terms or [] if isinstance(t, dict) and isinstance(t.get("id"), str)]


def _info_datasets(info: Any) -> list[dict[str, Any]]:
    """Dataset summaries a node lists in `/info` (`response.info.datasets`)."""
    response = info.get("response") if isinstance(info, dict) else None
    extra = response.get("info") if isinstance(response, dict) else None
    items = extra.get("datasets") if isinstance(extra, dict) else None
    return [d for d in items or [] if isinstance(d, dict) and d.get("id")]


def merge_records(
    records: list[dict[str, Any]], summaries: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Dataset records from `/datasets`, completed by the `/info` summaries (same ids)."""
    by_id: dict[str, dict[str, Any]] = {}
    for summary in summaries:
        by_id[str(summary["id"])] = dict(summary)
    for record in records:
        if record.get("id"):
            by_id[str(record["id"])] = {**by_id.get(str(record["id"]), {}), **record}
    return [by_id[k] for k in sorted(by_id)]


def _counts(record: dict[str, Any]) -> dict[str, Any]:
    info = _obj(record.get("info"))
    counts = _obj(info.get("counts"))
    out = {k: v for k, v in counts.items() if isinstance(v, int | str)}
    for key in ("individuals", "samples", "variants", "n_individuals", "n_samples", "n_variants"):
        if isinstance(info.get(key), int | str):
            out.setdefault(key.removeprefix("n_"), info[key])
    return out


# The disclosure rules a node states per dataset in /info (genomesh.beacon.service), kept in
# the catalogue so a researcher sees what an answer may hide before asking: numbers (or null,
# "off") under these keys, and the names of the exposure charge and the DP mechanism.
DISCLOSURE_NUMBERS = (
    "minCount",
    "hiddenBelowCarriers",
    "exposureBudgetNats",
    "exposureFreeCarriers",
    "exposureLineMin",
    "exposureLineMax",
    "scrutinyBudgetNats",
    "scrutinyCarriers",
    "dpEpsilon",
)
MAX_MECHANISM = 200


def disclosure_of(record: dict[str, Any]) -> dict[str, Any] | None:
    """The dataset's stated disclosure rules (`disclosure` of its /info summary), keeping
    only the known keys with values of the right type (node answers are untrusted); None
    when the node states none (an older node)."""
    stated = record.get("disclosure")
    if not isinstance(stated, dict):
        return None
    out: dict[str, Any] = {}
    for key in DISCLOSURE_NUMBERS:
        value = stated.get(key)
        if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
            out[key] = value
    for key in ("exposureCharge", "dpMechanism"):  # names: the charging rule, the mechanism
        text = stated.get(key)
        out[key] = text[:MAX_MECHANISM] if isinstance(text, str) else None
    return out


COHORT_ROLES = ("population", "control", "cases")
# the roles a case search takes as its population when none is named
POPULATION_ROLES = ("population", "control")


def cohort_role_of(record: dict[str, Any]) -> str | None:
    """The dataset's declared cohort role (`cohortRole` of its /info summary), or None when
    the custodian declared none or the node sent something else (node answers are untrusted)."""
    role = record.get("cohortRole")
    return role if role in COHORT_ROLES else None


def validate_role(role: str | None) -> None:
    """Refuse a cohort role filter that can never match (a typo must not read as "none")."""
    if role is not None and role not in COHORT_ROLES:
        raise InvalidInputError(
            f"role {role!r} is not a cohort role (one of {', '.join(COHORT_ROLES)})",
            field="role",
        )


def population_datasets(
    entries: list[dict[str, Any]], nodes: Mapping[str, Sequence[str]]
) -> list[str]:
    """NODE/DATASET of the given datasets the catalogue marks as population or control."""
    marked = {
        f"{e.get('node')}/{e.get('datasetId')}"
        for e in entries
        if e.get("cohortRole") in POPULATION_ROLES
    }
    return sorted(f"{n}/{d}" for n, ds in nodes.items() for d in ds if f"{n}/{d}" in marked)


def disclosure_text(disclosure: dict[str, Any] | None) -> str:
    """One line for people: "ε 1 per answer (mechanism); exposure ≤ 0.1 nats per person"."""
    if not disclosure:
        return "not stated"
    epsilon = disclosure.get("dpEpsilon")
    parts = [
        "exact answers (no DP)"
        if epsilon is None
        else f"ε {epsilon:g} per answer"
        + (f" ({disclosure['dpMechanism']})" if disclosure.get("dpMechanism") else "")
    ]
    budget = disclosure.get("exposureBudgetNats")
    parts.append(
        "no per-person exposure budget"
        if budget is None
        else f"exposure ≤ {budget:g} nats per person"
    )
    hidden = disclosure.get("hiddenBelowCarriers")
    if isinstance(hidden, int | float) and hidden > 1:
        parts.append(f"alleles of < {hidden:g} carriers hidden")
    low, high = disclosure.get("exposureLineMin"), disclosure.get("exposureLineMax")
    if budget is not None and isinstance(high, int | float) and high > 0:
        low = low if isinstance(low, int | float) else high
        parts.append(f"rare answers need {low:g}-{high:g} carriers (drawn per answer)")
    scrutiny = disclosure.get("scrutinyBudgetNats")
    if isinstance(scrutiny, int | float):
        parts.append(f"questions about one person ≤ {scrutiny:g} nats")
    return "; ".join(parts)


def catalogue_entry(
    record: dict[str, Any],
    *,
    node: NodePublic,
    node_info: dict[str, Any],
    terms: list[dict[str, Any]],
    hub_url: str,
) -> dict[str, Any]:
    """One catalogue entry from a node's dataset record (Beacon dataset model)."""
    info = {k: v for k, v in record.items() if k in ("assemblyId", "attribution", "citation")}
    info.update(_obj(record.get("info")))
    conditions = _obj(record.get("dataUseConditions"))
    duo = [
        {
            "id": d.get("id"),
            "label": d.get("label"),
            **({"modifiers": d["modifiers"]} if d.get("modifiers") else {}),
        }
        for d in conditions.get("duoDataUse") or []
        if isinstance(d, dict) and d.get("id")
    ]
    response = _obj(node_info.get("response"))
    node_extra = _obj(response.get("info"))
    dataset_id = str(record.get("id"))
    term_ids = sorted({t["id"] for t in terms})
    return {
        "datasetId": dataset_id,
        "name": record.get("name") or dataset_id,
        "description": record.get("description") or "",
        "node": node.name,
        "nodeName": response.get("name") or node.name,
        "beaconId": response.get("id"),
        "organization": _obj(response.get("organization")).get("name"),
        "country": node.country,
        "jurisdiction": info.get("jurisdiction") or node_extra.get("jurisdiction") or node.country,
        "dialOut": node.dial_out,
        "assembly": info.get("assembly") or info.get("assemblyId"),
        "version": record.get("version"),
        "duo": duo,
        "counts": _counts(record),
        "disclosure": disclosure_of(record),
        "cohortRole": cohort_role_of(record),
        "phenotypes": [t for t in term_ids if t.startswith(PHENOTYPE_PREFIXES)],
        "diseases": [t for t in term_ids if t.startswith(DISEASE_PREFIXES)],
        "termLabels": {t["id"]: t.get("label") for t in terms if t.get("label")},
        "citation": info.get("citation") or info.get("attribution"),
        "access": info.get("access")
        or {
            "how": "apply to the data access committee through the hub",
            "url": f"{hub_url.rstrip('/')}/dac/applications",
            "dataset": dataset_id,
            "node": node.name,
        },
        "contact": node.contact,
    }


async def fetch_node_catalogue(
    node: NodePublic, *, client: NodeClient, timeout: float, hub_url: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Ask one node for `/info`, `/datasets` and filtering terms; build its entries."""

    async def get(path: str, params: list[tuple[str, str]] | None = None) -> Any:
        reply = await client.send(node, NodeRequest("GET", path, params or []), timeout=timeout)
        if reply.status != "ok":
            raise UpstreamError(f"{node.name} {path}: {reply.status}: {reply.reason}")
        return reply.body

    results: Any = await asyncio.gather(
        get("/info"),
        get("/datasets", [("limit", "1000")]),
        get("/filtering_terms"),
        return_exceptions=True,
    )
    info, datasets, node_terms = results
    if isinstance(info, BaseException):
        raise info
    if isinstance(datasets, BaseException):
        raise datasets
    fallback_terms = [] if isinstance(node_terms, BaseException) else _terms(node_terms)
    records = merge_records(_collections(datasets), _info_datasets(info))

    async def terms_for(dataset_id: str) -> list[dict[str, Any]]:
        try:
            # the id comes from the node: encoded as one segment all the same
            return _terms(await get(node_path("datasets", dataset_id, "filtering_terms")))
        except (UpstreamError, InvalidInputError):
            return fallback_terms

    per_dataset = await asyncio.gather(*(terms_for(str(r["id"])) for r in records))
    entries = [
        catalogue_entry(r, node=node, node_info=info, terms=t, hub_url=hub_url)
        for r, t in zip(records, per_dataset, strict=True)
    ]
    return info, entries


async def sync_catalogue(
    store: HubStore,
    client: NodeClient,
    *,
    timeout: float,
    hub_url: str,
    names: list[str] | None = None,
) -> dict[str, str]:
    """Re-sync the chosen (default all) nodes; returns node -> "ok" or the error."""
    nodes = store.select_nodes(names)

    async def one(node: NodePublic) -> str:
        try:
            info, entries = await fetch_node_catalogue(
                node, client=client, timeout=timeout, hub_url=hub_url
            )
        except UpstreamError as exc:
            store.record_sync_error(node.name, exc.message)
            return exc.message
        store.replace_catalogue(node.name, entries, info=info)
        return "ok"

    results = await asyncio.gather(*(one(n) for n in nodes))
    return {n.name: r for n, r in zip(nodes, results, strict=True)}


def _expand(term: str, kind: str) -> set[str]:
    """A term and its descendants, when the ontology knows it (else just the term)."""
    try:
        if kind == "duo":
            from genomesh.ontology.duo import get_duo

            return set(get_duo().descendants(term)) | {term}
        if term.startswith("HP:"):
            from genomesh.ontology.hpo import get_hpo

            return set(get_hpo().descendants(term)) | {term}
        from genomesh.ontology.registry import descendants

        return set(descendants(term)) | {term}
    except Exception:  # unknown term or ontology not available: match the term literally
        return {term}


def validate_search(*, duo: str | None = None, phenotype: str | None = None) -> None:
    """Refuse search terms that cannot be right (a typo must not read as "no such data").

    `duo` must be a term of the packaged DUO; a `phenotype` given as an `HP:` id must be in
    the packaged HPO (words are matched against labels and are not checked).
    """
    if duo is not None:
        from genomesh.ontology.duo import get_duo

        if not get_duo().has(duo.strip()):
            raise UnknownTermError(
                f"{duo!r} is not a term of the Data Use Ontology (write e.g. DUO:0000042)",
                field="duo",
            )
    if phenotype is not None and phenotype.strip().upper().startswith("HP:"):
        from genomesh.ontology.hpo import get_hpo

        if not get_hpo().has(phenotype.strip()):
            raise UnknownTermError(f"{phenotype!r} is not an HPO term", field="phenotype")
    if phenotype is not None and not phenotype.strip():
        raise InvalidInputError("phenotype must not be empty", field="phenotype")


def search_catalogue(
    entries: list[dict[str, Any]],
    *,
    q: str | None = None,
    duo: str | None = None,
    disease: str | None = None,
    phenotype: str | None = None,
    country: str | None = None,
    role: str | None = None,
) -> list[dict[str, Any]]:
    """Entries matching every given criterion (all optional; none = everything)."""
    out = []
    duo_ids = _expand(duo, "duo") if duo else set()
    phenotype_ids = _expand(phenotype, "hp") if phenotype and ":" in phenotype else set()
    disease_ids = _expand(disease, "disease") if disease and ":" in disease else set()
    for entry in entries:
        if role and entry.get("cohortRole") != role:
            continue
        if country and country.upper() not in {entry.get("country"), entry.get("jurisdiction")}:
            continue
        if duo and not duo_ids & {d["id"] for d in entry.get("duo", [])}:
            continue
        labels = {k: str(v).lower() for k, v in (entry.get("termLabels") or {}).items()}
        if phenotype:
            have = set(entry.get("phenotypes", []))
            if phenotype_ids:
                if not phenotype_ids & have:
                    continue
            elif not any(phenotype.lower() in labels.get(t, "") for t in have):
                continue
        if disease:
            have = set(entry.get("diseases", []))
            if disease_ids:
                if not disease_ids & have:
                    continue
            elif not any(disease.lower() in labels.get(t, "") for t in have):
                continue
        if q:
            text = " ".join(
                str(entry.get(k) or "")
                for k in (
                    "datasetId",
                    "name",
                    "description",
                    "node",
                    "nodeName",
                    "organization",
                    "citation",
                )
            )
            text += " " + " ".join(str(d.get("label") or "") for d in entry.get("duo", []))
            text += " " + " ".join(labels.values())
            if q.lower() not in text.lower():
                continue
        out.append(entry)
    return out


__all__ = [
    "COHORT_ROLES",
    "catalogue_entry",
    "cohort_role_of",
    "disclosure_of",
    "disclosure_text",
    "fetch_node_catalogue",
    "population_datasets",
    "search_catalogue",
    "sync_catalogue",
    "validate_role",
    "validate_search",
]
