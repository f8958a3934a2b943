"""Portable exports (issue 14 part 1): one archive of Phenopackets v2, a bgzipped VCF, a README
and a manifest, from the participant API and from `genomesh node export`; checked with the
phenopackets parser, bcftools, the store itself, and a re-ingest into a new node whose Beacon
answers about the individual are the same."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from google.protobuf import json_format
from phenopackets import Phenopacket

from genomesh.cli.main import main
from genomesh.core.settings import NodeSettings
from genomesh.node.state import NodeState
from genomesh.participants.portable import read_archive, unpack
from genomesh.store import DatasetStore, ingest_dataset, init_node, open_node
from tests.beacon.helpers import open_settings, serve
from tests.gate.serve import app_gate, serve_node

SAMPLES = ["P1", "P2", "P3", "P4", "P5", "P6"]
# phased, missing, homozygous, a haploid call on X, and a multi-allelic record (split on ingest)
VCF = """##fileformat=VCFv4.2
##reference=GRCh38
##contig=<ID=1,length=248956422>
##contig=<ID=X,length=156040895>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tP1\tP2\tP3\tP4\tP5\tP6
1\t1000\trs1\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|0\t1/1\t0/0\t./.\t0/1
1\t2000\t.\tC\tT,G\t.\tPASS\t.\tGT\t0/1\t0/2\t1/2\t0/0\t0/0\t2/2
1\t3000\t.\tGA\tG\t.\tPASS\t.\tGT\t0/0\t0/0\t0|1\t0/1\t0/0\t0/0
X\t5000\t.\tT\tC\t.\tPASS\t.\tGT\t1\t0/1\t0\t1/1\t0/0\t.
"""


def _packet(pid: str, sex: str, age: str, features: list[tuple[str, str, bool]]) -> dict[str, Any]:
    return {
        "id": f"pp-{pid}",
        "subject": {
            "id": pid,
            "sex": sex,
            "timeAtLastEncounter": {"age": {"iso8601duration": age}},
        },
        "phenotypicFeatures": [
            {"type": {"id": t, "label": label}, **({"excluded": True} if ex else {})}
            for t, label, ex in features
        ],
        "diseases": [{"term": {"id": "MONDO:0005015", "label": "diabetes mellitus"}}],
        "measurements": [
            {
                "assay": {"id": "LOINC:39156-5", "label": "BMI"},
                "value": {
                    "quantity": {"unit": {"id": "UCUM:kg/m2", "label": "kg/m2"}, "value": 27.5}
                },
            }
        ],
        "medicalActions": [{"procedure": {"code": {"id": "NCIT:C15189", "label": "Biopsy"}}}],
        "metaData": {
            "created": "2024-01-01T00:00:00Z",
            "createdBy": "test",
            "phenopacketSchemaVersion": "2.0",
        },
    }


FEATURES = [("HP:0001250", "Seizure", False), ("HP:0001249", "Intellectual disability", True)]


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("portable")
    (root / "in.vcf").write_text(VCF)
    packets = root / "packets"
    packets.mkdir()
    for i, pid in enumerate(SAMPLES):
        sex = "FEMALE" if i % 2 else "MALE"
        feats = FEATURES if pid == "P3" else FEATURES[:1]
        (packets / f"{pid}.json").write_text(json.dumps(_packet(pid, sex, f"P{40 + i}Y6M", feats)))
    (root / "consent.tsv").write_text(
        "individual_id\tduo\tdiseases\n"
        + "".join(f"{p}\tDUO:0000042\t\n" for p in SAMPLES[:4])
        + "".join(f"{p}\tDUO:0000007\tMONDO:0005015\n" for p in SAMPLES[4:])
    )
    node = root / "node"
    init_node(node, name="Portable Hospital", jurisdiction="GB")
    ingest_dataset(
        node, "cohort", vcf=root / "in.vcf", individuals=packets, consent=root / "consent.tsv"
    )
    return node


@pytest.fixture(scope="module")
def served(
    original: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[httpx.Client, Any]]:
    """The original node, open to anyone at record level (answers are compared, not guarded)."""
    state = tmp_path_factory.mktemp("portable-state") / "state.sqlite"
    with serve_node(open_settings(original, state_url=f"sqlite:///{state}")) as (c, app):
        yield c, app


@pytest.fixture(scope="module")
def archive(served: tuple[httpx.Client, Any]) -> dict[str, bytes]:
    """P3's own export as a zip, fetched over HTTP with their participant token."""
    client, app = served
    token = app_gate(app).state.issue_participant_token("P3")
    r = client.get(
        "/participants/me/export",
        params={"format": "zip"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    return read_archive(r.content)


def test_export_archive__holds_standard_files_with_checked_manifest(
    archive: dict[str, bytes],
) -> None:
    assert set(archive) == {
        "README.txt", "manifest.json", "SHA256SUMS", "cohort/genotypes.vcf.gz",
        "cohort/phenopackets/P3.json", "cohort/beacon-individuals.json", "cohort/consent.json",
    }  # fmt: skip
    manifest = json.loads(archive["manifest.json"])
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == set(archive) - {"manifest.json", "SHA256SUMS"}
    for path, f in listed.items():
        assert hashlib.sha256(archive[path]).hexdigest() == f["sha256"], path
        assert f["bytes"] == len(archive[path])
    sums = dict(line.split("  ")[::-1] for line in archive["SHA256SUMS"].decode().splitlines())
    assert sums == {p: f["sha256"] for p, f in listed.items()}
    readme = archive["README.txt"].decode()
    assert "Portable Hospital" in readme and "Phenopacket" in readme and "sha256sum -c" in readme
    assert "GRCh38" in readme
    # only P3's data: nobody else's id in any text file (the VCF's samples: checked below)
    texts = [c.decode() for p, c in archive.items() if not p.endswith(".gz")]
    assert not any(f'"{other}"' in t for other in ("P1", "P2", "P4", "P5", "P6") for t in texts)


def test_export_archive__phenopacket_parses_with_the_reference_parser(
    archive: dict[str, bytes],
) -> None:
    packet = json_format.Parse(archive["cohort/phenopackets/P3.json"], Phenopacket())
    assert packet.subject.id == "P3"
    assert packet.subject.time_at_last_encounter.age.iso8601duration == "P42.5Y"
    assert [(f.type.id, f.excluded) for f in packet.phenotypic_features] == [
        ("HP:0001250", False), ("HP:0001249", True),
    ]  # fmt: skip
    assert [d.term.id for d in packet.diseases] == ["MONDO:0005015"]
    assert packet.measurements[0].value.quantity.value == 27.5
    assert packet.medical_actions[0].procedure.code.id == "NCIT:C15189"
    assert packet.meta_data.phenopacket_schema_version == "2.0"
    assert {r.namespace_prefix for r in packet.meta_data.resources} >= {"HP", "MONDO", "NCIT"}
    assert packet.files[0].file_attributes["genomeAssembly"] == "GRCh38"


def test_export_archive__vcf_passes_bcftools_and_round_trips_the_store(
    archive: dict[str, bytes], original: Path, tmp_path: Path
) -> None:
    vcf = tmp_path / "genotypes.vcf.gz"
    vcf.write_bytes(archive["cohort/genotypes.vcf.gz"])
    assert vcf.read_bytes()[:4] == b"\x1f\x8b\x08\x04"  # BGZF (gzip with the BC extra field)
    view = subprocess.run(["bcftools", "view", str(vcf)], capture_output=True, text=True)
    assert view.returncode == 0, view.stderr
    header = [line for line in view.stdout.splitlines() if line.startswith("##")]
    assert "##reference=GRCh38" in header
    assert "##contig=<ID=1,length=248956422,assembly=GRCh38>" in header
    assert "##contig=<ID=X,length=156040895,assembly=GRCh38>" in header
    # bcftools' own index of the file works (a real bgzip file, not just gzip)
    assert (
        subprocess.run(["bcftools", "index", "-t", str(vcf)], capture_output=True).returncode == 0
    )
    samples = subprocess.run(["bcftools", "query", "-l", str(vcf)], capture_output=True, text=True)
    assert samples.stdout.split() == ["P3"]
    calls = [line.split("\t")[9] for line in view.stdout.splitlines() if not line.startswith("#")]
    assert calls == ["1/1", "1/0", "0/1", "0|1", "0"]  # 1/2 split: T then G, order kept
    # ingested again, every call is exactly what the original store holds for P3
    node = tmp_path / "node"
    init_node(node, name="copy", jurisdiction="GB")
    ingest_dataset(node, "copy", vcf=vcf)
    _same_calls(open_node(original).dataset("cohort"), open_node(node).dataset("copy"), "P3")


def _same_calls(a: DatasetStore, b: DatasetStore, individual: str) -> None:
    """The individual's genotype calls (alleles and phase) equal, variant by variant."""

    def table(ds: DatasetStore) -> dict[tuple[Any, ...], tuple[Any, ...]]:
        col = ds.sample_ids.index(individual)
        gt = ds._zarr["call_genotype"][:, col, :]
        phased = ds._zarr["call_genotype_phased"][:, col]
        variants = ds.variants()
        return {
            (v["chrom"], v["pos"], v["ref"], v["alt"]): (
                tuple(gt[v["variant_index"]]),
                # a haploid call has no phase in VCF (htslib reports either)
                bool(phased[v["variant_index"]]) and gt[v["variant_index"]][1] != -2,
            )
            for v in variants
        }

    ta, tb = table(a), table(b)
    assert ta == tb
    assert len(ta) == 5 and any(g[1] for g in ta.values())  # phase kept where there was one


def test_export_archive__reingested_node_gives_the_same_beacon_answers(
    archive: dict[str, bytes], served: tuple[httpx.Client, Any], tmp_path: Path
) -> None:
    client, _ = served
    top = unpack(_zip_of(archive), tmp_path)
    node = tmp_path / "node"
    init_node(node, name="copy", jurisdiction="GB")
    ingest_dataset(
        node, "cohort", vcf=top / "cohort" / "genotypes.vcf.gz",
        individuals=top / "cohort" / "phenopackets",
    )  # fmt: skip
    queries = [
        ("/individuals/P3", {}),
        ("/individuals/P3/g_variants", {}),
        ("/individuals", {"filters": "HP:0001250"}),
        ("/individuals", {"filters": "MONDO:0005015"}),
        (
            "/g_variants",
            {"referenceName": "1", "start": "999", "alternateBases": "G", "referenceBases": "A"},
        ),
    ]
    with serve(open_settings(node)) as copy:
        for path, params in queries:
            mine = _about(
                client.get(path, params={**params, "requestedGranularity": "record"}), "P3"
            )
            theirs = _about(
                copy.get(path, params={**params, "requestedGranularity": "record"}), "P3"
            )
            assert mine == theirs, json.dumps([mine, theirs], default=str)
            assert mine, path  # each query does find P3's data


def _about(r: httpx.Response, individual: str) -> list[Any]:
    """The records of an answer that are about the individual (individuals by id; variants
    by their description, without dataset-wide counts)."""
    assert r.status_code == 200, r.text
    out = []
    for rs in r.json()["response"]["resultSets"]:
        for rec in rs.get("results") or []:
            if rec.get("id") == individual:
                out.append(rec)
            elif "variation" in rec or "variantInternalId" in rec:
                out.append({k: rec[k] for k in ("variation", "identifiers") if k in rec})
    return out


def _zip_of(files: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, content in files.items():
            z.writestr(f"genomesh-export/{name}", content)
    return buf.getvalue()


def test_export_api__bad_format_is_a_clear_400(served: tuple[httpx.Client, Any]) -> None:
    client, app = served
    token = app_gate(app).state.issue_participant_token("P1")
    r = client.get(
        "/participants/me/export",
        params={"format": "rar"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 400
    assert "unknown export format 'rar'" in r.text and "Traceback" not in r.text


def test_cli_node_export__dataset_archive_for_a_recipient(
    original: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GENOMESH_STATE_URL", f"sqlite:///{tmp_path / 'state.sqlite'}")
    if True:
        assert (
            main(["node", "withdraw", str(original), "--dataset", "cohort", "--individual", "P5"])
            == 0
        )
        out = tmp_path / "cohort.tar.gz"
        args = [
            "node",
            "export",
            str(original),
            "--dataset",
            "cohort",
            "--recipient",
            "alice",
            "--out",
            str(out),
        ]
        assert main(args) == 0, capsys.readouterr().err
        assert "5 individual(s)" in capsys.readouterr().out
        files = read_archive(out.read_bytes())
        packets = sorted(p for p in files if "/phenopackets/" in p)
        assert packets == [f"cohort/phenopackets/{p}.json" for p in ("P1", "P2", "P3", "P4", "P6")]
        vcf = tmp_path / "all.vcf.gz"
        vcf.write_bytes(files["cohort/genotypes.vcf.gz"])
        samples = subprocess.run(
            ["bcftools", "query", "-l", str(vcf)], capture_output=True, text=True
        )
        assert samples.stdout.split() == ["P1", "P2", "P3", "P4", "P6"]  # the withdrawn P5 left out
        settings = NodeSettings.load(original)
        with NodeState.open(settings) as st:
            assert {e.recipient_subject for e in st.ledger(individual_id="P1")} == {"alice"}
            assert st.ledger(individual_id="P5") == []
        # the withdrawn participant's data is not handed to a recipient
        one = tmp_path / "p5.zip"
        assert (
            main(
                [
                    "node",
                    "export",
                    str(original),
                    "--individual",
                    "P5",
                    "--recipient",
                    "bob",
                    "--out",
                    str(one),
                ]
            )
            == 6
        )
        assert "withdrew from dataset 'cohort'" in capsys.readouterr().err
        assert (
            main(
                [
                    "node",
                    "export",
                    str(original),
                    "--individual",
                    "P1",
                    "--out",
                    str(tmp_path / "x.rar"),
                ]
            )
            == 2
        )
        assert "end the name with .zip or .tar.gz" in capsys.readouterr().err


def test_genotype_strings__fast_table_agrees_with_the_per_call_version() -> None:
    from genomesh.store.vcf_export import _call, genotype_strings

    rng = np.random.default_rng(7)
    block = rng.integers(-2, 2, size=(50, 40, 2)).astype(np.int8)
    phase = rng.integers(0, 2, size=(50, 40)).astype(bool)
    fast = genotype_strings(block, phase)
    slow = [[_call(block[v, s], bool(phase[v, s])) for s in range(40)] for v in range(50)]
    assert fast.tolist() == slow
    assert genotype_strings(block[:, :, :1], phase).tolist() == [
        [_call(block[v, s, :1], bool(phase[v, s])) for s in range(40)] for v in range(50)
    ]
