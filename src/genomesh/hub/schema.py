"""Every table of the hub database, in one place: what the migrations describe.

The hub's own tables (registry, catalogue, invitations, per-caller budget, audit heads, analysis tasks, secure
runs, shared worker state, dial-out relay, matchmaker peers, matches and notices) and the DAC's (`dac_*`) share one database.
`TARGET_METADATA` lists their SQLAlchemy metadata for Alembic
(genomesh.hub.migrations): a test checks that the head revision creates exactly these.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from genomesh.hub import anchors, callers, dialout_relay, invitations, registry, shared
from genomesh.hub.analysis import ledger, stale, tasks
from genomesh.hub.dac import throttle_sql
from genomesh.hub.dac.models import Base
from genomesh.hub.matchmaker import store as mme_store


def target_metadata() -> list[MetaData]:
    """The metadata of every hub and DAC table (invitations share the registry's)."""
    assert invitations.invitations_table.metadata is registry.metadata
    assert callers.callers_table.metadata is registry.metadata
    return [
        registry.metadata,
        anchors.metadata,
        tasks.metadata,
        ledger.metadata,
        stale.metadata,
        shared.metadata,
        dialout_relay.metadata,
        Base.metadata,
        throttle_sql.metadata,
        mme_store.metadata,
    ]


__all__ = ["target_metadata"]
