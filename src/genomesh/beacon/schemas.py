"""Offline validation of Beacon v2.1.1 documents against the official JSON Schemas.

The schemas live in the shared reference folder (`beacon-v2/`, see its SOURCE.md). Every
`$ref` is resolved locally through `ref-map.json`: the raw.githubusercontent.com prefix maps
into the folder, the VRS URL maps to `external/vrs-1.3/vrs.json`, and the two known broken
references of v2.1.1 are repaired explicitly (never skipped):

* SPEC BUG 1 — model `defaultSchema.json` files point at `../common/info.json`, which does
  not exist in the model folder; `ref-map.json` redirects it to `framework/json/common/info.json`.
* SPEC BUG 2 — model `endpoints.json` files point at
  `beaconCommonComponents.json#/definitions/IncludeResultsetResponses` (renamed to `$defs`);
  we never validate through endpoints.json, but the fix-up is honoured if it is reached.

`validate_response(kind, body)` is what tests (node and hub) call; it raises
`SchemaValidationError` listing every violation with its JSON path.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator, Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7, DRAFT202012

from genomesh.core.errors import InvalidInputError

FRAMEWORK = "framework/json"
MODEL = "models/json/beacon-v2-default-model"

# Response kinds -> schema file (relative to the beacon-v2 folder).
RESPONSE_SCHEMAS: dict[str, str] = {
    "info": f"{FRAMEWORK}/responses/beaconInfoResponse.json",
    "service-info": f"{FRAMEWORK}/responses/ga4gh-service-info-1-0-0-schema.json",
    "configuration": f"{FRAMEWORK}/responses/beaconConfigurationResponse.json",
    "map": f"{FRAMEWORK}/responses/beaconMapResponse.json",
    "entry_types": f"{FRAMEWORK}/responses/beaconEntryTypesResponse.json",
    "filtering_terms": f"{FRAMEWORK}/responses/beaconFilteringTermsResponse.json",
    "boolean": f"{FRAMEWORK}/responses/beaconBooleanResponse.json",
    "count": f"{FRAMEWORK}/responses/beaconCountResponse.json",
    "resultsets": f"{FRAMEWORK}/responses/beaconResultsetsResponse.json",
    "collections": f"{FRAMEWORK}/responses/beaconCollectionsResponse.json",
    "error": f"{FRAMEWORK}/responses/beaconErrorResponse.json",
    "request": f"{FRAMEWORK}/requests/beaconRequestBody.json",
}

# Entry type (as in /entry_types) -> default model schema for one record.
RECORD_SCHEMAS: dict[str, str] = {
    "genomicVariant": f"{MODEL}/genomicVariations/defaultSchema.json",
    "individual": f"{MODEL}/individuals/defaultSchema.json",
    "biosample": f"{MODEL}/biosamples/defaultSchema.json",
    "analysis": f"{MODEL}/analyses/defaultSchema.json",
    "run": f"{MODEL}/runs/defaultSchema.json",
    "dataset": f"{MODEL}/datasets/defaultSchema.json",
    "cohort": f"{MODEL}/cohorts/defaultSchema.json",
}


class SchemaValidationError(InvalidInputError):
    """A document does not validate against its Beacon schema."""


def beacon_schema_dir() -> Path:
    """The `beacon-v2` reference folder (schemas, ref-map.json)."""
    from genomesh.testing.reference import reference_dir

    return reference_dir() / "beacon-v2"


@cache
def _ref_map(root: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((root / "ref-map.json").read_text())
    return result


def _local_path(root: Path, uri: str) -> Path:
    """Map a `$ref` target URI (without fragment) to a file in the reference folder."""
    mapping = _ref_map(root)
    for exact, rel in mapping["exact"].items():
        if uri == exact:
            return root / rel
    for prefix, rel in mapping["prefixes"].items():
        if uri.startswith(prefix):
            return root / rel / uri[len(prefix) :]
    if uri.startswith("file://"):
        path = Path(uri[len("file://") :])
        if not path.exists():
            try:
                rel = path.resolve().relative_to(root.resolve()).as_posix()
            except ValueError:
                rel = ""
            fixed = mapping["missing_file_fixups"].get(rel)  # SPEC BUG 1 (see module doc)
            if fixed:
                return root / fixed
        return path
    raise InvalidInputError(f"schema reference {uri!r} is not available offline")


def _fix_pointers(root: Path, contents: Any, path: Path) -> Any:
    """Apply the ref-map's broken-JSON-pointer fix-ups (SPEC BUG 2) inside one schema."""
    broken = _ref_map(root)["broken_json_pointers"]
    if not broken:
        return contents
    text = json.dumps(contents)
    for bad, good in broken.items():
        bad_file, bad_ptr = bad.split("#", 1)
        good_ptr = good.split("#", 1)[1]
        name = Path(bad_file).name
        text = text.replace(f"{name}#{bad_ptr}", f"{name}#{good_ptr}")
    return json.loads(text)


