"""A Beacon request, whether it came as GET query parameters or a POST body.

Accepted shapes (all normalised to one `BeaconRequest`):

* GET: `?referenceName=1&start=100&alternateBases=A&filters=HP:0001250,NCIT:C16576
  &skip=0&limit=10&requestedGranularity=count&datasetIds=ds1,ds2`; list parameters are
  comma-separated or repeated (`start=1&start=2`).
* POST: `{"meta": {"apiVersion", "requestedSchemas"}, "query": {"requestParameters": {...} |
  {"g_variant": {...}}, "filters": [...], "pagination": {"skip", "limit"},
  "requestedGranularity", "includeResultsetResponses", "testMode"},
  "datasets": {"datasetIds": [...]}}` (dataset ids are also accepted inside `query` or
  `requestParameters`).

Anything malformed raises `InvalidInputError` naming the field, which the node turns into a
400 Beacon error body. `skip` counts records (as the reference implementations do).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from genomesh.core.beacon_model import API_VERSION
from genomesh.core.errors import InvalidInputError
from genomesh.core.settings import Granularity

GRANULARITIES: tuple[Granularity, ...] = ("boolean", "count", "record")
INCLUDE_RESULTSETS = ("ALL", "HIT", "MISS", "NONE")
DEFAULT_LIMIT = 10

# Variant request parameters (names as in the g_variant requestParameters schema) and
# their GET aliases from the model's endpoints.json.
VARIANT_PARAMETERS = (
    "referenceName",
    "start",
    "end",
    "referenceBases",
    "alternateBases",
    "variantType",
    "variantMinLength",
    "variantMaxLength",
    "assemblyId",
    "geneId",
    "aminoacidChange",
    "genomicAlleleShortForm",
    "mateName",
)
GET_ALIASES = {"geneid": "geneId", "allele": "genomicAlleleShortForm"}
LIST_PARAMETERS = ("start", "end")
INT_PARAMETERS = ("variantMinLength", "variantMaxLength")
CONTROL_GET_PARAMETERS = (
    "filters",
    "skip",
    "limit",
    "requestedGranularity",
    "includeResultsetResponses",
    "requestedSchema",
    "datasetIds",
    "datasets",
    "testMode",
    "apiVersion",
)
# Keys a POST body may carry (the framework's beaconRequestBody plus `datasets`, which the
# reference implementations accept); anything else is a 400 naming it, so a typo such as
# `query.filter` cannot silently drop a filter.
BODY_KEYS = {"$schema", "meta", "query", "datasets"}
META_KEYS = {"$schema", "apiVersion", "requestedSchemas"}
QUERY_KEYS = {
    "filters", "includeResultsetResponses", "pagination", "requestParameters",
    "requestedGranularity", "testMode", "datasets",
}  # fmt: skip
PAGINATION_KEYS = {"skip", "limit", "currentPage", "nextPage", "previousPage"}
# Keys that may wrap the request parameters in POST bodies (`{"g_variant": {...}}`).
ENTITY_WRAPPERS = (
    "g_variant",
    "genomicVariant",
    "g_variants",
    "individual",
    "biosample",
    "run",
    "analysis",
)


@dataclass
class BeaconRequest:
    """One Beacon query, normalised."""

    entry: str  # the path's entry type: g_variants, individuals, ...
    entry_id: str | None = None  # /entry/{id}
    target: str | None = None  # /entry/{id}/{target}
    parameters: dict[str, Any] = field(default_factory=dict)  # variant parameters, typed
    filters: list[dict[str, Any]] = field(default_factory=list)
    skip: int = 0
    limit: int = DEFAULT_LIMIT
    requested_limit: int = DEFAULT_LIMIT
    granularity: Granularity = "boolean"
    dataset_ids: list[str] | None = None
    requested_schemas: list[dict[str, str]] = field(default_factory=list)
    include_resultsets: str = "HIT"
    test_mode: bool = False
    api_version: str = API_VERSION

    @property
    def returned_entry(self) -> str:
        """The entry type whose records are returned (target of a cross-entity path)."""
        return self.target or self.entry

    def summary(self) -> dict[str, Any]:
        """`meta.receivedRequestSummary` as the spec requires it.

        SPEC: `requestParameters` only validates in the entity-wrapped form, and `filters`
        is an array of strings (ids) in the summary although requests send objects.
        """
        out: dict[str, Any] = {
            "apiVersion": self.api_version,
            "requestedSchemas": self.requested_schemas,
            # the limit applied, not the one asked (a capped limit is said in info.pagination)
            "pagination": {"skip": self.skip, "limit": self.limit},
            "requestedGranularity": self.granularity,
            "includeResultsetResponses": self.include_resultsets,
            "testMode": self.test_mode,
        }
        if self.filters:
            out["filters"] = [str(f.get("id", "")) for f in self.filters]
        if self.parameters:
            out["requestParameters"] = {"g_variant": dict(self.parameters)}
        return out

    def limit_capped(self) -> dict[str, Any] | None:
        """`info.pagination` when the limit asked was more than this node gives per page."""
        if self.requested_limit == self.limit:
            return None
        asked = "no limit (0)" if self.requested_limit == 0 else f"limit {self.requested_limit}"
        return {
            "requestedLimit": self.requested_limit,
            "appliedLimit": self.limit,
            "reason": {
                "code": "limit_capped",
                "message": f"{asked} asked; this node returns at most {self.limit} records per "
                f"page, so {self.limit} were applied: page on with skip",
            },
        }

    def audit_parameters(self) -> dict[str, Any]:
        """The query as recorded in the audit log."""
        return {
            "entry": self.entry,
            "id": self.entry_id,
            "target": self.target,
            "requestParameters": self.parameters,
            "filters": self.filters,
            "skip": self.skip,
            "limit": self.limit,
        }


def _split(values: list[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        out.extend(p.strip() for p in v.split(",") if p.strip())
    return out


def _int(value: Any, name: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool):
        raise InvalidInputError(f"{name} must be an integer, got {value!r}", field=name)
    try:
        number = int(value) if not isinstance(value, float) or value.is_integer() else None
    except (TypeError, ValueError):
        number = None
    if number is None:
        raise InvalidInputError(f"{name} must be an integer, got {value!r}", field=name)
    if number < minimum:
        raise InvalidInputError(f"{name} must be >= {minimum}, got {number}", field=name)
    return number


def _typed_parameters(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Check names and types of variant request parameters."""
    out: dict[str, Any] = {}
    for name, value in raw.items():
        key = GET_ALIASES.get(name, name)
        if key not in VARIANT_PARAMETERS:
            raise InvalidInputError(f"unknown request parameter {name!r}", field=name)
        if value is None:
            continue
        if key not in ("referenceBases", "alternateBases") and (
            (isinstance(value, str) and not value.strip()) or value == []
        ):
            # an empty geneId used to mean "no gene": every variant came back (issue 10)
            raise InvalidInputError(
                f"{key} is empty; give a value (e.g. geneId=BRCA2) or leave the parameter out",
                field=key,
            )
        if key in LIST_PARAMETERS:
            items = value if isinstance(value, list) else _split([str(value)])
            if not 1 <= len(items) <= 2:
                raise InvalidInputError(f"{key} takes one or two positions", field=key)
            out[key] = [_int(v, key) for v in items]
        elif key in INT_PARAMETERS:
            out[key] = _int(value, key)
        else:
            if not isinstance(value, str):
                raise InvalidInputError(f"{key} must be a string, got {value!r}", field=key)
            out[key] = value.strip()
    return out


