"""Validate Matchmaker Exchange v1.1 requests and responses.

The schema is patientMatcher's draft-04 `api.json` (the official ga4gh/mme-apis has none for
v1.x), packaged in `data/`. Its quirks are handled here: it names `gender` where the spec says
`sex` and `referenceBase`/`alternativeBase` where the spec says `referenceBases`/
`alternateBases`, so genomesh checks the spec's names itself. Errors name the JSON path of the
first problem as the error's field, e.g. `patient.genomicFeatures[0].variant` with the message
`'start' is a required property`.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

from genomesh.core.errors import InvalidInputError

SEXES = ("FEMALE", "MALE", "OTHER", "MIXED_SAMPLE", "NOT_APPLICABLE")
_BASES = re.compile(r"^[ACGTN]+$")


class MatchRequestError(InvalidInputError):
    """A /match body that is JSON but not a valid MME request (HTTP 422)."""

    http_status = 422


@cache
def api_schema() -> dict[str, Any]:
    """patientMatcher's api.json (draft-04), as packaged."""
    text = resources.files("genomesh.matchmaker").joinpath("data/patientmatcher-api.json")
    return json.loads(text.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@cache
def _validator(definition: str) -> Any:
    from jsonschema import Draft4Validator

    schema = dict(api_schema())
    return Draft4Validator({**schema, "$ref": f"#/definitions/{definition}"})


def _path(parts: Any) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _spec_checks(patient: dict[str, Any], where: str) -> None:
    """What the spec requires and patientMatcher's schema spells differently or leaves open."""
    sex = patient.get("sex")
    if sex is not None and sex not in SEXES:
        raise MatchRequestError(
            f"must be one of {', '.join(SEXES)}, not {sex!r}", field=f"{where}.sex"
        )
    for n, feature in enumerate(patient.get("genomicFeatures") or []):
        variant = feature.get("variant") if isinstance(feature, dict) else None
        if not isinstance(variant, dict):
            continue
        for key in ("referenceBases", "alternateBases"):
            value = variant.get(key)
            if value is not None and (not isinstance(value, str) or not _BASES.match(value)):
                field = f"{where}.genomicFeatures[{n}].variant.{key}"
                raise MatchRequestError("must be bases (A, C, G, T, N)", field=field)
        start, end = variant.get("start"), variant.get("end")
        if isinstance(start, int) and start < 0:
            field = f"{where}.genomicFeatures[{n}].variant.start"
            raise MatchRequestError("must be ≥ 0 (0-based)", field=field)
        if isinstance(start, int) and isinstance(end, int) and end < start:
            field = f"{where}.genomicFeatures[{n}].variant.end"
            raise MatchRequestError("is before start", field=field)


def _first_error(validator: Any, document: Any, prefix: str) -> None:
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    error = errors[0]
    where = _path([prefix, *error.absolute_path]) if prefix else _path(error.absolute_path)
    message = error.message
    if error.validator == "not":  # the schema's way of requiring features or genomicFeatures
        message = "needs at least one of 'features' or 'genomicFeatures'"
    raise MatchRequestError(message, field=where or "body")


def validate_patient(patient: Any, *, where: str = "patient") -> dict[str, Any]:
    """Check one MME patient object; return it. MatchRequestError names the field."""
    if not isinstance(patient, dict):
        raise MatchRequestError(f"{where} must be an object", field=where)
    _first_error(_validator("patient"), patient, where)
    if not (patient.get("features") or patient.get("genomicFeatures")):
        raise MatchRequestError(
            "needs at least one of 'features' or 'genomicFeatures'", field=where
        )
    _spec_checks(patient, where)
    return patient


def validate_request(body: Any) -> dict[str, Any]:
    """Check a /match request body; return it. MatchRequestError names the field."""
    if not isinstance(body, dict):
        raise MatchRequestError("request body must be a JSON object with 'patient'")
    if "patient" not in body:
        raise MatchRequestError("'patient' is a required property", field="patient")
    _first_error(_validator("request"), body, "")
    validate_patient(body["patient"])
    return body


def validate_response(body: Any) -> dict[str, Any]:
    """Check a /match response (what genomesh sends, and what peers send back)."""
    _first_error(_validator("response"), body, "")
    return body  # type: ignore[no-any-return]


__all__ = [
    "SEXES",
    "MatchRequestError",
    "api_schema",
    "validate_patient",
    "validate_request",
    "validate_response",
]