@cache
def _registry(root: Path) -> Registry:
    vrs = (
        root / _ref_map(root)["exact"]["https://w3id.org/ga4gh/schema/vrs/1.3/vrs.json"]
    ).resolve()

    def retrieve(uri: str) -> Resource:
        path = _local_path(root, uri).resolve()
        contents = _fix_pointers(root, json.loads(path.read_text()), path)
        spec = DRAFT7 if path == vrs else DRAFT202012
        return Resource.from_contents(contents, default_specification=spec)

    return Registry(retrieve=retrieve)  # type: ignore[call-arg]


@cache
def _validator(root: Path, rel: str, fragment: str = "") -> Draft202012Validator:
    uri = (root / rel).resolve().as_uri() + (f"#{fragment}" if fragment else "")
    return Draft202012Validator({"$ref": uri}, registry=_registry(root))


def _errors(validator: Draft202012Validator | Draft7Validator, body: Any) -> Iterator[str]:
    for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        yield f"{where}: {error.message[:300]}"


def schema_errors(kind: str, body: Any, *, root: Path | None = None) -> list[str]:
    """Every violation of `body` against the schema for `kind` (empty list: valid).

    `kind` is a response kind (`info`, `service-info`, `configuration`, `map`, `entry_types`,
    `filtering_terms`, `boolean`, `count`, `resultsets`, `collections`, `error`, `request`)
    or `record:<entryType>` (e.g. `record:individual`) for one default-model record, or
    `g_variant_parameters` for the g_variants request parameters.
    """
    root = root or beacon_schema_dir()
    if kind.startswith("record:"):
        entry = kind.split(":", 1)[1]
        if entry not in RECORD_SCHEMAS:
            raise InvalidInputError(f"unknown entry type {entry!r}", field="kind")
        return list(_errors(_validator(root, RECORD_SCHEMAS[entry]), body))
    if kind == "g_variant_parameters":
        # SPEC: the definition sits under a non-standard top-level key `g_variant`.
        rel = f"{MODEL}/genomicVariations/requestParameters.json"
        return list(_errors(_validator(root, rel, "/g_variant"), body))
    if kind not in RESPONSE_SCHEMAS:
        raise InvalidInputError(f"unknown response kind {kind!r}", field="kind")
    return list(_errors(_validator(root, RESPONSE_SCHEMAS[kind]), body))


def validate_response(kind: str, body: Any, *, root: Path | None = None) -> None:
    """Raise `SchemaValidationError` unless `body` validates as a Beacon `kind` document.

    For result-set and collection responses, each record is also validated against its entry
    type's default-model schema (taken from `meta.returnedSchemas[0].entityType`).
    """
    problems = schema_errors(kind, body, root=root)
    if kind == "resultsets" and isinstance(body, dict) and not problems:
        entity = _entity_type(body)
        if entity in RECORD_SCHEMAS:
            for i, rs in enumerate(body.get("response", {}).get("resultSets", [])):
                for j, rec in enumerate(rs.get("results", [])):
                    for p in schema_errors(f"record:{entity}", rec, root=root):
                        problems.append(f"response/resultSets/{i}/results/{j}/{p}")
    if kind == "collections" and isinstance(body, dict) and not problems:
        entity = _entity_type(body)
        if entity in RECORD_SCHEMAS:
            for i, rec in enumerate(body.get("response", {}).get("collections", [])):
                for p in schema_errors(f"record:{entity}", rec, root=root):
                    problems.append(f"response/collections/{i}/{p}")
    if problems:
        raise SchemaValidationError(
            f"{kind} response does not validate: " + "; ".join(problems[:20]),
            details={"errors": problems},
        )


def _entity_type(body: dict[str, Any]) -> str | None:
    schemas = body.get("meta", {}).get("returnedSchemas") or []
    if schemas and isinstance(schemas[0], dict):
        value = schemas[0].get("entityType")
        return value if isinstance(value, str) else None
    return None


__all__ = [
    "RECORD_SCHEMAS",
    "RESPONSE_SCHEMAS",
    "SchemaValidationError",
    "beacon_schema_dir",
    "schema_errors",
    "validate_response",
]
