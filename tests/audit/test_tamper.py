"""The hash chain names the first bad entry when the SQLite file is edited directly."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from genomesh.audit.chain import canonical_json, entry_hash
from genomesh.node.state import NodeState


def _log(path: Path, n: int = 6) -> None:
    with NodeState.from_url(f"sqlite:///{path}") as st:
        for i in range(n):
            st.append_audit(
                {
                    "who": {"identity_key": f"iss|user{i}", "tier": "registered"},
                    "what": {
                        "surface": "beacon",
                        "operation": "individuals",
                        "parameters": {"i": i},
                    },
                    "outcome": "answered",
                    "datasets": [{"id": "ds1", "n_individuals": 10 + i}],
                }
            )


def _sql(path: Path, *statements: str) -> None:
    con = sqlite3.connect(path)
    for s in statements:
        con.execute(s)
    con.commit()
    con.close()


def _edit_body(path: Path) -> None:
    _sql(
        path,
        "UPDATE gs_audit SET body = replace(body, '\"n_individuals\":13', '\"n_individuals\":99') WHERE seq = 4",
    )


def _edit_body_and_rehash(path: Path) -> None:
    """A careful forger recomputes the edited entry's hash, but not the rest of the chain."""
    con = sqlite3.connect(path)
    body, prev = con.execute("SELECT body, prev_hash FROM gs_audit WHERE seq = 3").fetchone()
    body = body.replace("user2", "mallory")
    con.execute(
        "UPDATE gs_audit SET body = ?, hash = ?, identity_key = 'iss|mallory' WHERE seq = 3",
        (body, entry_hash(prev, body)),
    )
    con.commit()
    con.close()


def _delete_middle(path: Path) -> None:
    _sql(path, "DELETE FROM gs_audit WHERE seq = 2")


def _delete_last(path: Path) -> None:
    _sql(path, "DELETE FROM gs_audit WHERE seq >= 5")


def _reorder(path: Path) -> None:
    _sql(
        path,
        "UPDATE gs_audit SET seq = -3 WHERE seq = 3",
        "UPDATE gs_audit SET seq = 3 WHERE seq = 4",
        "UPDATE gs_audit SET seq = 4 WHERE seq = -3",
    )


def _insert(path: Path) -> None:
    con = sqlite3.connect(path)
    prev = con.execute("SELECT hash FROM gs_audit WHERE seq = 2").fetchone()[0]
    con.execute("UPDATE gs_audit SET seq = seq + 100 WHERE seq > 2")
    con.execute("UPDATE gs_audit SET seq = seq - 99 WHERE seq > 100")
    body = canonical_json(
        {
            "seq": 3,
            "who": {"identity_key": "x"},
            "what": {"surface": "beacon", "operation": "o"},
            "outcome": "answered",
        }
    )
    con.execute(
        "INSERT INTO gs_audit (seq, created_at, identity_key, surface, operation, outcome, body, prev_hash, hash)"
        " VALUES (3, 0, 'x', 'beacon', 'o', 'answered', ?, ?, ?)",
        (body, prev, entry_hash(prev, body)),
    )
    con.commit()
    con.close()


def _edit_column(path: Path) -> None:
    _sql(path, "UPDATE gs_audit SET outcome = 'refused' WHERE seq = 5")


@pytest.mark.parametrize(
    ("tamper", "first_bad", "words"),
    [
        (_edit_body, 4, "edited"),
        (_edit_body_and_rehash, 4, "previous-hash link broken"),
        (_delete_middle, 2, "deleted"),
        (_delete_last, 5, "deleted"),
        (_reorder, 3, "reordered"),
        (_insert, 4, "reordered or inserted"),
        (_edit_column, 5, "columns disagree"),
    ],
)
def test_verify__names_first_bad_entry(
    tmp_path: Path, tamper: Callable[[Path], None], first_bad: int, words: str
) -> None:
    db = tmp_path / "state.sqlite"
    _log(db)
    with NodeState.from_url(f"sqlite:///{db}") as st:
        assert st.verify().ok
    tamper(db)
    with NodeState.from_url(f"sqlite:///{db}") as st:
        result = st.verify()
    assert not result.ok
    assert result.first_bad_seq == first_bad, result.describe()
    assert words in (result.problem or ""), result.describe()
