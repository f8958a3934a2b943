"""Catalogue: synced from nodes over HTTP, re-synced after a node gains a dataset, searchable."""

from __future__ import annotations

from tests.hub.conftest import RunningHub
from tests.hub.standin import serving, standin_app

EPILEPSY = {
    "id": "au-epilepsy",
    "name": "Epileptic encephalopathy programme",
    "description": "children referred for genomic testing",
    "dataUseConditions": {
        "duoDataUse": [
            {
                "id": "DUO:0000007",
                "label": "disease specific research",
                "modifiers": [{"id": "OMIM:612164"}],
            }
        ]
    },
    "info": {
        "assembly": "GRCh38",
        "counts": {"individuals": 400},
        "citation": "Cite the AU programme",
    },
}


def _sync(hub: RunningHub) -> dict:
    with hub.client() as client:
        response = client.post("/catalogue/sync", headers=hub.admin())
    assert response.status_code == 200, response.text
    return response.json()["nodes"]


def test_catalogue__sync_picks_up_a_dataset_ingested_later(hub: RunningHub) -> None:
    app = standin_app("au")
    with serving(app) as node, serving(standin_app("nl")) as nl:
        hub.register("au", node.url, "AU", contact="dac@au.example")
        hub.register("nl", nl.url, "NL")
        assert _sync(hub) == {"au": "ok", "nl": "ok"}
        with hub.client() as client:
            before = client.get("/catalogue", params={"country": "AU"}).json()
        assert [d["datasetId"] for d in before["datasets"]] == ["au-ds1"]

        app.state.datasets = [*app.state.datasets, EPILEPSY]  # the node ingests a new dataset
        assert _sync(hub)["au"] == "ok"
        with hub.client() as client:
            after = client.get("/catalogue", params={"country": "au"}).json()
            by_duo = client.get("/catalogue", params={"duo": "DUO:0000007"}).json()
            by_text = client.get("/catalogue", params={"q": "encephalopathy"}).json()
            by_phenotype = client.get("/catalogue", params={"phenotype": "HP:0001250"}).json()
            by_label = client.get("/catalogue", params={"phenotype": "seizure"}).json()
            one = client.get("/catalogue/au/au-epilepsy")
            missing = client.get("/catalogue/au/nope")
    assert [d["datasetId"] for d in after["datasets"]] == ["au-ds1", "au-epilepsy"]
    assert [d["datasetId"] for d in by_duo["datasets"]] == ["au-epilepsy"]
    assert [d["datasetId"] for d in by_text["datasets"]] == ["au-epilepsy"]
    assert by_phenotype["count"] == 3 and by_label["count"] == 3
    entry = one.json()
    assert entry["assembly"] == "GRCh38"
    assert entry["counts"] == {"individuals": 400}
    assert entry["citation"] == "Cite the AU programme"
    assert entry["jurisdiction"] == "AU" and entry["contact"] == "dac@au.example"
    assert entry["beaconId"] == "org.example.au"
    assert entry["duo"][0]["modifiers"] == [{"id": "OMIM:612164"}]
    assert "/dac/" in entry["access"]["url"]
    assert missing.status_code == 404


def test_catalogue__unreachable_node_keeps_its_last_entries_and_records_the_error(
    hub: RunningHub,
) -> None:
    with serving(standin_app("gb")) as node:
        hub.register("gb", node.url, "GB")
        assert _sync(hub) == {"gb": "ok"}
    result = _sync(hub)  # node is gone now
    assert "gb /info" in result["gb"]
    with hub.client() as client:
        catalogue = client.get("/catalogue").json()
        [listed] = client.get("/nodes").json()
    assert [d["datasetId"] for d in catalogue["datasets"]] == ["gb-ds1"]
    assert listed["last_sync_error"] == result["gb"]


def test_registry__changes_need_the_admin_token(hub: RunningHub) -> None:
    body = {"name": "x", "base_url": "http://127.0.0.1:9", "country": "NL"}
    with hub.client() as client:
        anonymous = client.post("/nodes", json=body)
        wrong = client.post("/nodes", json=body, headers={"authorization": "Bearer nope"})
        created = client.post("/nodes", json=body, headers=hub.admin())
        duplicate = client.post("/nodes", json=body, headers=hub.admin())
        bad = client.post(
            "/nodes",
            json={"name": "y", "base_url": "dial-out", "country": "NL"},
            headers=hub.admin(),
        )
        delete_anon = client.delete("/nodes/x")
        deleted = client.delete("/nodes/x", headers=hub.admin())
        listed = client.get("/nodes").json()
        sync_anon = client.post("/catalogue/sync")
    assert anonymous.status_code == 401
    assert wrong.status_code == 403
    assert created.status_code == 201
    assert duplicate.status_code == 409 and "already registered" in duplicate.text
    assert bad.status_code == 400 and "public_key" in bad.text
    assert delete_anon.status_code == 401
    assert deleted.status_code == 204 and listed == []
    assert sync_anon.status_code == 401


