"""THE outflow of a node: guard -> execute -> disclose -> audit, composed once, used by every surface."""

from genomesh.gate.contract import (
    DatasetAccess,
    DatasetResult,
    DisclosedResult,
    Execute,
    GateRequest,
    GateResponse,
)
from genomesh.gate.gate import Gate
from genomesh.gate.guard import (
    MATCHMAKER_ISSUER,
    PARTICIPANT_ISSUER,
    matchmaker_identity,
    participant_identity,
)

__all__ = [
    "MATCHMAKER_ISSUER",
    "PARTICIPANT_ISSUER",
    "DatasetAccess",
    "DatasetResult",
    "DisclosedResult",
    "Execute",
    "Gate",
    "GateRequest",
    "GateResponse",
    "matchmaker_identity",
    "participant_identity",
]
