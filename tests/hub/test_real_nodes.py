"""The hub over real genomesh nodes (store + gate + Beacon): push and dial-out, real HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from genomesh.access.passports import unverified_parts
from genomesh.beacon.schemas import validate_response
from genomesh.core.purpose import ResearchPurpose
from genomesh.core.settings import NodeSettings
from genomesh.hub.signing import load_or_create_key, public_key_text
from genomesh.node.app import create_app as create_node_app
from genomesh.node.dialout import DialoutClient, node_key, parse_public_key
from genomesh.node.dialout import public_key_text as node_public_key_text
from genomesh.node.state import NodeState
from genomesh.store import ingest_dataset, init_node, open_node
from genomesh.testing.cohorts import requires_msprime, shared_cohort
from tests.hub.conftest import RunningHub, start_hub
from tests.hub.standin import free_port, serving
from tests.hub.test_dialout import dialing_out

pytestmark = [requires_msprime(), pytest.mark.slow]


@pytest.fixture(scope="module")
def node_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    cohort = shared_cohort()
    root = tmp_path_factory.mktemp("nodes")
    dirs = {}
    for name, country in (("nl-umc", "NL"), ("au-rd", "AU")):
        init_node(root / name, name=name, jurisdiction=country)
        ingest_dataset(
            root / name, f"{name}-cohort", vcf=cohort.vcf, individuals=cohort.individuals,
            consent=cohort.consent, description=f"simulated cohort at {name}",
        )  # fmt: skip
        dirs[name] = root / name
    return dirs


def _settings(node_dir: Path, hub: RunningHub, base_url: str) -> NodeSettings:
    """The node trusts the hub as passport issuer and expects its own audience, its base URL."""
    return NodeSettings.load(node_dir, base_url=base_url, trusted_issuers=[hub.trusted()])


@pytest.fixture
def network(
    tmp_path: Path, node_dirs: dict[str, Path]
) -> Iterator[tuple[RunningHub, DialoutClient]]:
    hub = start_hub(tmp_path, node_timeout_seconds=10.0)
    try:
        nl_port = free_port()
        nl_url = f"http://127.0.0.1:{nl_port}"
        nl_app = create_node_app(_settings(node_dirs["nl-umc"], hub, nl_url))
        with serving(nl_app, port=nl_port) as nl:
            hub.register("nl-umc", nl.url, "NL")
            client = DialoutClient(
                # a dial-out node's datasets (and audience) are named under the hub's path for it
                create_node_app(_settings(node_dirs["au-rd"], hub, f"{hub.url}/nodes/au-rd")),
                hub_url=hub.url,
                name="au-rd",
                key=node_key(node_dirs["au-rd"]),
                hub_key=parse_public_key(public_key_text(load_or_create_key(hub.hub_dir))),
                poll_seconds=2.0,
            )
            hub.register("au-rd", "dial-out", "AU", public_key=node_public_key_text(client.key))
            with dialing_out(client):
                yield hub, client
    finally:
        hub.server.stop()


NODE_OF = {"nl-umc-cohort": "nl-umc", "au-rd-cohort": "au-rd"}


def _bearer(hub: RunningHub, *datasets: str, purpose: ResearchPurpose | None = None) -> str:
    """A hub passport granting `datasets` (named by URL under their node, as the DAC does)."""
    with hub.client() as http:
        urls = [
            f"{http.get(f'/nodes/{NODE_OF[d]}').json()['passport_audience']}/datasets/{d}"
            for d in datasets
        ]
    return hub.bearer(datasets=urls, purpose=purpose)


def _a_variant(node_dir: Path, dataset: str) -> dict[str, Any]:
    con = open_node(node_dir).dataset(dataset).connect()
    chrom, start, ref, alt = con.sql(
        "SELECT chrom, start, ref, alt FROM variants WHERE ac >= 10 ORDER BY ac DESC LIMIT 1"
    ).fetchall()[0]
    return {
        "referenceName": chrom,
        "start": str(start),
        "referenceBases": ref,
        "alternateBases": alt,
    }


def _reports(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["node"]: n for n in body["info"]["network"]["nodes"]}


def test_real_nodes__push_and_dial_out_answer_alike(
    network: tuple[RunningHub, DialoutClient], node_dirs: dict[str, Path]
) -> None:
    hub, _client = network
    params = _a_variant(node_dirs["nl-umc"], "nl-umc-cohort")
    with hub.client() as http:
        anonymous = http.get("/g_variants", params=params).json()
        forged = http.get(
            "/g_variants", params=params, headers={"authorization": "Bearer not.a.passport"}
        )
        registered = http.get(
            "/g_variants",
            params={**params, "requestedGranularity": "count"},
            headers={"authorization": hub.bearer()},
        ).json()

    reports = _reports(anonymous)
    assert {n: r["status"] for n, r in reports.items()} == {"nl-umc": "ok", "au-rd": "ok"}
    assert anonymous["responseSummary"]["exists"] is True
    same = ("status", "returnedGranularity", "exists", "datasets")
    strip = [{k: v for k, v in reports[n].items() if k in same} for n in ("nl-umc", "au-rd")]
    for s in strip:  # same data on both nodes: the answers differ only in dataset names
        for d in s["datasets"]:
            d.pop("id")
    assert strip[0] == strip[1]
    validate_response("boolean", anonymous)

    # a passport the hub cannot verify goes to no node: the hub refuses it itself (QA F23)
    assert forged.status_code == 401
    assert "invalid passport" in forged.json()["error"]["errorMessage"]
    validate_response("error", forged.json())

    assert {r["status"] for r in _reports(registered).values()} == {"ok"}
    kind = {"boolean": "boolean", "count": "count", "record": "resultsets"}
    validate_response(kind[registered["meta"]["returnedGranularity"]], registered)


def test_real_nodes__catalogue_sync_sees_a_newly_ingested_dataset(
    network: tuple[RunningHub, DialoutClient], node_dirs: dict[str, Path]
) -> None:
    hub, _client = network
    with hub.client() as http:
        first = http.post("/catalogue/sync", headers=hub.admin()).json()["nodes"]
        assert first == {"nl-umc": "ok", "au-rd": "ok"}
        before = {d["datasetId"] for d in http.get("/catalogue").json()["datasets"]}
        cohort = shared_cohort()
        ingest_dataset(
            node_dirs["au-rd"], "au-rd-second", vcf=cohort.vcf, individuals=cohort.individuals,
            consent=cohort.consent,
        )  # fmt: skip
        deadline = time.monotonic() + 8  # the node re-lists its datasets every few seconds
        while True:
            assert (
                http.post("/catalogue/sync", headers=hub.admin()).json()["nodes"]["au-rd"] == "ok"
            )
            after = http.get("/catalogue", params={"country": "AU"}).json()["datasets"]
            if len(after) == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        phenotype = http.get("/catalogue", params={"phenotype": "HP:0000118"}).json()
    assert before == {"nl-umc-cohort", "au-rd-cohort"}
    assert {d["datasetId"] for d in after} == {"au-rd-cohort", "au-rd-second"}
    entry = next(d for d in after if d["datasetId"] == "au-rd-cohort")
    assert entry["assembly"] == "GRCh38" and entry["jurisdiction"] == "AU"
    assert entry["dialOut"] is True
    assert phenotype["count"] >= 2  # HPO root: every dataset with phenotypes


def test_real_nodes__visa_holder_gets_records_through_the_hub(
    network: tuple[RunningHub, DialoutClient], node_dirs: dict[str, Path]
) -> None:
    hub, _client = network
    bearer = _bearer(
        hub, "nl-umc-cohort", purpose=ResearchPurpose(category="general", country="NL")
    )
    body = {
        "meta": {"apiVersion": "v2.1.1"},
        "query": {"requestedGranularity": "record", "pagination": {"skip": 0, "limit": 3}},
    }
    with hub.client() as http:
        only_nl = http.post(
            "/individuals", params={"nodes": "nl-umc"}, json=body, headers={"authorization": bearer}
        ).json()
        both = http.post("/individuals", json=body, headers={"authorization": bearer}).json()

    assert only_nl["meta"]["returnedGranularity"] == "record", json.dumps(only_nl)[:3000]
    [result_set] = only_nl["response"]["resultSets"]
    assert result_set["id"] == "nl-umc-cohort" and result_set["info"]["node"] == "nl-umc"
    assert 0 < len(result_set["results"]) <= 3
    assert result_set["beaconId"] == _reports(only_nl)["nl-umc"]["beaconId"]
    validate_response("resultsets", only_nl)

    # the AU node gives this caller less: the summary claims only what every node gave
    reports = _reports(both)
    assert reports["nl-umc"]["returnedGranularity"] == "record"
    assert reports["au-rd"]["returnedGranularity"] != "record"
    assert both["meta"]["returnedGranularity"] == reports["au-rd"]["returnedGranularity"]
    records = {rs["info"]["node"]: len(rs["results"]) for rs in both["response"]["resultSets"]}
    assert records["nl-umc"] > 0 and records.get("au-rd", 0) == 0  # AU gave no records
    kind = {"boolean": "boolean", "count": "count", "record": "resultsets"}
    validate_response(kind[both["meta"]["returnedGranularity"]], both)

    # The node's audit log names the passport it got (derived by the hub, for it alone) and
    # the researcher's original one behind it.
    original = unverified_parts(bearer.split()[-1])[1]["jti"]
    with NodeState.open(NodeSettings.load(node_dirs["nl-umc"])) as state:
        who = [e.body["who"] for e in state.audit_entries(last=100)]
    mine = [w for w in who if w.get("orig_jti") == original]
    assert len(mine) == 2  # the two queries above
    assert all(
        w["tier"] == "controlled" and w["passport_jti"] not in (None, original) for w in mine
    )


def test_real_nodes__nodes_that_answered_no_dataset_do_not_lower_the_granularity(
    network: tuple[RunningHub, DialoutClient],
) -> None:
    """QA F6: with `datasetIds` naming one node's dataset, the other node refuses every
    dataset ("no such dataset"); the merged answer was `boolean` although it held records."""
    hub, _client = network
    bearer = _bearer(
        hub, "nl-umc-cohort", purpose=ResearchPurpose(category="general", country="NL")
    )
    params = {"requestedGranularity": "record", "datasetIds": "nl-umc-cohort", "limit": "3"}
    with hub.client() as http:
        body = http.get("/individuals", params=params, headers={"authorization": bearer}).json()

    reports = _reports(body)
    assert reports["au-rd"]["status"] == "ok"
    assert "datasets" not in reports["au-rd"] and reports["au-rd"]["refusedDatasets"]
    assert body["meta"]["returnedGranularity"] == "record", json.dumps(body)[:3000]
    assert body["responseSummary"]["numTotalResults"] == reports["nl-umc"]["numTotalResults"]
    [result_set] = body["response"]["resultSets"]
    assert result_set["info"]["node"] == "nl-umc" and result_set["info"]["granularity"] == "record"
    assert 0 < len(result_set["results"]) <= 3
    validate_response("resultsets", body)


def test_real_nodes__cli_query_one_dataset_with_records(
    network: tuple[RunningHub, DialoutClient],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`genomesh query ... --dataset ID` sends Beacon datasetIds, so an approved researcher
    gets that dataset's records; datasets answered below record show records "–", not 0."""
    from genomesh.cli import query_commands
    from genomesh.cli.main import main

    monkeypatch.setattr(query_commands.console, "width", 200)  # one table row per line
    hub, _client = network
    bearer = _bearer(
        hub, "nl-umc-cohort", purpose=ResearchPurpose(category="general", country="NL")
    )
    token = bearer.removeprefix("Bearer ")
    args = ["query", "individuals", "--granularity", "record", "--hub", hub.url,
            "--passport", token]  # fmt: skip
    assert main([*args, "--dataset", "nl-umc-cohort", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["meta"]["returnedGranularity"] == "record"
    [result_set] = body["response"]["resultSets"]
    assert result_set["id"] == "nl-umc-cohort" and result_set["results"]

    assert main([*args, "--json"]) == 0
    full = json.loads(capsys.readouterr().out)
    notes = [
        note
        for node in full["info"]["network"]["nodes"]
        for dataset in node.get("datasets", [])
        for note in dataset.get("notes") or []
    ]
    assert notes  # the nodes say why an answer was lowered or narrowed ...

    assert main(args) == 0  # both datasets: AU answers below record
    table = capsys.readouterr().out
    folded = " ".join("".join(table.split()).split("│"))
    for note in notes:  # ... and the researcher's table shows it (QA F27)
        assert "".join(note.split())[:30] in folded.replace(" ", ""), note
    au_row = next(line for line in table.splitlines() if "au-rd-cohort" in line)
    cells = [c.strip() for c in au_row.split("│")]
    assert cells[4] == "count"  # granularity
    # the records themselves are printed, for the record-level dataset only
    assert "records of nl-umc / nl-umc-cohort" in table
    assert "records of au-rd" not in table
    assert result_set["results"][0]["id"] in table


def test_real_nodes__cli_reads_at_80_columns_and_pages_records(
    network: tuple[RunningHub, DialoutClient],
    node_dirs: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 10: at 80 columns no id is cut, records are shown and paged (--limit/--skip),
    a stopped node is "not reachable at URL", and nodes that answered for none of their
    datasets (another assembly) are shown as not answering, not as a "no"."""
    from genomesh.cli import query_commands
    from genomesh.cli.main import main

    monkeypatch.setattr(query_commands.console, "width", 80)
    hub, _client = network
    dead = f"http://127.0.0.1:{free_port()}"
    hub.register("stopped", dead, "GB")
    token = _bearer(
        hub, "nl-umc-cohort", purpose=ResearchPurpose(category="general", country="NL")
    ).removeprefix("Bearer ")
    args = ["query", "individuals", "--granularity", "record", "--hub", hub.url,
            "--passport", token, "--node", "nl-umc", "--node", "stopped"]  # fmt: skip
    assert main([*args, "--json", "--limit", "2", "--skip", "1"]) == 0
    body = json.loads(capsys.readouterr().out)
    [result_set] = body["response"]["resultSets"]
    ids = [r["id"] for r in result_set["results"]]
    assert len(ids) == 2
    assert main([*args, "--limit", "2", "--skip", "1"]) == 0
    out = capsys.readouterr().out
    assert all(len(line) <= 80 for line in out.splitlines()), out
    lines = out.splitlines()
    for identifier in (*ids, "nl-umc-cohort"):
        assert any(identifier in line for line in lines), identifier  # whole, on one line
    assert f"records of nl-umc / nl-umc-cohort: 2-3 of {result_set['resultsCount']}" in out
    assert f"node not reachable at {dead}" in out and "ConnectError" not in out
    assert "1 of 2 node(s) answered" in out

    # a limit above what the nodes give per page: the hub echoes what was applied, and says so
    assert main([*args, "--json", "--limit", "100000"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["meta"]["receivedRequestSummary"]["pagination"]["limit"] == 1000
    assert body["info"]["pagination"]["reason"]["code"] == "limit_capped"

    v = _a_variant(node_dirs["nl-umc"], "nl-umc-cohort")
    position = f"{v['referenceName']}:{int(v['start']) + 1}:{v['referenceBases']}:G"
    assert main(["query", "variant", position, "--assembly", "GRCh37", "--hub", hub.url,
                 "--node", "nl-umc", "--json"]) == 0  # fmt: skip
    body = json.loads(capsys.readouterr().out)
    assert body["info"]["network"]["answered"] == 0  # a node on GRCh38 did not answer
    [report] = body["info"]["network"]["nodes"]
    assert report["reasonCode"] == "no_dataset_answered" and "GRCh37" in report["reason"]
    assert main(["query", "variant", position, "--assembly", "GRCh37", "--hub", hub.url,
                 "--node", "nl-umc"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "0 of 1 node(s) answered" in out and "no answer" in out
    assert "not answered" in out and "False" not in out

    # a gene nobody reports: said in words, not just "False"
    assert main(["query", "gene", "NOTAGENE", "--hub", hub.url, "--node", "nl-umc"]) == 0
    out = capsys.readouterr().out
    assert "no dataset reported variants in NOTAGENE: check the symbol" in " ".join(out.split())


def test_real_nodes__cli_variant_without_assembly_shows_the_assembly_used(
    network: tuple[RunningHub, DialoutClient],
    node_dirs: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """QA F29: without --assembly each dataset compares the coordinates on its own build; the
    node says so per dataset, and `genomesh query variant` must show it (and say why)."""
    from genomesh.cli import query_commands
    from genomesh.cli.main import main

    monkeypatch.setattr(query_commands.console, "width", 200)
    hub, _client = network
    v = _a_variant(node_dirs["nl-umc"], "nl-umc-cohort")
    position = (
        f"{v['referenceName']}:{int(v['start']) + 1}:{v['referenceBases']}:{v['alternateBases']}"
    )
    assert main(["query", "variant", position, "--hub", hub.url]) == 0
    out = capsys.readouterr().out
    folded = "".join(out.split())
    note = "assemblyId not given: coordinates compared on this dataset's assembly (GRCh38)"
    # each dataset says it (after why an anonymous caller gets yes/no: the reasons come first)
    assert folded.count("".join(note.split())) >= 2, out  # each dataset of both nodes
    assert folded.count("[assembly_assumed]") == folded.count("".join(note.split())), out
    assert "no --assembly given" in out

    assert main(["query", "variant", position, "--assembly", "GRCh38", "--hub", hub.url]) == 0
    out = capsys.readouterr().out
    assert "assemblyId not given" not in out and "no --assembly given" not in out


def test_real_nodes__include_resultset_responses_through_the_hub(
    network: tuple[RunningHub, DialoutClient],
) -> None:
    """QA F30 against real nodes: MISS and NONE gave a set for a dataset with hits (the hub
    rebuilt it from the node's per-dataset detail)."""
    hub, _client = network
    bearer = _bearer(
        hub, "nl-umc-cohort", "au-rd-cohort",
        purpose=ResearchPurpose(category="general", country="NL"),
    )  # fmt: skip
    sets: dict[str, list[tuple[str, bool]]] = {}
    with hub.client() as http:
        for mode in ("HIT", "MISS", "ALL", "NONE"):
            body = http.get(
                "/individuals",
                params={"requestedGranularity": "record", "limit": "2",
                        "includeResultsetResponses": mode},
                headers={"authorization": bearer},
            ).json()  # fmt: skip
            sets[mode] = sorted(
                (rs["id"], rs["exists"]) for rs in body.get("response", {}).get("resultSets", [])
            )
            assert body["responseSummary"]["exists"] is True, json.dumps(body)[:2000]
    assert sets["HIT"] and all(exists for _, exists in sets["HIT"])
    assert sets["MISS"] == [] and sets["NONE"] == []  # every dataset has hits
    assert sets["ALL"] == sets["HIT"]


def test_real_nodes__a_passport_captured_by_one_node_is_refused_at_another(
    network: tuple[RunningHub, DialoutClient],
) -> None:
    """QA F23, the replay attack: the operator of a registered node that holds none of the
    granted datasets captures the passport the hub sends it and replays it at a real node.
    The node refuses it (not its audience), while the researcher, through the hub, gets
    records from the granted node and an answer from every node."""
    from genomesh.testing.passports import decode_part
    from tests.hub.standin import standin_app

    hub, _client = network
    bearer = _bearer(
        hub, "nl-umc-cohort", purpose=ResearchPurpose(category="general", country="NL")
    )
    query = {"requestedGranularity": "record", "limit": "3"}
    spy = standin_app("spy")
    with serving(spy) as spy_server, hub.client() as http:
        hub.register("spy", spy_server.url, "NL")
        through_hub = http.get("/individuals", params=query, headers={"authorization": bearer})
        nl_url = http.get("/nodes/nl-umc").json()["base_url"]

        [captured] = spy.state.authorizations
        assert captured != bearer and decode_part(captured.split(".")[1])["aud"] == spy_server.url
        replayed = httpx.get(
            f"{nl_url}/individuals", params=query, headers={"authorization": captured}, timeout=30
        )
        # nor can the researcher's own passport (for the hub) be used at a node
        direct = httpx.get(
            f"{nl_url}/individuals", params=query, headers={"authorization": bearer}, timeout=30
        )

    assert replayed.status_code == 401, replayed.text
    message = replayed.json()["error"]["errorMessage"]
    assert "audience" in message and spy_server.url in message and nl_url in message
    assert direct.status_code == 401 and "audience" in direct.json()["error"]["errorMessage"]

    body = through_hub.json()
    reports = _reports(body)
    assert {n: r["status"] for n, r in reports.items()} == {
        "nl-umc": "ok", "au-rd": "ok", "spy": "ok",
    }  # fmt: skip
    assert reports["nl-umc"]["returnedGranularity"] == "record"
    records = {rs["info"]["node"]: len(rs["results"]) for rs in body["response"]["resultSets"]}
    assert records["nl-umc"] > 0
