"""genomesh: share genomic data across institutions and borders without moving it.

The curated public API is listed in `__all__`; everything else is reachable through the
subpackages (`genomesh.store`, `genomesh.beacon`, `genomesh.access`, ...).

The names are loaded on first use (PEP 562): importing `genomesh` itself, as every
`genomesh ...` command line does, must not pay for pydantic models and settings
(`genomesh --help` starts in a fraction of a second).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from genomesh.core.consent import DataUseTerm
    from genomesh.core.errors import (
        AccessDeniedError,
        AuthenticationError,
        BudgetExhaustedError,
        GenomeshError,
        IngestError,
        InvalidInputError,
        NotFoundError,
    )
    from genomesh.core.purpose import ResearchPurpose
    from genomesh.core.settings import HubSettings, NodeSettings

# public name -> the module that defines it
_HOME = {
    "AccessDeniedError": "genomesh.core.errors",
    "AuthenticationError": "genomesh.core.errors",
    "BudgetExhaustedError": "genomesh.core.errors",
    "DataUseTerm": "genomesh.core.consent",
    "GenomeshError": "genomesh.core.errors",
    "HubSettings": "genomesh.core.settings",
    "IngestError": "genomesh.core.errors",
    "InvalidInputError": "genomesh.core.errors",
    "NodeSettings": "genomesh.core.settings",
    "NotFoundError": "genomesh.core.errors",
    "ResearchPurpose": "genomesh.core.purpose",
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("genomesh")
    except PackageNotFoundError:  # pragma: no cover - a source tree without install
        return "0.0.0"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _version()
    elif name in _HOME:
        value = getattr(import_module(_HOME[name]), name)
    else:
        raise AttributeError(f"module 'genomesh' has no attribute {name!r}")
    globals()[name] = value  # once loaded, a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "AccessDeniedError",
    "AuthenticationError",
    "BudgetExhaustedError",
    "DataUseTerm",
    "GenomeshError",
    "HubSettings",
    "IngestError",
    "InvalidInputError",
    "NodeSettings",
    "NotFoundError",
    "ResearchPurpose",
    "__version__",
]
