"""The node's analysis runner: through the gate, on allowed individuals only, numbers equal to
a straight pandas/NumPy computation, the same on a dask distributed cluster."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from genomesh.analysis import get_analysis
from genomesh.analysis.cohort_summary import age_band
from genomesh.analysis.localdata import StoreLocalData
from genomesh.analysis.protocol import RoundRequest
from genomesh.analysis.runner import AnalysisRunner
from genomesh.audit.state import NodeState
from genomesh.core.errors import AccessDeniedError, InvalidInputError
from genomesh.gate import Gate
from genomesh.store import open_node
from tests.visiting.conftest import AnalysisNode, pooled_dosages


@pytest.fixture
def runner(analysis_node: AnalysisNode) -> Iterator[AnalysisRunner]:
    state = NodeState.open(analysis_node.settings)
    node = open_node(analysis_node.node_dir)
    gate = Gate(settings=analysis_node.settings, node=node, state=state)
    runner = AnalysisRunner(settings=analysis_node.settings, node=node, gate=gate)
    try:
        yield runner
    finally:
        runner.close()
        state.close()


def _af_request(**params: object) -> RoundRequest:
    return RoundRequest(
        "allele-frequency", "task-1", 0, ("part0", "part1"), params or {"region": "22:1-99999999"}
    )


def test_localdata__dosages_equal_the_store_reader_for_allowed_individuals(
    analysis_node: AnalysisNode,
) -> None:
    node = open_node(analysis_node.node_dir)
    allowed = analysis_node.allowed("part0")
    data = StoreLocalData(
        node, {"part0": frozenset(allowed)}, settings=analysis_node.settings, chunk_variants=100
    )
    people = data.individuals("part0")
    assert set(people["individual_id"]) == allowed
    dosages = data.dosages("part0")
    assert dosages.chunksize[0] <= 1000 and dosages.shape[1] == len(allowed)
    _, all_people, reference = pooled_dosages(analysis_node, "part0")
    columns = [list(all_people["individual_id"]).index(i) for i in people["individual_id"]]
    (got,) = data.compute(dosages)
    np.testing.assert_array_equal(got, reference[:, columns])
    assert data.read["part0"] == allowed
    # the node's uncompressed dosage cache gives the same values (built on first use)
    cached = StoreLocalData(
        node, {"part0": frozenset(allowed)}, chunk_variants=100,
        settings=analysis_node.settings.model_copy(update={"analysis_dosage_cache": True}),
    )  # fmt: skip
    (again,) = cached.compute(cached.dosages("part0"))
    np.testing.assert_array_equal(again, reference[:, columns])
    assert list((analysis_node.node_dir / "analysis-cache" / "part0").glob("*.dosages.npy"))
    # each chunk task reads its rows of the mapped file: the graph holds no copy of the
    # dosages (dask's from_array copies an array source, which read all of it every round)
    graph = dict(cached.dosages("part0").__dask_graph__())
    assert not [v for v in graph.values() if isinstance(v, np.ndarray) and v.dtype == np.int8]


def test_allele_frequency__equals_pooled_numpy(
    runner: AnalysisRunner, analysis_node: AnalysisNode
) -> None:
    analysis = get_analysis("allele-frequency")
    outcome = runner.run(_af_request(), analysis_node.identity())
    state = analysis.configure({"region": "22:1-99999999"}, {"nl-node": ["part0", "part1"]})
    state = analysis.aggregate(state, {"nl-node": outcome.reply})
    rows = pd.DataFrame(analysis.result(state)["rows"])

    # the pooled truth: both parts' allowed individuals together, counted with NumPy
    frames, blocks = [], []
    for dataset_id in ("part0", "part1"):
        variants, people, dosages = pooled_dosages(analysis_node, dataset_id)
        keep = people["individual_id"].isin(analysis_node.allowed(dataset_id)).to_numpy()
        frames.append(people[keep])
        blocks.append(dosages[:, keep])
    people = pd.concat(frames)
    dosages = np.concatenate(blocks, axis=1)
    overall = rows[rows["group"] == "all"].set_index("variant_id")
    ac = np.where(dosages > 0, dosages, 0).sum(axis=1)
    an = 2 * (dosages >= 0).sum(axis=1)
    ids = (
        variants["chrom"]
        + "-"
        + variants["pos"].astype(str)
        + "-"
        + variants["ref"]
        + "-"
        + variants["alt"]
    )
    np.testing.assert_array_equal(overall.loc[ids, "AN"].to_numpy(), an)
    complete = overall.loc[ids, "complete"].to_numpy(dtype=bool)
    assert complete.any() and (~complete).any()  # some rare cells are suppressed, most are not
    np.testing.assert_array_equal(
        overall.loc[ids, "AC"].to_numpy()[complete].astype(int), ac[complete]
    )
    np.testing.assert_allclose(
        overall.loc[ids, "AF"].to_numpy()[complete].astype(float), (ac / an)[complete]
    )
    # a suppressed network cell is one where some dataset's count was small
    assert all(overall.loc[ids, "suppressed_in"].to_numpy()[~complete])
    # by population: the same identity on each population's columns
    european = rows[rows["group"] == "pop:European"].set_index("variant_id")
    mask = (people["ethnicity_label"] == "European").to_numpy()
    np.testing.assert_array_equal(
        european.loc[ids, "AN"].to_numpy(), 2 * (dosages[:, mask] >= 0).sum(axis=1)
    )
    # the node said what it withheld, and why
    assert any("disclosure threshold" in why for why in outcome.reply.suppressed.values())


def test_allele_frequency__small_counts_never_leave_the_node(
    runner: AnalysisRunner, analysis_node: AnalysisNode
) -> None:
    reply = runner.run(_af_request(), analysis_node.identity()).reply
    min_count = analysis_node.settings.default_policy.min_count
    for dataset_id in ("part0", "part1"):
        ac, an = reply.arrays[f"{dataset_id}.AC"], reply.arrays[f"{dataset_id}.AN"]
        shown = ac >= 0
        assert not ((ac[shown] > 0) & (ac[shown] < min_count)).any()
        ref = an[shown] - ac[shown]
        assert not ((ref > 0) & (ref < min_count)).any()


def test_cohort_summary__equals_pooled_pandas(
    runner: AnalysisRunner, analysis_node: AnalysisNode
) -> None:
    request = RoundRequest("cohort-summary", "task-2", 0, ("part0",), {"age_bands": [40, 65]})
    reply = runner.run(request, analysis_node.identity()).reply
    counts = reply.values["datasets"]["part0"]
    people = StoreLocalData(
        open_node(analysis_node.node_dir), {"part0": frozenset(analysis_node.allowed("part0"))},
        settings=analysis_node.settings,
    ).individuals("part0", genotyped=False)  # fmt: skip
    assert counts["n"] == len(analysis_node.allowed("part0"))
    truth = people["sex"].value_counts().to_dict()
    for sex, count in counts["sex"].items():
        assert count is None or count == truth[sex]
    bands = people["age"].map(lambda a: age_band(a, [40, 65])).value_counts().to_dict()
    assert sum(bands.values()) == counts["n"] and set(bands) <= {"<40", "40-64", "65+", "unknown"}
    for band, count in counts["age_band"].items():
        assert count is None or count == bands[band]
    # exact shown counts never below the threshold
    for category in ("sex", "population", "age_band", "phenotype"):
        for value in counts[category].values():
            assert value is None or value == 0 or value >= 3


def test_runner__audit_and_ledger_record_the_round(
    runner: AnalysisRunner, analysis_node: AnalysisNode
) -> None:
    outcome = runner.run(_af_request(), analysis_node.identity())
    entry = runner.gate.state.audit_entry(outcome.audit_id)
    assert entry.body["what"]["surface"] == "analysis"
    assert entry.body["what"]["operation"] == "allele-frequency.local"
    assert entry.body["what"]["parameters"]["task_id"] == "task-1"
    assert entry.body["outcome"] == "answered"
    assert {d["id"] for d in entry.body["datasets"]} == {"part0", "part1"}
    assert entry.body["n_individuals"] == len(analysis_node.allowed("part0")) + len(
        analysis_node.allowed("part1")
    )


def test_runner__registered_tier_is_refused(
    runner: AnalysisRunner, analysis_node: AnalysisNode
) -> None:
    from dataclasses import replace

    identity = replace(analysis_node.identity(), tier="registered", controlled_datasets=frozenset())
    with pytest.raises(AccessDeniedError, match="controlled tier"):
        runner.run(_af_request(), identity)


def test_runner__unknown_type_and_bad_params_are_refused(
    runner: AnalysisRunner, analysis_node: AnalysisNode
) -> None:
    with pytest.raises(InvalidInputError, match="unknown analysis type 'exec'"):
        runner.run(RoundRequest("exec", "t", 0, ("part0",), {}), analysis_node.identity())
    with pytest.raises(InvalidInputError, match="not CHROM:START-END"):
        runner.run(_af_request(region="chr22"), analysis_node.identity())


@pytest.mark.slow
def test_runner__same_numbers_on_a_distributed_cluster(
    runner: AnalysisRunner, analysis_node: AnalysisNode
) -> None:
    from distributed import LocalCluster

    local = runner.run(_af_request(), analysis_node.identity()).reply
    with LocalCluster(processes=False, n_workers=1, dashboard_address=None) as cluster:
        settings = analysis_node.settings.model_copy(
            update={"dask_scheduler": cluster.scheduler_address}
        )
        remote_runner = AnalysisRunner(settings=settings, node=runner.node, gate=runner.gate)
        try:
            assert type(remote_runner.scheduler).__name__ == "Client"
            remote = remote_runner.run(_af_request(), analysis_node.identity()).reply
        finally:
            remote_runner.close()
    assert set(remote.arrays) == set(local.arrays)
    for name, array in local.arrays.items():
        np.testing.assert_array_equal(remote.arrays[name], array)
    assert remote.values == local.values


def test_cli__dask_scheduler_address_is_checked(
    analysis_node: AnalysisNode, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    from genomesh.cli.main import main

    code = main(
        ["node", "serve", str(analysis_node.node_dir), "--dask-scheduler", "localhost:8786"]
    )
    assert code == 2
    assert "not an address like tcp://HOST:PORT" in capsys.readouterr().err
    assert "GENOMESH_DASK_SCHEDULER" not in os.environ


def test_hub_result__nan_becomes_null() -> None:
    from genomesh.hub.analysis.routes import finite

    assert finite({"rows": [{"p": float("nan"), "b": 1.5, "z": [float("inf")]}]}) == {
        "rows": [{"p": None, "b": 1.5, "z": [None]}]
    }


@pytest.mark.slow
def test_allele_frequency__memory_is_bounded_by_the_chunk_not_the_variants(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Every block of genotypes (calls, dosages) an allele-frequency count holds is at most
    one chunk, on a dataset several chunks long (the per-variant counts it returns are the
    answer itself: variants x groups)."""
    from dask.callbacks import Callback

    from genomesh.analysis.allele_frequency import count_alleles, groups_of
    from genomesh.core.settings import NodeSettings
    from genomesh.store import ingest_dataset, init_node
    from genomesh.testing.cohorts import shared_cohort

    cohort = shared_cohort(length=1_500_000)
    node_dir = tmp_path_factory.mktemp("long") / "node"
    init_node(node_dir, name="long", jurisdiction="NL")
    ingest_dataset(node_dir, "long", vcf=cohort.vcf, individuals=cohort.individuals)
    settings = NodeSettings.load(node_dir)
    node = open_node(node_dir)
    n_variants = node.dataset("long").info.n_variants
    data = StoreLocalData(
        node, {"long": frozenset(cohort.sample_ids)}, settings=settings, chunk_variants=1000
    )
    assert n_variants > 3000  # several chunks
    people = data.individuals("long")
    largest: list[int] = [0]

    class Largest(Callback):
        def _posttask(self, key, result, dsk, state, worker_id):  # type: ignore[no-untyped-def]
            if getattr(result, "dtype", None) == np.int8:  # genotype calls and dosages
                largest[0] = max(largest[0], int(result.nbytes))

    with Largest():
        counts = count_alleles(data, "long", np.arange(n_variants), groups_of(people))
    chunk_bytes = 1000 * len(people) * 2  # one chunk of int8 calls, ploidy 2
    assert largest[0] <= chunk_bytes < n_variants * len(people) * 2 / 3
    assert counts["AN"].shape[0] == n_variants


def test_node__malformed_hub_key_is_named_at_start(analysis_node: AnalysisNode) -> None:
    from genomesh.node.app import preflight

    with pytest.raises(InvalidInputError, match="hub_key is not an Ed25519 public key"):
        preflight(analysis_node.settings.model_copy(update={"hub_key": "not-a-key"}))


def test_dialout__rounds_are_addressed_to_the_registered_name(analysis_node: AnalysisNode) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from genomesh.node.analysis_routes import _verifier
    from genomesh.node.dialout import build_client, public_key_text

    hub_key = public_key_text(Ed25519PrivateKey.generate())
    client = build_client(
        analysis_node.node_dir, hub_url="http://127.0.0.1:9", name="nl-registered", hub_key=hub_key
    )

    class _Request:
        app = client.node_app

    assert _verifier(_Request()).name == "nl-registered"  # type: ignore[arg-type]
