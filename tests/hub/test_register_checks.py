"""`genomesh hub register-node` checks the node trusts the hub; `hub remove-node` removes it.

Issue 10: a node registered with a hub it did not trust refused every researcher's passport
("issuer ... is not trusted by this node") and nothing warned."""

from __future__ import annotations

from pathlib import Path

import pytest

from genomesh.cli.main import main
from genomesh.core.settings import NodeSettings
from genomesh.node.app import create_app as create_node_app
from genomesh.store import init_node
from tests.hub.conftest import RunningHub
from tests.hub.standin import free_port, serving


def _node(tmp_path: Path, hub: RunningHub, *, trusts_hub: bool) -> tuple[object, int, str]:
    init_node(tmp_path / "node", name="nl-umc", jurisdiction="NL")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    issuers = [hub.trusted()] if trusts_hub else []
    settings = NodeSettings.load(tmp_path / "node", base_url=url, trusted_issuers=issuers)
    return create_node_app(settings, warm=False), port, url


@pytest.mark.parametrize("trusts_hub", [False, True])
def test_register_node__checks_the_node_trusts_this_hub(
    tmp_path: Path, hub: RunningHub, capsys, trusts_hub: bool
) -> None:
    app, port, url = _node(tmp_path, hub, trusts_hub=trusts_hub)
    argv = ["hub", "register-node", "nl-umc", "--url", url, "--country", "NL",
            "--hub", hub.url, "--token", hub.token]  # fmt: skip
    with serving(app, port=port):
        code = main(argv)
        out, err = capsys.readouterr()
        if trusts_hub:
            assert code == 0, err
            assert "the node trusts this hub's passports" in out and "registered nl-umc" in out
        else:
            assert code == 6, out + err
            assert "not registered: the node does not trust this hub's passports" in err
            assert "[[trusted_issuers]]" in err and "--force" in err
            assert main([*argv, "--force"]) == 0
            assert "warning: the node does not trust" in capsys.readouterr().out

        # a wrong audience is caught too
        assert main(["hub", "remove-node", "nl-umc", "--hub", hub.url, "--token", hub.token]) == 0
        assert "removed node nl-umc (NL, " in capsys.readouterr().out
        code = main([*argv, "--audience", "urn:other", *([] if trusts_hub else ["--force"])])
        out, err = capsys.readouterr()
    assert "expects passports for audience" in out + err
    assert main(["hub", "nodes", "--hub", hub.url, "--json"]) == 0
    listed = capsys.readouterr().out
    assert ("nl-umc" in listed) == (not trusts_hub)  # --force registered it despite the audience


def test_remove_node__unknown_name_is_an_error(hub: RunningHub, capsys) -> None:
    code = main(["hub", "remove-node", "nowhere", "--hub", hub.url, "--token", hub.token])
    assert code == 5 and "no node named 'nowhere'" in capsys.readouterr().err
