"""The researcher and operator CLI against a real hub on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genomesh.cli.main import main
from genomesh.cli.query_commands import parse_variant
from genomesh.core.errors import InvalidInputError
from tests.hub.conftest import RunningHub
from tests.hub.standin import free_port, serving, standin_app


def test_parse_variant__vcf_position_becomes_zero_based_start() -> None:
    assert parse_variant("chr22:16050075:a:g") == {
        "referenceName": "22",
        "start": [16050074],
        "referenceBases": "A",
        "alternateBases": "G",
    }
    with pytest.raises(InvalidInputError, match="CHROM:POS:REF:ALT"):
        parse_variant("22-16050075-A-G")


def test_cli__register_query_and_search(
    hub: RunningHub, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving(standin_app("nl")) as nl, serving(standin_app("au", require_auth=True)) as au:
        assert main(["hub", "register-node", "nl", "--url", nl.url, "--country", "NL",
                     "--hub", hub.url, "--hub-dir", str(hub.hub_dir), "--token", hub.token]) == 0  # fmt: skip
        assert main(["hub", "register-node", "au", "--url", au.url, "--country", "AU",
                     "--hub", hub.url, "--dir", str(hub.hub_dir), "--token", hub.token]) == 0  # fmt: skip
        capsys.readouterr()

        assert main(["query", "variant", "22:16050075:A:G", "--hub", hub.url, "--json"]) == 0
        body = json.loads(capsys.readouterr().out)
        statuses = {n["node"]: n["status"] for n in body["info"]["network"]["nodes"]}
        assert statuses == {"nl": "ok", "au": "refused"}
        assert body["meta"]["receivedRequestSummary"]["requestedGranularity"] == "count"

        assert main(["query", "individuals", "--filter", "HP:0001250", "--filter", "NCIT:C16576",
                     "--hub", hub.url, "--passport", hub.passport()]) == 0  # fmt: skip
        table = capsys.readouterr().out
        assert "refused" not in table and "nl-ds1" in table and "au-ds1" in table

        assert (
            main(["query", "gene", "BRCA2", "--type", "DEL", "--hub", hub.url, "--node", "nl"]) == 0
        )
        table = capsys.readouterr().out
        assert "nl" in table and "au-ds1" not in table

        assert main(["hub", "sync", "--hub", hub.url, "--token", hub.token]) == 0
        capsys.readouterr()
        assert main(["catalogue", "search", "--country", "AU", "--hub", hub.url, "--json"]) == 0
        found = json.loads(capsys.readouterr().out)
        assert [d["datasetId"] for d in found["datasets"]] == ["au-ds1"]
        assert main(["catalogue", "search", "cohort", "--hub", hub.url]) == 0
        assert "nl-ds1" in capsys.readouterr().out
        assert main(["hub", "nodes", "--hub", hub.url]) == 0
        listing = capsys.readouterr().out
        assert "nl" in listing and "AU" in listing and str(au.port) in listing
        assert main(["hub", "nodes", "--hub", hub.url, "--json"]) == 0
        assert {n["name"] for n in json.loads(capsys.readouterr().out)} == {"nl", "au"}


def test_cli__errors_are_messages_with_exit_codes(
    hub: RunningHub, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["hub", "register-node", "x", "--url", "http://127.0.0.1:9", "--country", "NL",
                 "--hub", hub.url, "--token", "wrong"]) == 3  # fmt: skip
    assert "admin token is not valid" in capsys.readouterr().err
    assert main(["query", "variant", "22:x:A:G", "--hub", hub.url]) == 2
    assert "CHROM:POS:REF:ALT" in capsys.readouterr().err
    assert main(["query", "individuals", "--hub", f"http://127.0.0.1:{free_port()}"]) == 8
    assert "cannot reach the hub" in capsys.readouterr().err


def test_cli__keys_for_dial_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from genomesh.hub.signing import load_or_create_key, public_key_text
    from genomesh.store import init_node

    init_node(tmp_path / "node", name="au-rd", jurisdiction="AU")
    assert main(["node", "dial-out", str(tmp_path / "node"), "--show-key"]) == 0
    first = capsys.readouterr().out.strip()
    assert main(["node", "dial-out", str(tmp_path / "node"), "--show-key"]) == 0
    assert capsys.readouterr().out.strip() == first and len(first) == 43  # stable, 32 bytes
    assert main(["hub", "key", "--dir", str(tmp_path / "hub")]) == 0
    assert capsys.readouterr().out.strip() == public_key_text(load_or_create_key(tmp_path / "hub"))
    # QA F14: the hub folder option has one name everywhere, both spellings accepted
    assert main(["hub", "key", "--hub-dir", str(tmp_path / "hub")]) == 0
    assert capsys.readouterr().out.strip() == public_key_text(load_or_create_key(tmp_path / "hub"))
    assert main(["node", "dial-out", str(tmp_path / "nowhere"), "--show-key"]) == 5
    assert "no node at" in capsys.readouterr().err
    assert main(["node", "dial-out", str(tmp_path / "node")]) == 2
    assert "--hub" in capsys.readouterr().err


def test_cli__hub_keys_list_rotate_prune_against_a_running_hub(
    hub: RunningHub, capsys: pytest.CaptureFixture[str]
) -> None:
    import time

    import httpx

    from genomesh.access.keys import KeyStore

    def jwks_kids() -> list[str]:
        return [k["kid"] for k in httpx.get(f"{hub.url}/.well-known/jwks.json").json()["keys"]]

    [first] = jwks_kids()
    KeyStore.open(hub.hub_dir / "keys").sign({"sub": "x", "exp": int(time.time()) + 600})
    assert main(["hub", "keys", "list", "--dir", str(hub.hub_dir), "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["kid"] == first and row["state"] == "active" and row["published"] is True
    assert row["created"].endswith("Z")

    assert main(["hub", "keys", "rotate", "--dir", str(hub.hub_dir)]) == 0
    assert f"(was {first}" in capsys.readouterr().out
    kids = jwks_kids()  # the running hub serves the new active key, and the old one
    assert len(kids) == 2 and kids[1] == first  # whose token has not expired yet

    assert main(["hub", "keys", "prune", "--dir", str(hub.hub_dir)]) == 0
    assert "removed 0" in capsys.readouterr().out  # the old key still has a live token
    assert main(["hub", "keys", "list", "--dir", str(hub.hub_dir / "nowhere")]) == 5


def test_cli__node_text_with_rich_markup_is_printed_literally(
    hub: RunningHub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node's dataset name `[/x]` crashed `catalogue search` (MarkupError); `:abc:` became
    an emoji. Node and user text is now printed as written."""
    from genomesh.cli import query_commands

    monkeypatch.setattr(query_commands.console, "width", 250)
    weird = {"id": "mk-ds1", "name": "cohort [/x] [red]red[/red] :abc:", "info": {}}
    with serving(standin_app("mk", datasets=[weird])) as node:
        hub.register("mk", node.url, "NL")
        with hub.client() as client:
            client.post("/catalogue/sync", headers=hub.admin()).raise_for_status()
        assert main(["catalogue", "search", "--hub", hub.url]) == 0
        out = capsys.readouterr().out
        assert "cohort [/x] [red]red[/red] :abc:" in out
        assert main(["query", "individuals", "--hub", hub.url]) == 0
        assert "mk-ds1" in capsys.readouterr().out


