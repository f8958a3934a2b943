"""One exception tree for all of genomesh.

    GenomeshError                      500 / exit 1   base; never raised directly
    ├── InvalidInputError              400 / exit 2   bad user input (file, line, field named)
    │   ├── IngestError                400 / exit 2   malformed VCF / phenopacket / consent
    │   ├── UnknownTermError           400 / exit 2   unknown ontology / DUO / filter term
    │   └── RequestTooLargeError       413 / exit 2   oversized request
    ├── AuthenticationError            401 / exit 3   missing, forged or expired credentials
    ├── AccessDeniedError              403 / exit 3   valid identity, not allowed (visa, DUO, rule)
    │   └── JurisdictionError          403 / exit 3   a jurisdiction rule refused the request
    ├── BudgetExhaustedError           429 / exit 4   query budget for this identity is spent
    ├── NotFoundError                  404 / exit 5   no such dataset, record, node
    ├── ConflictError                  409 / exit 6   state conflict (duplicate, wrong state)
    ├── StoreError                     500 / exit 7   store unreadable or corrupted
    └── UpstreamError                  502 / exit 8   a remote node or hub failed

Each class carries its HTTP status and CLI exit code, so the API error handlers and the CLI
turn every failure into a proper error body or message without ad-hoc strings in routes.
"""

from __future__ import annotations

from typing import Any, ClassVar


class GenomeshError(Exception):
    """Base of every error genomesh raises on purpose."""

    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        self.details = dict(details or {})
        super().__init__(self.describe())

    def describe(self) -> str:
        """The message prefixed with where the problem is (file:line, field)."""
        where = []
        if self.file is not None:
            where.append(f"{self.file}:{self.line}" if self.line is not None else self.file)
        if self.field is not None:
            where.append(f"field {self.field!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description for API error bodies."""
        body: dict[str, Any] = {"error": type(self).__name__, "message": self.describe()}
        for key in ("file", "line", "field"):
            value = getattr(self, key)
            if value is not None:
                body[key] = value
        if self.details:
            body["details"] = self.details
        return body


class InvalidInputError(GenomeshError):
    """The caller's input is malformed or inconsistent."""

    http_status = 400
    exit_code = 2


class IngestError(InvalidInputError):
    """A file given to ingest is malformed; names file, line and field."""


class UnknownTermError(InvalidInputError):
    """An ontology, DUO or filter term is not known."""


class RequestTooLargeError(InvalidInputError):
    """A request exceeds a configured size limit."""

    http_status = 413


class AuthenticationError(GenomeshError):
    """Credentials are missing, malformed, forged or expired."""

    http_status = 401
    exit_code = 3


class AccessDeniedError(GenomeshError):
    """The identity is known but not allowed to do this."""

    http_status = 403
    exit_code = 3


class JurisdictionError(AccessDeniedError):
    """A declarative jurisdiction rule refused the request (rule name in details)."""


class BudgetExhaustedError(GenomeshError):
    """The per-identity query budget is spent."""

    http_status = 429
    exit_code = 4


class NotFoundError(GenomeshError):
    """No such dataset, record, node or application."""

    http_status = 404
    exit_code = 5


class ConflictError(GenomeshError):
    """The operation conflicts with current state."""

    http_status = 409
    exit_code = 6


class StoreError(GenomeshError):
    """The node store is unreadable or inconsistent."""

    http_status = 500
    exit_code = 7


class UpstreamError(GenomeshError):
    """A remote node or hub failed or answered badly."""

    http_status = 502
    exit_code = 8


__all__ = [
    "AccessDeniedError",
    "AuthenticationError",
    "BudgetExhaustedError",
    "ConflictError",
    "GenomeshError",
    "IngestError",
    "InvalidInputError",
    "JurisdictionError",
    "NotFoundError",
    "RequestTooLargeError",
    "StoreError",
    "UnknownTermError",
    "UpstreamError",
]
