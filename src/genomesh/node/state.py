"""The node's state database (audit log, disclosure ledger, budgets, withdrawals).

The implementation lives in `genomesh.audit.state` so that the gate (which sits below
the node app in the layering) can use it; this module is the name the node app and the
CLI import.
"""

from __future__ import annotations

from genomesh.audit.state import (
    AuditEntry,
    Contribution,
    Disclosure,
    FlaggedResult,
    LedgerEntry,
    NodeState,
    Notification,
    Recipient,
    Withdrawal,
)

__all__ = [
    "AuditEntry",
    "Contribution",
    "Disclosure",
    "FlaggedResult",
    "LedgerEntry",
    "NodeState",
    "Notification",
    "Recipient",
    "Withdrawal",
]