def test_catalogue__failed_sync_is_retried_soon_not_after_the_full_period(
    tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """QA F2: a node that was down at its first sync waited `catalogue_sync_seconds` (300 s)."""
    import time

    from genomesh.hub import app as hub_app
    from tests.hub.conftest import start_hub
    from tests.hub.standin import ThreadServer, free_port

    monkeypatch.setattr(hub_app, "CATALOGUE_RETRY_SECONDS", 0.3)
    hub = start_hub(tmp_path, catalogue_sync_seconds=300)
    port = free_port()
    node: ThreadServer | None = None
    try:
        hub.register("late", f"http://127.0.0.1:{port}", "NL")  # nothing listens yet
        with hub.client() as client:
            deadline = time.monotonic() + 10
            while not client.get("/nodes/late").json()["last_sync_error"]:
                assert time.monotonic() < deadline, "the first sync never failed"
                time.sleep(0.1)
            node = ThreadServer(standin_app("late"), port=port).start()
            deadline = time.monotonic() + 10
            while client.get("/catalogue").json()["count"] == 0:
                assert time.monotonic() < deadline, "the failed node was not re-synced"
                time.sleep(0.2)
            assert client.get("/nodes/late").json()["last_sync_error"] is None
    finally:
        if node is not None:
            node.stop()
        hub.server.stop()


def test_catalogue__cli_shows_whole_citations_and_explains_an_empty_search(
    hub: RunningHub, capsys, monkeypatch
) -> None:
    """Issue 10: the citation users must give was cut at 160 characters, ids wrapped
    mid-word at 80 columns, and `--country Britain` said "0 datasets" without a word."""
    from genomesh.cli.main import main

    citation = "Cite: " + " ".join(f"word{i}" for i in range(60)) + " END-OF-CITATION"
    long_id = "CINECA_synthetic_cohort_EUROPE_UK1"
    app = standin_app("gb")
    app.state.datasets = [
        {**EPILEPSY, "id": long_id, "info": {**EPILEPSY["info"], "citation": citation}}
    ]
    from genomesh.cli import query_commands

    monkeypatch.setattr(query_commands.console, "width", 80)  # the hub commands' console
    with serving(app) as node:
        hub.register("gb", node.url, "GB")
        assert _sync(hub) == {"gb": "ok"}
    assert main(["catalogue", "search", "--hub", hub.url]) == 0
    out = capsys.readouterr().out
    assert all(len(line) <= 80 for line in out.splitlines()), out
    assert any(long_id in line for line in out.splitlines())
    assert "".join(citation.split()) in "".join(out.split())

    assert main(["catalogue", "search", "--country", "Britain", "--hub", hub.url]) == 2
    assert "did you mean GB?" in capsys.readouterr().err
    assert main(["catalogue", "search", "--country", "uk", "--hub", hub.url]) == 0
    out = capsys.readouterr().out
    assert "taken as GB" in out and long_id in out
    assert main(["catalogue", "search", "--country", "NL", "--hub", hub.url]) == 0
    assert "no dataset in the catalogue matches all of: country NL" in capsys.readouterr().out


def test_catalogue__disclosure_rules_keep_only_known_keys_of_the_right_type() -> None:
    """A node's /info is untrusted: only the known rules, as numbers or null, are kept."""
    from genomesh.hub.catalogue import disclosure_of, disclosure_text

    stated = {
        "minCount": 5,
        "hiddenBelowCarriers": 3,
        "exposureBudgetNats": None,  # "off"
        "exposureFreeCarriers": True,  # not a number
        "dpEpsilon": "1.0",  # text, not a number
        "dpMechanism": "m" * 500,
        "script": "<script>",
    }
    kept = disclosure_of({"id": "d", "disclosure": stated})
    assert kept == {
        "minCount": 5,
        "hiddenBelowCarriers": 3,
        "exposureBudgetNats": None,
        "exposureLineMin": None,
        "exposureLineMax": None,
        "scrutinyBudgetNats": None,
        "scrutinyCarriers": None,
        "exposureCharge": None,
        "dpMechanism": "m" * 200,
    }
    assert disclosure_of({"id": "d"}) is None
    assert disclosure_of({"id": "d", "disclosure": ["x"]}) is None
    assert disclosure_text(kept) == (
        "exact answers (no DP); no per-person exposure budget; alleles of < 3 carriers hidden"
    )
    assert disclosure_text(None) == "not stated"
    assert disclosure_text({"dpEpsilon": 0.5, "exposureBudgetNats": 0.1}) == (
        "ε 0.5 per answer; exposure ≤ 0.1 nats per person"
    )
    drawn = {"exposureBudgetNats": 0.1, "exposureLineMin": 4, "exposureLineMax": 8}
    assert disclosure_text(drawn) == (
        "exact answers (no DP); exposure ≤ 0.1 nats per person; "
        "rare answers need 4-8 carriers (drawn per answer)"
    )
    assert disclosure_text({**drawn, "scrutinyBudgetNats": 25}).endswith(
        "; questions about one person ≤ 25 nats"
    )


def test_catalogue__cohort_role_keeps_only_the_known_roles() -> None:
    """A node's `cohortRole` is untrusted: only population/control/cases are kept."""
    from genomesh.hub.catalogue import cohort_role_of, population_datasets

    assert cohort_role_of({"id": "d", "cohortRole": "control"}) == "control"
    for sent in ("admin", ["population"], 1, None):
        assert cohort_role_of({"id": "d", "cohortRole": sent}) is None
    assert cohort_role_of({"id": "d"}) is None
    entries = [
        {"node": "a", "datasetId": "pop", "cohortRole": "population"},
        {"node": "a", "datasetId": "ctl", "cohortRole": "control"},
        {"node": "b", "datasetId": "pop", "cohortRole": "cases"},
    ]
    nodes = {"a": ["pop", "ctl"], "b": ["pop"]}
    assert population_datasets(entries, nodes) == ["a/ctl", "a/pop"]
    assert population_datasets(entries, {"b": ["pop"]}) == []