def test_cli__mistyped_passport_file_and_a_node_as_hub_fail_locally(
    hub: RunningHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """QA F17: the path string was sent to every node as the bearer token; a node's URL as
    --hub printed an empty table."""
    with serving(standin_app("nl", require_auth=True)) as nl:
        hub.register("nl", nl.url, "NL")
        missing = str(tmp_path / "nonexistent.jwt")
        code = main(["query", "individuals", "--hub", hub.url, "--passport", missing])
        assert code == 2
        assert f"no such file {missing}" in capsys.readouterr().err
        assert main(["query", "individuals", "--hub", nl.url, "--passport", "a.b.c"]) == 2
        assert "is not a genomesh hub" in capsys.readouterr().err


def test_cli__query_title_with_rich_markup_is_printed_literally(
    hub: RunningHub, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving(standin_app("nl")) as nl:
        hub.register("nl", nl.url, "NL")
        assert main(["query", "gene", "[/x]:abc:", "--hub", hub.url]) == 0
        assert "gene [/x]:abc:" in capsys.readouterr().out


def test_passport_header__a_long_token_is_a_token_not_a_crash() -> None:
    """A real DAC passport (2-3 kB, several visas) made `Path(token).is_file()` raise
    "File name too long", so `--passport <token>` crashed the CLI."""
    from genomesh.cli.query_commands import passport_header

    token = "e" * 900 + "." + "p" * 1500 + "." + "s" * 86
    assert passport_header(token) == {"authorization": f"Bearer {token}"}


def test_cli__each_node_gets_its_own_passport_not_the_researchers(
    hub: RunningHub, capsys: pytest.CaptureFixture[str]
) -> None:
    """QA F23: `genomesh query` used to warn that every node receives the passport and could
    replay it. Now the hub sends each node a passport for that node alone: no warning, and
    no node sees the researcher's token."""
    from genomesh.testing.passports import decode_part

    token = hub.passport(datasets=["http://127.0.0.1:9/datasets/nl-ds1"])
    nl_app, au_app = standin_app("nl"), standin_app("au")
    with serving(nl_app) as nl, serving(au_app) as au:
        hub.register("nl", nl.url)
        hub.register("au", au.url)
        assert main(["query", "individuals", "--hub", hub.url, "--passport", token]) == 0
        assert "warning" not in capsys.readouterr().err
    sent = {url: app.state.authorizations[-1] for url, app in ((nl.url, nl_app), (au.url, au_app))}
    for url, header in sent.items():
        assert token not in header
        assert decode_part(header.split(".")[1])["aud"] == url
    assert len(set(sent.values())) == 2
