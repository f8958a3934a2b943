"""`genomesh hub invite` + `genomesh node join`: one step, and the node then accepts the
hub's passports (issue 10: every passport was refused until trust was copied by hand)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from genomesh.cli.main import main
from genomesh.core.settings import NodeSettings
from genomesh.node.app import create_app as create_node_app
from genomesh.node.dialout import node_key, public_key_text
from genomesh.store import ingest_dataset, init_node
from tests.hub.conftest import RunningHub
from tests.hub.standin import free_port, serving
from tests.store.conftest import rec, write_vcf


def _invite(hub: RunningHub, capsys, name: str = "nl-umc") -> str:
    argv = ["hub", "invite", name, "--country", "NL", "--hub", hub.url, "--token", hub.token]
    assert main(argv) == 0
    command = capsys.readouterr().out.strip().splitlines()[-1]
    assert command.startswith("genomesh node join NODE_DIR --hub ")
    return command.split("--token ")[1].split()[0]


def test_join__the_node_trusts_the_hub_and_the_hub_knows_the_node(
    tmp_path: Path, hub: RunningHub, capsys
) -> None:
    node_dir = tmp_path / "node"
    init_node(node_dir, name="nl-umc", jurisdiction="NL")
    vcf = write_vcf(tmp_path / "v.vcf", [rec(1, 100, "A", "G", "0/1", "0/0", "0/0")])
    ingest_dataset(node_dir, "cohort", vcf=vcf)
    token = _invite(hub, capsys)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    join = ["node", "join", str(node_dir), "--hub", hub.url, "--token", token, "--url", url]
    assert main(join) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert f"joined {hub.url} as nl-umc" in " ".join(out.split())

    settings = NodeSettings.load(node_dir)
    assert settings.base_url == url and settings.hub_url == hub.url
    assert [t.iss for t in settings.trusted_issuers] == [hub.app.state.broker.issuer]
    with hub.client() as client:
        registered = client.get("/nodes/nl-umc").json()
    assert registered["public_key"] == public_key_text(node_key(node_dir))  # notices accepted
    assert registered["passport_audience"] == url

    # a researcher's passport through the hub is now accepted by the node (was: refused)
    with serving(create_node_app(settings), port=port), hub.client() as client:
        answer = client.get(
            "/individuals", params={"requestedGranularity": "count"},
            headers={"authorization": hub.bearer()},
        ).json()  # fmt: skip
        [report] = answer["info"]["network"]["nodes"]
        assert report["status"] == "ok", report["reason"]

        # a dataset ingested later reaches the catalogue with no `hub sync`: the node announces
        second = write_vcf(tmp_path / "w.vcf", [rec(1, 200, "C", "T", "0/1", "0/0", "0/0")])
        assert (
            main(["node", "ingest", str(node_dir), "--dataset", "later", "--vcf", str(second)]) == 0
        )
        assert "announced to the hub" in capsys.readouterr().out
        deadline = time.monotonic() + 30
        while True:
            found = {d["datasetId"] for d in client.get("/catalogue").json()["datasets"]}
            if "later" in found or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert "later" in found, found

    assert main(join) == 3  # the token works once
    assert "already used" in capsys.readouterr().err


def test_join__the_invitation_names_the_node(tmp_path: Path, hub: RunningHub, capsys) -> None:
    init_node(tmp_path / "node", name="someone-else", jurisdiction="NL")
    token = _invite(hub, capsys)
    code = main(["node", "join", str(tmp_path / "node"), "--hub", hub.url, "--token", token,
                 "--dial-out"])  # fmt: skip
    assert code == 2 and "the invitation is for node 'nl-umc'" in capsys.readouterr().err
    with httpx.Client(base_url=hub.url) as client:
        assert client.get("/nodes/someone-else").status_code == 404
    assert main(["node", "join", str(tmp_path / "node"), "--hub", hub.url, "--token", "nope",
                 "--dial-out"]) == 3  # fmt: skip
    assert "unknown invitation token" in capsys.readouterr().err
