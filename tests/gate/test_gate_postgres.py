"""The gate's full cycle with node state on a real PostgreSQL 15 server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from genomesh.core.settings import NodeSettings
from genomesh.gate import Gate, GateRequest
from genomesh.node.state import NodeState
from genomesh.participants.withdrawal import withdraw
from genomesh.store import open_node
from tests.audit.conftest import _fresh_pg_db, postgres_admin_url
from tests.gate.conftest import carriers_at, researcher

__all__ = ["postgres_admin_url"]


@pytest.fixture
def pg_gate(node_dir: Path, postgres_admin_url: str) -> Iterator[Gate]:
    settings = NodeSettings.load(node_dir, state_url=_fresh_pg_db(postgres_admin_url))
    state = NodeState.open(settings)
    yield Gate(settings=settings, node=open_node(node_dir), state=state)
    state.close()


@pytest.mark.postgres
def test_gate_postgres__answer_withdraw_flag_verify(pg_gate: Gate) -> None:
    def ask(who: str) -> int | None:
        request = GateRequest(researcher(who), "beacon", "g_variants", {}, ("cohort",), "count")
        return pg_gate.run(request, carriers_at(pg_gate.node, 200)).results[0].count

    assert ask("alice") == 8
    report = withdraw(
        pg_gate.state,
        settings=pg_gate.settings,
        node=pg_gate.node,
        dataset_id="cohort",
        individual_id="S1",
    )
    assert [r.recipient_subject for r in report.recipients] == ["alice"]
    assert ask("bob") == 7
    assert pg_gate.state.flagged_audit_seqs() == {1}
    assert pg_gate.state.verify().ok
