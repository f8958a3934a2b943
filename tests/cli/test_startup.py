"""`genomesh` starts fast: `--help` and a query load none of the data-store libraries.

Every command line used to import zarr, DuckDB, SQLAlchemy and NumPy before doing anything
(1-3 s). Command modules now import them where they are used; a fresh interpreter proves it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
HEAVY = ("zarr", "duckdb", "sqlalchemy", "numpy", "pyarrow", "cyvcf2", "pandas")

PROBE = """
import json, sys
from genomesh.cli.main import main
code = main(sys.argv[1:])
loaded = sorted({m.split('.')[0] for m in sys.modules})
print(json.dumps({"code": code, "loaded": loaded}), file=sys.stderr)
"""


def _modules_after(argv: list[str]) -> tuple[int, set[str]]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "80"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env, check=False
    )
    last = result.stderr.strip().splitlines()[-1]
    out = json.loads(last)
    return out["code"], set(out["loaded"])


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["node", "--help"],
        ["node", "ingest", "--help"],
        ["dac", "register", "--help"],
        # a query to a hub that is not there: parsing, the request and the error, no store
        ["query", "variant", "22:16050075:A:G", "--hub", "http://127.0.0.1:9"],
    ],
)
def test_startup__no_heavy_imports(argv: list[str]) -> None:
    code, loaded = _modules_after(argv)
    assert code in (0, 8), code  # help, or UpstreamError: the hub is not reachable
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_startup__version(capsys) -> None:
    from genomesh.cli.main import main

    assert main(["--version"]) == 0
    out = capsys.readouterr().out
    import genomesh

    assert out.strip() == f"genomesh {genomesh.__version__}"
