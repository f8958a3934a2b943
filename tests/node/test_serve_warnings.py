"""`genomesh node serve` warns at start-up about a node that would run but cannot work in a
federation: it trusts no passport issuer, has no base_url, or cannot deliver notices."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from genomesh.cli.serve_checks import serve_warnings
from genomesh.core.settings import NodeSettings, TrustedIssuer
from genomesh.store import init_node

SRC = Path(__file__).resolve().parents[2] / "src"


def test_serve_warnings__each_gap_is_named_with_what_to_do(tmp_path: Path) -> None:
    init_node(tmp_path / "n", name="n", jurisdiction="GB")
    bare = NodeSettings.load(tmp_path / "n")
    said = " ".join(serve_warnings(bare, base_url_set=False, key_file_exists=False))
    assert "trusts no passport issuer" in said and "[[trusted_issuers]]" in said
    assert "no base_url" in said and "no hub_url" in said

    hub = TrustedIssuer(
        iss="http://hub.example", jwks_url="http://hub.example/.well-known/jwks.json"
    )
    ready = NodeSettings.load(
        tmp_path / "n", trusted_issuers=[hub], base_url="http://node.example",
        hub_url="http://hub.example", hub_secret="gsn_x",
    )  # fmt: skip
    assert serve_warnings(ready, base_url_set=True, key_file_exists=False) == []
    unsigned = ready.model_copy(update={"hub_secret": None})
    [warning] = serve_warnings(unsigned, base_url_set=True, key_file_exists=False)
    assert "the hub will refuse withdrawal notices" in warning
    assert serve_warnings(unsigned, base_url_set=True, key_file_exists=True) == []


def test_node_serve__prints_the_warnings_before_serving(tmp_path: Path) -> None:
    init_node(tmp_path / "n", name="n", jurisdiction="GB")
    with socket.socket() as busy:  # the port is taken: serve warns, then uvicorn gives up
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": str(SRC)}
        env = {k: v for k, v in env.items() if not k.startswith("GENOMESH_")}
        result = subprocess.run(
            [sys.executable, "-m", "genomesh.cli.main", "node", "serve", str(tmp_path / "n"),
             "--port", str(port)],
            capture_output=True, text=True, env=env, timeout=120, check=False,
        )  # fmt: skip
    assert "warning: this node trusts no passport issuer" in result.stderr, result.stderr
    assert "warning: no base_url in genomesh.toml" in result.stderr
    assert "warning: no hub_url" in result.stderr