def _granularity(value: Any) -> Granularity:
    if value not in GRANULARITIES:
        raise InvalidInputError(
            f"requestedGranularity must be one of {', '.join(GRANULARITIES)}, got {value!r}",
            field="requestedGranularity",
        )
    return value  # type: ignore[no-any-return]


def _pagination(req: BeaconRequest, skip: Any, limit: Any, *, max_limit: int) -> None:
    req.skip = _int(skip, "skip") if skip is not None else 0
    requested = _int(limit, "limit") if limit is not None else DEFAULT_LIMIT
    req.requested_limit = requested
    req.limit = max_limit if requested == 0 else min(requested, max_limit)


def _filter_objects(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidInputError("filters must be a list", field="filters")
    out: list[dict[str, Any]] = []
    for i, item in enumerate(raw):
        if isinstance(item, str):
            out.append({"id": item})
        elif isinstance(item, dict) and isinstance(item.get("id"), str):
            out.append(dict(item))
        else:
            raise InvalidInputError(
                f"filter #{i + 1} must be a term id or an object with an 'id'", field="filters"
            )
    return out


def _known_keys(obj: dict[str, Any], allowed: set[str], prefix: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise InvalidInputError(
            f"unknown key {prefix}{unknown[0]} (allowed: {', '.join(sorted(allowed))})",
            field=f"{prefix}{unknown[0]}",
        )


def _dataset_ids(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("datasetIds")
        if value is None:
            return None
    if isinstance(value, str):
        value = _split([value])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInputError("datasetIds must be a list of dataset ids", field="datasetIds")
    return list(value)


def from_query_params(
    items: list[tuple[str, str]], *, entry: str, max_limit: int
) -> dict[str, Any]:
    """Turn GET query parameters into the POST body shape (then use `from_body`)."""
    grouped: dict[str, list[str]] = {}
    for key, value in items:
        grouped.setdefault(key, []).append(value)
    params: dict[str, Any] = {}
    query: dict[str, Any] = {}
    body: dict[str, Any] = {"meta": {}, "query": query}
    for key, values in grouped.items():
        if key == "filters":
            query["filters"] = [{"id": v} for v in _split(values)]
        elif key in ("skip", "limit"):
            query.setdefault("pagination", {})[key] = values[-1]
        elif key in ("requestedGranularity", "includeResultsetResponses"):
            query[key] = values[-1]
        elif key == "testMode":
            query["testMode"] = values[-1].lower() in ("true", "1", "yes")
        elif key in ("datasetIds", "datasets"):
            body["datasets"] = {"datasetIds": _split(values)}
        elif key == "requestedSchema":
            body["meta"]["requestedSchemas"] = [
                {"entityType": entry, "schema": v} for v in _split(values)
            ]
        elif key == "apiVersion":
            body["meta"]["apiVersion"] = values[-1]
        elif GET_ALIASES.get(key, key) in LIST_PARAMETERS:
            params[key] = _split(values)
        else:
            params[key] = values[-1]
    if params:
        query["requestParameters"] = params
    return body


def from_body(
    body: Any,
    *,
    entry: str,
    entry_id: str | None = None,
    target: str | None = None,
    max_limit: int = 1000,
) -> BeaconRequest:
    """Normalise a POST body (or converted GET parameters) into a `BeaconRequest`."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise InvalidInputError("the request body must be a JSON object", field="body")
    req = BeaconRequest(entry=entry, entry_id=entry_id, target=target)
    _known_keys(body, BODY_KEYS, "")
    meta = body.get("meta") or {}
    query = body.get("query") or {}
    if not isinstance(meta, dict):
        raise InvalidInputError("meta must be an object", field="meta")
    if not isinstance(query, dict):
        raise InvalidInputError("query must be an object", field="query")
    _known_keys(meta, META_KEYS, "meta.")
    _known_keys(query, QUERY_KEYS, "query.")
    if isinstance(meta.get("apiVersion"), str):
        req.api_version = meta["apiVersion"]
    schemas = meta.get("requestedSchemas") or []
    if not isinstance(schemas, list) or not all(isinstance(s, dict) for s in schemas):
        raise InvalidInputError(
            "requestedSchemas must be a list of objects", field="requestedSchemas"
        )
    req.requested_schemas = [
        {k: str(v) for k, v in s.items() if k in ("entityType", "schema")} for s in schemas
    ]
    params = query.get("requestParameters") or {}
    if not isinstance(params, dict):
        raise InvalidInputError("requestParameters must be an object", field="requestParameters")
    params = dict(params)
    dataset_ids = _dataset_ids(body.get("datasets")) or _dataset_ids(query.get("datasets"))
    dataset_ids = dataset_ids or _dataset_ids(params.pop("datasets", None))
    dataset_ids = dataset_ids or _dataset_ids(params.pop("datasetIds", None))
    for wrapper in ENTITY_WRAPPERS:
        inner = params.pop(wrapper, None)
        if inner is not None:
            if not isinstance(inner, dict):
                raise InvalidInputError(f"{wrapper} must be an object", field="requestParameters")
            params.update(inner)
    req.dataset_ids = dataset_ids
    req.parameters = _typed_parameters(params)
    req.filters = _filter_objects(query.get("filters"))
    pagination = query.get("pagination") or {}
    if not isinstance(pagination, dict):
        raise InvalidInputError("pagination must be an object", field="pagination")
    _known_keys(pagination, PAGINATION_KEYS, "query.pagination.")
    _pagination(req, pagination.get("skip"), pagination.get("limit"), max_limit=max_limit)
    if query.get("requestedGranularity") is not None:
        req.granularity = _granularity(query["requestedGranularity"])
    include = query.get("includeResultsetResponses")
    if include is not None:
        if include not in INCLUDE_RESULTSETS:
            raise InvalidInputError(
                f"includeResultsetResponses must be one of {', '.join(INCLUDE_RESULTSETS)}",
                field="includeResultsetResponses",
            )
        req.include_resultsets = include
    req.test_mode = bool(query.get("testMode", False))
    return req


__all__ = [
    "VARIANT_PARAMETERS",
    "BeaconRequest",
    "from_body",
    "from_query_params",
]
