"""Schema versions of the node state: migrate additive changes, refuse the rest at open,
and create a fresh database safely when several processes (or threads) open it at once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from genomesh.audit.schema import SCHEMA_VERSION
from genomesh.cli.main import main
from genomesh.core.errors import StoreError
from genomesh.node.state import Contribution, NodeState


def _body(n: int, who: str = "iss|alice") -> dict[str, object]:
    return {
        "who": {"identity_key": who, "tier": "registered"},
        "what": {"surface": "beacon", "operation": "individuals", "parameters": {"n": n}},
        "outcome": "answered",
    }


def _meta(path: Path) -> dict[str, str]:
    con = sqlite3.connect(path)
    try:
        return dict(con.execute("SELECT key, value FROM gs_meta").fetchall())
    finally:
        con.close()


def _indexes(path: Path) -> set[str]:
    con = sqlite3.connect(path)
    try:
        rows = con.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
        return {r[0] for r in rows}
    finally:
        con.close()


# A state database as genomesh wrote it before the ledger became roster bitmaps (schema 1).
_V1_DDL = """
CREATE TABLE gs_meta (key VARCHAR(64) PRIMARY KEY, value TEXT);
CREATE TABLE gs_audit (seq INTEGER PRIMARY KEY, created_at FLOAT, identity_key VARCHAR(512),
  surface VARCHAR(64), operation VARCHAR(128), outcome VARCHAR(16), body TEXT,
  prev_hash VARCHAR(64), hash VARCHAR(64) UNIQUE);
CREATE TABLE gs_audit_head (id INTEGER PRIMARY KEY, seq INTEGER, hash VARCHAR(64));
CREATE TABLE gs_ledger (id INTEGER PRIMARY KEY, individual_id VARCHAR(256),
  dataset_id VARCHAR(256), recipient_key VARCHAR(512), recipient_subject VARCHAR(512),
  audit_seq INTEGER, kind VARCHAR(16), created_at FLOAT);
INSERT INTO gs_meta VALUES ('pseudonym_key', 'abcd');
INSERT INTO gs_audit_head VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
INSERT INTO gs_ledger VALUES (1, 'P1', 'ds1', 'iss|alice', 'alice', 1, 'aggregate', 1.0);
"""


def test_schema__fresh_database_records_the_current_version(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with NodeState.from_url(f"sqlite:///{path}"):
        pass
    assert _meta(path)["schema_version"] == str(SCHEMA_VERSION)
    assert "ix_gs_roster_dataset" in _indexes(path)


def test_schema__older_additive_version_is_migrated_keeping_the_data(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with NodeState.from_url(f"sqlite:///{path}") as st:
        st.append_audit(
            _body(1),
            disclosures=[Contribution("ds1", frozenset({"P1", "P2"}), "aggregate")],
            recipient_subject="alice",
        )
        st.append_audit(_body(2))
        head = st.head()
    # Make it a schema-2 file, as genomesh wrote it before versions were stored.
    con = sqlite3.connect(path)
    con.execute("DROP INDEX ix_gs_roster_dataset")
    con.execute("DELETE FROM gs_meta WHERE key = 'schema_version'")
    con.commit()
    con.close()

    with NodeState.from_url(f"sqlite:///{path}") as st:
        assert st.head() == head
        assert st.verify().ok
        assert [e.recipient_subject for e in st.ledger(individual_id="P2")] == ["alice"]
        st.append_audit(_body(3))
        assert st.verify().n_entries == 3
    assert _meta(path)["schema_version"] == str(SCHEMA_VERSION)
    assert "ix_gs_roster_dataset" in _indexes(path)


def test_schema__unconvertible_older_version_is_refused_at_open_naming_file_and_versions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "genomesh.toml").write_text('name = "old-node"\n')
    path = tmp_path / "state.sqlite"
    con = sqlite3.connect(path)
    con.executescript(_V1_DDL)
    con.close()

    with pytest.raises(StoreError) as info:
        NodeState.from_url(f"sqlite:///{path}")
    message = str(info.value)
    assert str(path) in message
    assert "schema version 1" in message and f"needs version {SCHEMA_VERSION}" in message
    assert f"mv {path} {path}.v1" in message
    # Nothing was written: no new tables, no version stamped, the old ledger untouched.
    con = sqlite3.connect(path)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "gs_roster" not in tables
    assert con.execute("SELECT count(*) FROM gs_ledger").fetchone() == (1,)
    con.close()
    assert "schema_version" not in _meta(path)

    # The CLI says it in one line with the store error's exit code, no traceback.
    assert main(["audit", "verify", str(tmp_path)]) == 7
    err = capsys.readouterr().err
    assert "schema version 1" in err and "Traceback" not in err


def test_schema__newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with NodeState.from_url(f"sqlite:///{path}"):
        pass
    con = sqlite3.connect(path)
    con.execute("UPDATE gs_meta SET value = '99' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match=r"schema version 99.*newer genomesh"):
        NodeState.from_url(f"sqlite:///{path}")
    assert _meta(path)["schema_version"] == "99"


_OPEN_AT = textwrap.dedent(
    """
    import sys, time
    from genomesh.node.state import NodeState
    start = float(sys.argv[2])
    time.sleep(max(0.0, start - time.time()))
    st = NodeState.from_url("sqlite:///" + sys.argv[1])
    st.append_audit({"who": {"identity_key": "k"}, "what": {"surface": "s", "operation": "o"}, "outcome": "answered"})
    st.close()
    """
)


def test_schema__processes_creating_a_fresh_database_at_once_do_not_race(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    start = time.time() + 3.0  # after every interpreter has imported genomesh
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN_AT, str(path), str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=60)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    with NodeState.from_url(f"sqlite:///{path}") as st:
        result = st.verify()
        assert result.ok and result.n_entries == 4, result.describe()
