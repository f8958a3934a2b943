"""Tamper-evident audit log (hash chain), disclosure ledger and the node state that holds them."""

from genomesh.audit.anchor import Anchor, AnchorRecords
from genomesh.audit.chain import VerifyResult, canonical_json, entry_hash, verify_rows
from genomesh.audit.records import (
    AuditEntry,
    Contribution,
    Disclosure,
    FlaggedResult,
    LedgerEntry,
    Notification,
    Recipient,
    Withdrawal,
)
from genomesh.audit.state import NodeState
from genomesh.audit.verification import AuditCheck, check_log

__all__ = [
    "Anchor",
    "AnchorRecords",
    "AuditCheck",
    "AuditEntry",
    "Contribution",
    "Disclosure",
    "FlaggedResult",
    "LedgerEntry",
    "NodeState",
    "Notification",
    "Recipient",
    "VerifyResult",
    "Withdrawal",
    "canonical_json",
    "check_log",
    "entry_hash",
    "verify_rows",
]
