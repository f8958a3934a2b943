"""Real client identity and per-participant budgets over HTTP: direct, through the hub (push
and dial-out), with spoofed proxy headers.

A 10-person node whose alleles each have three carriers, S1 among them: with N = 10 each
answer charges its carriers charge(3) = 0.040 nats, so S1 fits in two answers of the default
0.1 budget; a third answer about S1 is computed without S1 (and S6, S7 alone are then too few).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from genomesh.core.settings import DatasetPolicy, NodeSettings
from genomesh.hub.signing import load_or_create_key, public_key_text
from genomesh.node.app import create_app as create_node_app
from genomesh.node.dialout import DialoutClient, node_key, parse_public_key
from genomesh.node.dialout import public_key_text as node_public_key_text
from genomesh.node.state import NodeState
from genomesh.store import ingest_dataset, init_node
from tests.gate.conftest import PLAIN
from tests.gate.serve import serve_node
from tests.hub.conftest import RunningHub, start_hub
from tests.hub.standin import free_port, serving
from tests.hub.test_dialout import dialing_out

SAMPLES = [f"S{i}" for i in range(1, 11)]
ALLELES = {  # pos -> carriers
    100: {"S1", "S2", "S3"},
    200: {"S1", "S4", "S5"},
    300: {"S1", "S6", "S7"},
    400: {"S9"},
}


def _vcf() -> str:
    lines = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=1,length=1000000>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
        + "\t"
        + "\t".join(SAMPLES),
    ]
    for pos, carriers in ALLELES.items():
        gts = ["0/1" if s in carriers else "0/0" for s in SAMPLES]
        lines.append("\t".join(["1", str(pos), ".", "A", "G", ".", "PASS", ".", "GT", *gts]))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def node_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("caller-node")
    (root / "in.vcf").write_text(_vcf())
    consent = "individual_id\tduo\n" + "".join(f"{s}\tDUO:0000042\n" for s in SAMPLES)
    (root / "consent.tsv").write_text(consent)
    init_node(root / "node", name="caller-node", jurisdiction="GB")
    ingest_dataset(
        root / "node", "cohort", vcf=root / "in.vcf", consent=root / "consent.tsv",
        assembly="GRCh38",
    )  # fmt: skip
    return root / "node"


def _query(pos: int) -> dict[str, str]:
    return {"referenceName": "1", "start": str(pos - 1), "referenceBases": "A",
            "alternateBases": "G"}  # fmt: skip


def _answer(body: dict[str, Any]) -> dict[str, Any]:
    """The response without what differs between any two answers: the audit id and the
    echo of the question asked."""
    body = json.loads(json.dumps(body))
    body["info"].pop("auditId", None)
    body["meta"].pop("receivedRequestSummary", None)
    return body


def _keys(state: NodeState) -> list[str]:
    return [e.body["who"]["identity_key"] for e in state.audit_entries()]


def test_http__a_hidden_and_an_absent_allele_give_identical_responses(
    node_dir: Path, tmp_path: Path
) -> None:
    settings = NodeSettings.load(node_dir, state_url=f"sqlite:///{tmp_path / 'a.sqlite'}")
    with serve_node(settings) as (client, _):
        hidden = client.get("/g_variants", params=_query(400))  # S9 alone carries it
        absent = client.get("/g_variants", params=_query(500))  # nobody does
        assert hidden.status_code == absent.status_code == 200
        assert json.dumps(_answer(hidden.json()), sort_keys=True) == json.dumps(
            _answer(absent.json()), sort_keys=True
        )
        assert hidden.json()["responseSummary"]["exists"] is False
        assert "too few people" in hidden.json()["info"]["disclosure"]  # for every answer
        (dataset,) = client.get("/info").json()["response"]["info"]["datasets"]
        assert dataset["disclosure"]["exposureBudgetNats"] == 0.1  # the rules are public
    off = settings.model_copy(
        update={
            "state_url": f"sqlite:///{tmp_path / 'b.sqlite'}",
            "default_policy": DatasetPolicy(exposure_budget=None),
        }
    )
    with serve_node(off) as (client, _):  # the defence switched off: the singleton shows
        assert client.get("/g_variants", params=_query(400)).json()["responseSummary"]["exists"]


def test_http__a_spoofed_x_forwarded_for_is_ignored(node_dir: Path, tmp_path: Path) -> None:
    settings = NodeSettings.load(node_dir, state_url=f"sqlite:///{tmp_path / 's.sqlite'}")
    with serve_node(settings) as (client, app):
        for spoof in ("203.0.113.9", "whatever-string", "198.51.100.1, 10.0.0.1"):
            r = client.get("/g_variants", params=_query(100), headers={"x-forwarded-for": spoof})
            assert r.status_code == 200, r.text
        assert set(_keys(app.state.gate.state)) == {"anonymous|127.0.0.1"}
    # A proxy the operator names is believed (and only for addresses, never for garbage).
    trusting = settings.model_copy(
        update={"state_url": f"sqlite:///{tmp_path / 't.sqlite'}", "trusted_proxies": ["127.0.0.1"]}
    )
    with serve_node(trusting) as (client, app):
        for spoof in ("203.0.113.9", "whatever-string"):
            client.get("/g_variants", params=_query(100), headers={"x-forwarded-for": spoof})
        assert _keys(app.state.gate.state) == ["anonymous|203.0.113.9", "anonymous|127.0.0.1"]


@pytest.fixture
def network(node_dir: Path, tmp_path: Path) -> Iterator[tuple[RunningHub, str, NodeState]]:
    """A hub that trusts loopback as its proxy (so tests can play many callers), and the node
    pushed to over HTTP; yields the hub, the node's URL and the node's state."""
    hub = start_hub(tmp_path, trusted_proxies=["127.0.0.1"], node_timeout_seconds=10.0)
    try:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        settings = NodeSettings.load(
            node_dir, base_url=url, trusted_issuers=[hub.trusted()],
            state_url=f"sqlite:///{tmp_path / 'node.sqlite'}", dataset_policies=PLAIN,
        )  # fmt: skip
        app = create_node_app(settings)
        with serving(app, port=port):
            hub.register("caller-node", url, "GB")
            yield hub, url, app.state.gate.state
    finally:
        hub.server.stop()


def _exists(response: httpx.Response) -> bool:
    assert response.status_code == 200, response.text
    return bool(response.json()["responseSummary"]["exists"])


def test_hub__nodes_key_on_the_original_caller_and_budgets_survive_the_hop(
    network: tuple[RunningHub, str, NodeState],
) -> None:
    hub, url, state = network
    with httpx.Client(base_url=url, timeout=30) as node, hub.client() as via_hub:
        assert _exists(node.get("/g_variants", params=_query(100)))  # S1 at 0.040
        spoofed = {"x-forwarded-for": "203.0.113.50"}  # the hub's proxy says who this is
        assert _exists(via_hub.get("/g_variants", params=_query(200), headers=spoofed))
        # A new caller through the hub: S1 is spent, whoever asks and however it arrives.
        other = {"x-forwarded-for": "203.0.113.51"}
        assert not _exists(via_hub.get("/g_variants", params=_query(300), headers=other))
        # ... and the same question asked directly gets the same answer, not S1's carriers.
        assert not _exists(node.get("/g_variants", params=_query(300)))
        # Asked again, the first answers stand.
        assert _exists(via_hub.get("/g_variants", params=_query(100), headers=other))
    keys = [
        e.body["who"]["identity_key"]
        for e in state.audit_entries()
        if e.body["what"]["operation"] == "g_variants"  # (registering synced the catalogue)
    ]
    assert keys[:3] == ["anonymous|127.0.0.1", "anonymous|203.0.113.50", "anonymous|203.0.113.51"]
    spent = state.exposure.spent("cohort", ["S1", "S6"])
    assert spent["S1"] <= 0.1 and spent["S6"] == 0.0


def test_hub__a_forged_caller_assertion_is_refused(
    network: tuple[RunningHub, str, NodeState],
) -> None:
    hub, url, state = network
    real = hub.app.state.deriver.caller_for("address:203.0.113.70", url)
    head, _, sig = real.split(".")
    other = hub.app.state.deriver.caller_for("address:203.0.113.71", url).split(".")[1]
    forged = f"{head}.{other}.{sig}"  # another caller's claims under this signature
    with httpx.Client(base_url=url, timeout=30) as node:
        refused = node.get("/g_variants", params=_query(100), headers={"x-genomesh-caller": forged})
        # From an issuer the node does not trust, the header is not believed (nor refused).
        untrusted = node.get(
            "/g_variants", params=_query(100), headers={"x-genomesh-caller": "e30.e30.c2ln"}
        )
    assert refused.status_code == 401
    assert "x-genomesh-caller" in refused.text and "signature" in refused.text
    assert untrusted.status_code == 200
    assert [
        e.body["who"]["identity_key"]
        for e in state.audit_entries()
        if e.body["what"]["operation"] == "g_variants"
    ] == ["anonymous|127.0.0.1"]


def test_hub__its_own_per_caller_budget(node_dir: Path, tmp_path: Path) -> None:
    hub = start_hub(
        tmp_path, trusted_proxies=["127.0.0.1"], caller_budget=2, node_timeout_seconds=10.0
    )
    try:
        with hub.client() as c:
            one = {"x-forwarded-for": "203.0.113.7"}
            assert [c.get("/g_variants", headers=one).status_code for _ in range(3)] == [
                200, 200, 429,
            ]  # fmt: skip
            assert (
                c.get("/g_variants", headers={"x-forwarded-for": "203.0.113.8"}).status_code == 200
            )
    finally:
        hub.server.stop()


def test_dialout__the_node_keys_on_the_original_caller(node_dir: Path, tmp_path: Path) -> None:
    hub = start_hub(tmp_path, trusted_proxies=["127.0.0.1"], node_timeout_seconds=10.0)
    try:
        settings = NodeSettings.load(
            node_dir, base_url=f"{hub.url}/nodes/dial", trusted_issuers=[hub.trusted()],
            state_url=f"sqlite:///{tmp_path / 'dial.sqlite'}",
        )  # fmt: skip
        app = create_node_app(settings)
        client = DialoutClient(
            app,
            hub_url=hub.url,
            name="dial",
            key=node_key(tmp_path),
            hub_key=parse_public_key(public_key_text(load_or_create_key(hub.hub_dir))),
            poll_seconds=2.0,
        )
        hub.register("dial", "dial-out", "GB", public_key=node_public_key_text(client.key))
        with dialing_out(client), hub.client() as c:
            for caller in ("203.0.113.60", "203.0.113.61"):
                r = c.get("/g_variants", params=_query(100), headers={"x-forwarded-for": caller})
                assert r.status_code == 200, r.text
        keys = [
            e.body["who"]["identity_key"]
            for e in app.state.gate.state.audit_entries()
            if e.body["what"]["operation"] == "g_variants"
        ]
        assert keys == ["anonymous|203.0.113.60", "anonymous|203.0.113.61"]
    finally:
        hub.server.stop()


def test_hub__the_catalogue_states_each_datasets_epsilon_and_exposure_budget(
    node_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a node's /info says about its disclosure rules reaches the hub's catalogue and
    `genomesh catalogue search` (issue 13: "state ε in /info and the catalogue")."""
    from genomesh.cli.main import main

    hub = start_hub(tmp_path, node_timeout_seconds=10.0)
    try:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        settings = NodeSettings.load(
            node_dir, base_url=url, state_url=f"sqlite:///{tmp_path / 'node.sqlite'}",
            dataset_policies={"cohort": DatasetPolicy(dp_epsilon=1.5, exposure_budget=0.2)},
        )  # fmt: skip
        with serving(create_node_app(settings), port=port):
            hub.register("caller-node", url, "GB")
            with hub.client() as c:
                assert c.post("/catalogue/sync", headers=hub.admin()).json()["nodes"] == {
                    "caller-node": "ok"
                }
                entry = c.get("/catalogue/caller-node/cohort").json()
        assert entry["disclosure"] == {
            "minCount": 5,
            "hiddenBelowCarriers": 1,
            "exposureBudgetNats": 0.2,
            "exposureFreeCarriers": 10,
            "exposureLineMin": 4,
            "exposureLineMax": 8,
            "scrutinyBudgetNats": 25.0,
            "scrutinyCarriers": 50,
            "exposureCharge": "expected",
            "dpEpsilon": 1.5,
            "dpMechanism": "truncated geometric + Bayes-optimal remap (Cho et al. 2020)",
        }
        assert main(["catalogue", "search", "--hub", hub.url]) == 0
        # the table may wrap the privacy cell over two lines: read it without the borders
        out = " ".join(capsys.readouterr().out.replace("│", " ").split())
        assert "ε 1.5 per answer" in out and "exposure ≤ 0.2 nats per person" in out
        assert "rare answers need 4-8 carriers" in out
    finally:
        hub.server.stop()
