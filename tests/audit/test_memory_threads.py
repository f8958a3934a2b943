"""An in-memory node state (`sqlite://`) used by several threads at once (tests, one-process
nodes): every write lands, the chain verifies."""

from __future__ import annotations

import threading

from genomesh.node.state import Contribution, NodeState


def _body(n: int, who: str) -> dict[str, object]:
    return {
        "who": {"identity_key": who, "tier": "registered"},
        "what": {"surface": "beacon", "operation": "individuals", "parameters": {"n": n}},
        "outcome": "answered",
    }


def test_memory_state__shared_safely_across_threads() -> None:
    st = NodeState.from_url("sqlite://")
    roster = tuple(f"P{i}" for i in range(50))
    failures: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(15):
                members = frozenset(roster[i : i + 10])
                st.append_audit(
                    _body(100 * k + i, who=f"iss|u{k}"),
                    disclosures=[Contribution("ds1", members, "aggregate", roster=roster)],
                )
                assert st.try_charge(f"iss|u{k}", limit=1000, window_seconds=60) == i + 1
                assert len(st.ledger(individual_id=f"P{i}")) >= 1
                st.withdrawn("ds1")
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    result = st.verify()
    assert result.ok and result.n_entries == 60, result.describe()
    assert len(st.ledger(individual_id="P9")) == 4 * 10  # answers i = 0..9 include P9
    st.close()
