"""`genomesh demo` against a hub that also knows nodes the demo did not start (QA F31).

A rerun in the same --dir reuses the hub's registry; if someone registered another dial-out
node there and stopped it, the demo waited for *every* dial-out node and failed after 90 s,
and its --check failed on the stranger. Real hub and nodes on loopback; the demo's own
start-up waits and check are called directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from genomesh.cli import demo_commands
from genomesh.cli.demo_commands import Federation, check_network
from genomesh.core.errors import UpstreamError
from genomesh.node.dialout import DialoutClient
from genomesh.node.dialout import public_key_text as node_public_key_text
from tests.hub.conftest import RunningHub
from tests.hub.standin import free_port, serving, standin_app
from tests.hub.test_dialout import _client, dialing_out


@pytest.fixture
def crowded_hub(hub: RunningHub, tmp_path: Path) -> Iterator[RunningHub]:
    """The demo's push nodes up, plus a stranger dial-out node (never connected) and a
    stranger push node that is down."""
    with serving(standin_app("nl")) as nl, serving(standin_app("gb")) as gb:
        hub.register("nl-umc", nl.url, "NL")
        hub.register("gb-biobank", gb.url, "GB")
        (tmp_path / "stranger").mkdir()
        stranger = _client(hub, tmp_path / "stranger", "qa-dial", standin_app("qa"))
        hub.register("qa-dial", "dial-out", "NL", public_key=node_public_key_text(stranger.key))
        hub.register("qa-push", f"http://127.0.0.1:{free_port()}", "NL")
        yield hub


def _au_rd(hub: RunningHub, tmp_path: Path) -> DialoutClient:
    """The demo's own dial-out node (a stand-in app behind the real dial-out client)."""
    (tmp_path / "au-rd").mkdir()
    au = _client(hub, tmp_path / "au-rd", "au-rd", standin_app("au"))
    hub.register("au-rd", "dial-out", "AU", public_key=node_public_key_text(au.key))
    return au


def _federation(hub: RunningHub, tmp_path: Path) -> Federation:
    return Federation(tmp_path / "demo", host="127.0.0.1", hub_port=hub.server.port, node_port=1)


def test_demo__waits_for_its_own_dial_out_node_only(
    crowded_hub: RunningHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_commands, "START_TIMEOUT", 4.0)
    au = _au_rd(crowded_hub, tmp_path)
    fed = _federation(crowded_hub, tmp_path)

    with pytest.raises(UpstreamError, match="dial-out node au-rd did not connect"):
        fed._wait_dial_out()  # the demo's node is not up: the error names it

    with dialing_out(au):
        fed._wait_dial_out()  # returns although qa-dial never connects
        bad = check_network(crowded_hub.url)
    assert bad == {}  # qa-dial (error) and qa-push (down) are not the demo's nodes


def test_demo__check_names_a_demo_node_that_did_not_answer(
    crowded_hub: RunningHub, tmp_path: Path
) -> None:
    _au_rd(crowded_hub, tmp_path)
    assert check_network(crowded_hub.url) == {"au-rd": "error"}
