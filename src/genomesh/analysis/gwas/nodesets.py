"""The hub's record of which datasets took part in each secure run of a GWAS definition.

Secure aggregation hides one node's sums within a run, but two runs of the same definition
on dataset sets that differ by one dataset let the hub subtract the totals and get that
dataset's sums. More generally, any dataset whose indicator vector lies in the span of the
recorded runs' indicator vectors can be isolated by a linear combination of their totals.
A new run is refused when adding it would make that possible for any dataset.

A run is recorded under its definition when configured. A secure linear run is also
recorded per quantity (`secure_rounds.quantity_key`: its `flags` and `stats` totals) when
that total is unmasked, over the nodes still in, so a run a node dropped out of counts as a
run of the survivors for what was revealed after the dropout, and the survivors' set is
checked against those records before anything is unmasked.

The ledger is an interface (`NodeSetLedger`); the default keeps records in memory for the
process, and the hub installs a persistent one with `set_ledger`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Protocol

import numpy as np

from genomesh.core.errors import AccessDeniedError


class NodeSetLedger(Protocol):
    def runs(self, definition: str) -> list[frozenset[str]]: ...

    def record(self, definition: str, units: frozenset[str]) -> None: ...


class InMemoryNodeSetLedger:
    """Runs per definition, in memory."""

    def __init__(self) -> None:
        self._runs: dict[str, list[frozenset[str]]] = {}
        self._lock = threading.Lock()

    def runs(self, definition: str) -> list[frozenset[str]]:
        with self._lock:
            return list(self._runs.get(definition, []))

    def record(self, definition: str, units: frozenset[str]) -> None:
        with self._lock:
            self._runs.setdefault(definition, []).append(units)


_ledger: NodeSetLedger = InMemoryNodeSetLedger()


def set_ledger(ledger: NodeSetLedger) -> None:
    """Install the hub's persistent ledger."""
    global _ledger
    _ledger = ledger


def get_ledger() -> NodeSetLedger:
    return _ledger


def isolatable(runs: Iterable[frozenset[str]]) -> list[str]:
    """Units whose own sums follow from a linear combination of the runs' totals."""
    runs = [r for r in runs if r]
    units = sorted(set().union(*runs)) if runs else []
    if not units:
        return []
    M = np.array([[1.0 if u in r else 0.0 for u in units] for r in runs])
    rank = np.linalg.matrix_rank(M)
    out = []
    for i, unit in enumerate(units):
        e = np.zeros(len(units))
        e[i] = 1.0
        if np.linalg.matrix_rank(np.vstack([M, e])) == rank:
            out.append(unit)
    return out


def check(definition: str, units: frozenset[str], *, ledger: NodeSetLedger | None = None) -> None:
    """Refuse a run that would let one unit be differenced out (nothing recorded)."""
    ledger = ledger or _ledger
    if len(units) < 2:
        raise AccessDeniedError("secure mode needs at least two datasets: one would be its own sum")
    previous = ledger.runs(definition)
    if units in previous:
        return
    exposed = isolatable([*previous, units])
    if exposed:
        raise AccessDeniedError(
            "refused: together with earlier secure runs of this GWAS definition on "
            f"{len(previous)} other dataset set(s), this set would let the hub recover "
            f"the sums of {', '.join(exposed)} by differencing"
        )


def check_and_record(
    definition: str, units: frozenset[str], *, ledger: NodeSetLedger | None = None
) -> None:
    """Refuse a run that would let one unit be differenced out; otherwise record it."""
    ledger = ledger or _ledger
    check(definition, units, ledger=ledger)
    if units not in ledger.runs(definition):  # the same set again reveals nothing new
        ledger.record(definition, units)
