"""The node's body bound for analysis rounds: a GWAS round may carry a union variant list of
several MB, so `POST /analysis/rounds` is bounded by `max_analysis_round_bytes`, every other
route still by `max_request_bytes`."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from tests.visiting.conftest import AnalysisNode


async def _post(app: Any, path: str, body: bytes) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://node.test") as client:
        return await client.post(path, content=body, headers={"content-type": "application/json"})


def test_rounds_path__takes_a_multi_mb_round_other_routes_keep_1_mb(
    analysis_node: AnalysisNode,
) -> None:
    from genomesh.hub.signing import load_or_create_key, public_key_text
    from genomesh.node.app import create_app

    hub_key = public_key_text(load_or_create_key(analysis_node.node_dir / "hub"))
    settings = analysis_node.settings.model_copy(
        update={"hub_key": hub_key, "max_analysis_round_bytes": 4_000_000}
    )
    app = create_app(settings)
    keys = [f"22:{20_000_000 + i}:A:G" for i in range(60_000)]  # ~1.3 MB of variant keys
    payload = {"type": "analysis-round", "round": {"params": {"variants": keys}}}
    body = json.dumps({"payload": payload, "sig": "AAAA"}).encode()
    assert 1_000_000 < len(body) < 4_000_000
    rounds = asyncio.run(_post(app, "/analysis/rounds", body))
    assert rounds.status_code == 401, rounds.text  # read in full, then refused: not the hub's
    assert "bad signature" in rounds.text
    elsewhere = asyncio.run(_post(app, "/individuals", body))
    assert elsewhere.status_code == 413
    too_big = asyncio.run(_post(app, "/analysis/rounds", body * 4))
    assert too_big.status_code == 413
