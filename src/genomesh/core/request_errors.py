"""The words for a request body that cannot be read, shared by the node and the hub so that
both answer a non-JSON POST body the same way: 400, "the request body is not JSON: <why> at
character N" (issue 10: the hub said 400, a node 422 `body.0: JSON decode error`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from genomesh.core.errors import InvalidInputError


def body_not_json(reason: str, position: int | None = None) -> InvalidInputError:
    """The error for a body that does not parse as JSON (`reason` as the JSON parser says)."""
    where = f" at character {position}" if position is not None else ""
    return InvalidInputError(f"the request body is not JSON: {reason}{where}", field="body")


def json_error_of(errors: Iterable[dict[str, Any]]) -> InvalidInputError | None:
    """`body_not_json` for FastAPI's validation errors of an unparseable body, else None."""
    for error in errors:
        if error.get("type") == "json_invalid":
            loc = tuple(error.get("loc") or ())
            position = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
            reason = str((error.get("ctx") or {}).get("error") or "invalid JSON")
            return body_not_json(reason, position)
    return None


__all__ = ["body_not_json", "json_error_of"]
