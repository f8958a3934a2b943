"""Tamper-evident audit log (hash chain) and disclosure ledger."""
