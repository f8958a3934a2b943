"""genomesh: share genomic data across institutions and borders without moving it.

The curated public API is listed in `__all__`; everything else is reachable through the
subpackages (`genomesh.store`, `genomesh.beacon`, `genomesh.access`, ...).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

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

try:
    __version__ = version("genomesh")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

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
