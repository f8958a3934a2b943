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
    COMPELLED_ISSUER,
    MATCHMAKER_ISSUER,
    PARTICIPANT_ISSUER,
    compelled_identity,
    matchmaker_identity,
    participant_identity,
)

__all__ = [
    "COMPELLED_ISSUER",
    "MATCHMAKER_ISSUER",
    "PARTICIPANT_ISSUER",
    "DatasetAccess",
    "DatasetResult",
    "DisclosedResult",
    "Execute",
    "Gate",
    "GateRequest",
    "GateResponse",
    "compelled_identity",
    "matchmaker_identity",
    "participant_identity",
]
