"""A change counter for what decides revocation: caches stay correct across hub workers.

What `SqlRevocationList.revoked()` returns depends on three tables: revoked ids
(`dac_revoked_jtis`), issued visas (`dac_visas`) and application states
(`dac_applications`: the visas of an application that is no longer approved count as
revoked). Every session of the DAC's `Database` bumps the `revocations` counter
(genomesh.hub.shared) in the same transaction as any change to those tables, whether made
through the ORM (flush) or by a bulk UPDATE/DELETE (the compare-and-set transitions of
genomesh.hub.dac.applications). A reader in any worker compares one row with the value it
saw, so a revocation takes effect at the next request everywhere.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from genomesh.hub.dac.models import Application, IssuedVisa, RevokedJti
from genomesh.hub.shared import bump_version

COUNTER = "revocations"
TRACKED = (Application, IssuedVisa, RevokedJti)


def _touches(session: Session) -> bool:
    return any(isinstance(obj, TRACKED) for obj in (*session.new, *session.dirty, *session.deleted))


def track_revocation_changes(factory: sessionmaker[Session]) -> None:
    """Bump the `revocations` counter in every transaction of `factory`'s sessions that
    changes an application, a visa or a revoked id."""

    @event.listens_for(factory, "before_flush")
    def _flush(session: Session, _context: Any, _instances: Any) -> None:
        if _touches(session) and not session.info.get("revocations_bumped"):
            bump_version(session.connection(), COUNTER)
            session.info["revocations_bumped"] = True

    @event.listens_for(factory, "do_orm_execute")
    def _bulk(state: ORMExecuteState) -> None:
        if not (state.is_update or state.is_delete) or state.bind_mapper is None:
            return
        if state.bind_mapper.class_ in TRACKED:
            bump_version(state.session.connection(), COUNTER)

    @event.listens_for(factory, "after_transaction_end")
    def _reset(session: Session, _transaction: Any) -> None:
        session.info.pop("revocations_bumped", None)


__all__ = ["COUNTER", "track_revocation_changes"]
