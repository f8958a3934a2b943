"""The real phenopacket-store (QA F16): repeated subject ids and HPO ids newer than the
packaged HPO release are refused with every offender named, and load with the explicit
options `id_from="phenopacket"` / `allow_unknown_terms=True`.

A slice of the first 400 packets is used: it repeats subject ids ('Patient 5' ...) and packet
378 (PMID_19043417_F5P1) carries HP:5210141, which HPO 2025-11-24 does not have. Phenopackets
carry no genotypes, so the VCF is sites-only (no samples): everyone is kept without a sample.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest

from genomesh.cli.main import main
from genomesh.core.errors import IngestError, UnknownTermError
from genomesh.ontology.hpo import get_hpo
from genomesh.store import NodeStore, ingest_dataset

N = 400
NEW_TERM = "HP:5210141"
PACKET = "PMID_19043417_F5P1"
SITES_ONLY = (
    "##fileformat=VCFv4.2\n##reference=GRCh38\n##contig=<ID=1,length=248956422>\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n1\t100\t.\tA\tG\t.\tPASS\t.\n"
)


@pytest.fixture(scope="module")
def pp_slice(reference: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = reference / "phenopacket-store" / "all_phenopackets.jsonl.gz"
    out = tmp_path_factory.mktemp("pp") / "slice.jsonl"
    with gzip.open(source, "rt", encoding="utf-8") as fh:
        lines = [next(fh) for _ in range(N)]
    out.write_text("".join(lines))
    return out


@pytest.fixture()
def sites(tmp_path: Path) -> Path:
    path = tmp_path / "sites.vcf"
    path.write_text(SITES_ONLY)
    return path


def _tree(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def test_ingest_phenopacket_store__repeated_subject_ids_listed(
    node: NodeStore, pp_slice: Path, sites: Path
):
    before = _tree(node.path)
    with pytest.raises(IngestError) as info:
        ingest_dataset(node.path, "pp", vcf=sites, individuals=pp_slice)
    exc = info.value
    assert exc.field == "id" and exc.file is not None and exc.file.endswith("slice.jsonl")
    assert exc.line == 155  # the first repeat: 'Patient 5' on line 155 (packet [154])
    assert "'Patient 5'" in exc.message and "--id-from phenopacket" in exc.message
    repeated = exc.details["repeated_ids"]
    assert len(repeated) > 1 and all(n > 1 for n in repeated.values())
    assert _tree(node.path) == before


def test_ingest_phenopacket_store__unknown_hpo_terms_named_with_release(
    node: NodeStore, pp_slice: Path, sites: Path
):
    before = _tree(node.path)
    with pytest.raises(UnknownTermError) as info:
        ingest_dataset(node.path, "pp", vcf=sites, individuals=pp_slice, id_from="phenopacket")
    exc = info.value
    assert exc.field == "phenotypicFeatures" and exc.line == 379  # packet [378]
    assert NEW_TERM in exc.message and PACKET in exc.message
    assert get_hpo().version in exc.message and "--allow-unknown-terms" in exc.message
    assert NEW_TERM in exc.details["unknown_terms"]
    assert _tree(node.path) == before


def test_ingest_phenopacket_store__loads_with_explicit_options(
    node: NodeStore, pp_slice: Path, sites: Path
):
    packets = [json.loads(line) for line in pp_slice.read_text().splitlines()]
    summary = ingest_dataset(
        node.path, "pp", vcf=sites, individuals=pp_slice,
        id_from="phenopacket", allow_unknown_terms=True,
    )  # fmt: skip
    assert summary.n_individuals == N and summary.n_samples == 0
    assert NEW_TERM in summary.info.unknown_terms
    assert summary.info.hpo_version == get_hpo().version
    con = node.dataset("pp").connect()
    ids = {r[0] for r in con.execute("SELECT individual_id FROM individuals").fetchall()}
    assert ids == {p["id"] for p in packets}
    # features and diseases landed as in the packets (observed and excluded kept apart)
    want_features = sum(len(p.get("phenotypicFeatures", [])) for p in packets)
    assert con.execute("SELECT count(*) FROM features").fetchone()[0] == want_features
    one = next(p for p in packets if p["id"] == PACKET)
    got = con.execute(
        "SELECT term_id, excluded FROM features WHERE individual_id = ? ORDER BY term_id",
        [PACKET],
    ).fetchall()
    assert got == sorted(
        (f["type"]["id"], bool(f.get("excluded", False))) for f in one["phenotypicFeatures"]
    )
    disease = one["diseases"][0]["term"]["id"]
    assert (
        con.execute(
            "SELECT count(*) FROM diseases WHERE individual_id = ? AND term_id = ?",
            [PACKET, disease],
        ).fetchone()[0]
        == 1
    )
    assert con.execute("SELECT count(DISTINCT individual_id) FROM diseases").fetchone()[0] > N // 2
    # the unknown term is flagged in the document; the original subject id is kept in info
    doc = json.loads(
        con.execute(
            "SELECT document FROM individuals WHERE individual_id = ?", [PACKET]
        ).fetchone()[0]
    )
    flagged = [f for f in doc["phenotypicFeatures"] if f["featureType"]["id"] == NEW_TERM]
    assert flagged and "packaged HPO release" in flagged[0]["notes"]
    known = [f for f in doc["phenotypicFeatures"] if f["featureType"]["id"] != NEW_TERM]
    assert known and all("notes" not in f for f in known)
    assert doc["info"] == {"phenopacketId": PACKET, "subjectId": one["subject"]["id"]}


def test_ingest_phenopacket_store__documents_match_beacon_schema(
    node: NodeStore, pp_slice: Path, sites: Path, reference: Path
):
    """The flagged `notes` and the `info` ids keep every document a valid Beacon individual."""
    import jsonschema

    ingest_dataset(
        node.path, "pp", vcf=sites, individuals=pp_slice,
        id_from="phenopacket", allow_unknown_terms=True,
    )  # fmt: skip
    path = reference / "beacon-v2" / "deref_schemas" / "individuals" / "defaultSchema.json"
    schema = json.loads(path.read_text())
    value = schema["properties"]["measures"]["items"]["properties"]["measurementValue"]
    value["oneOf"][1].setdefault("required", ["typedQuantities"])  # see test_real_data
    validator = jsonschema.Draft202012Validator(schema)
    con = node.dataset("pp").connect()
    docs = [json.loads(d) for (d,) in con.execute("SELECT document FROM individuals").fetchall()]
    assert len(docs) == N
    for doc in docs:
        validator.validate(doc)


def test_cli_ingest_phenopacket_store__options_and_warning(
    node: NodeStore, pp_slice: Path, sites: Path, capsys: pytest.CaptureFixture[str]
):
    argv = ["node", "ingest", str(node.path), "--dataset", "pp", "--vcf", str(sites),
            "--individuals", str(pp_slice)]  # fmt: skip
    assert main(argv) == 2
    assert "--id-from phenopacket" in capsys.readouterr().err
    assert main([*argv, "--id-from", "phenopacket", "--allow-unknown-terms"]) == 0
    out = capsys.readouterr().out
    assert "warning" in out and NEW_TERM in out and get_hpo().version in out
    assert node.dataset("pp").info.n_individuals == N


def test_ingest__id_from_phenopacket_refused_for_tsv(node: NodeStore, sites: Path, tmp_path: Path):
    people = tmp_path / "people.tsv"
    people.write_text("individual_id\tsex\nP1\tfemale\n")
    with pytest.raises(IngestError, match="phenopackets only"):
        ingest_dataset(node.path, "x", vcf=sites, individuals=people, id_from="phenopacket")
    assert node.dataset_ids() == []
