"""Portable copies in standard formats: one archive of Phenopackets, a VCF, a README, a manifest.

Both a participant's own export (`GET /participants/me/export?format=zip`) and a custodian's
`genomesh node export` write the same archive (zip or tar.gz, chosen by the file name):

    genomesh-export/
      README.txt                             what each file is, in plain language
      manifest.json                          every file with its SHA-256, size and meaning
      SHA256SUMS                             the same checksums, for `sha256sum -c`
      <dataset>/phenopackets/<id>.json       GA4GH Phenopacket v2, one per individual
      <dataset>/genotypes.vcf.gz             bgzipped VCF, one sample column per individual
      <dataset>/beacon-individuals.json      Beacon v2 individual documents (ethnicity, origin)
      <dataset>/consent.json                 each individual's data-use terms (DUO)

A participant's export goes through the gate as the participant (their own records only,
audited as operation "export"); a custodian's is audited as the custodian, and when it is
handed to a named recipient the disclosure ledger lists it against every individual in it,
so a later withdrawal finds and notifies that recipient like any other.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genomesh.audit.records import Contribution
from genomesh.core.errors import ConflictError, InvalidInputError, NotFoundError
from genomesh.gate import DatasetAccess, DatasetResult, Gate, GateRequest, participant_identity
from genomesh.store.phenopacket_export import build_phenopacket, phenopacket_json
from genomesh.store.vcf_export import write_vcf

if TYPE_CHECKING:
    from genomesh.store import DatasetStore

TOP = "genomesh-export"
FORMATS = {".zip": "zip", ".tar.gz": "tar.gz", ".tgz": "tar.gz"}
MEDIA_TYPES = {"zip": "application/zip", "tar.gz": "application/gzip"}
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def archive_format(path: Path | str) -> str:
    """`zip` or `tar.gz` from the file name (InvalidInputError for anything else)."""
    name = str(path).lower()
    for suffix, fmt in FORMATS.items():
        if name.endswith(suffix):
            return fmt
    raise InvalidInputError(
        f"cannot tell the archive format from {str(path)!r}: end the name with .zip or .tar.gz",
        field="out",
    )


def _safe(name: str) -> str:
    """A file-name form of an id (anything but letters, digits, '.', '_', '-' becomes '_')."""
    return _SAFE.sub("_", name) or "_"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_dataset_files(
    dataset: DatasetStore, individual_ids: Sequence[str], folder: Path
) -> dict[str, Any]:
    """One dataset's part of an archive under `folder/<dataset>/`; returns what was written."""
    base = folder / _safe(dataset.id)
    (base / "phenopackets").mkdir(parents=True)
    with_genotypes = [i for i in individual_ids if i in dataset._individual_to_sample]
    vcf_name = "genotypes.vcf.gz"
    counts: dict[str, int] = {}
    if with_genotypes:
        counts = write_vcf(dataset, base / vcf_name, individual_ids=with_genotypes)
    con = dataset.connect()
    try:
        docs = {
            pid: json.loads(doc) if isinstance(doc, str) else doc
            for pid, doc in con.execute(
                "SELECT individual_id, document FROM individuals WHERE individual_id IN "
                "(SELECT unnest(?::VARCHAR[]))",
                [list(individual_ids)],
            ).fetchall()
        }
    finally:
        con.close()
    for pid in individual_ids:
        uri = f"../{vcf_name}" if pid in with_genotypes else None
        packet = build_phenopacket(dataset, pid, vcf_uri=uri)
        (base / "phenopackets" / f"{_safe(pid)}.json").write_text(phenopacket_json(packet))
    (base / "beacon-individuals.json").write_text(
        json.dumps([docs[p] for p in individual_ids if p in docs], indent=2, ensure_ascii=False)
    )
    consents = dataset.consents()
    (base / "consent.json").write_text(
        json.dumps(
            {
                "dataset_id": dataset.id,
                "dataset_terms": [t.model_dump(mode="json") for t in dataset.info.duo],
                "individuals": {
                    p: [t.model_dump(mode="json") for t in consents.get(p, [])]
                    for p in individual_ids
                },
            },
            indent=2,
        )
    )
    return {
        "dataset_id": dataset.id,
        "dataset_version": str(dataset.info.version),
        "assembly": dataset.info.assembly,
        "individuals": list(individual_ids),
        "genotyped": with_genotypes,
        "variants": counts.get("variants", 0),
    }


_DESCRIBE = {
    "genotypes.vcf.gz": "genotypes (bgzipped VCF, one column per person)",
    "beacon-individuals.json": "Beacon v2 individual records (includes ethnicity and origin)",
    "consent.json": "data-use (consent) terms, as DUO codes",
}


def _describe(rel: str) -> str:
    if "/phenopackets/" in rel:
        return "GA4GH Phenopacket v2 of one person"
    if rel == "README.txt":
        return "what these files are, in plain language"
    return _DESCRIBE.get(rel.rsplit("/", 1)[-1], "")


def readme(*, node_name: str, subject: str, datasets: Sequence[Mapping[str, Any]]) -> str:
    """The README: what was exported, for whom, and how to open and check each file."""
    lines = [
        f"Your data from {node_name}",
        "=" * (15 + len(node_name)),
        "",
        f"This archive is a copy of the data that {node_name} holds {subject}.",
        f"It was made on {datetime.now(UTC):%d %B %Y at %H:%M} UTC. The data stays at",
        f"{node_name}; this copy is yours to keep, read, or give to someone else.",
        "",
        "What is in it",
        "-------------",
        "Each dataset has its own folder. In each folder:",
        "",
        "* phenopackets/ - one file per person, in the GA4GH Phenopacket format (version 2),",
        "  the international standard for describing a person's health information for",
        "  genetics: sex, age, observed features (as Human Phenotype Ontology terms),",
        "  diagnoses, measurements and treatments. Any program that reads Phenopackets,",
        "  or a text editor, can open them.",
        "* genotypes.vcf.gz - the genetic variants the node holds, in VCF, the standard",
        "  format for genetic variants. It is compressed with bgzip; open it with",
        "  `bcftools view genotypes.vcf.gz` or any genomics software. In the genotype",
        "  column, 0/0 means you carry the reference (usual) letter twice, 0/1 one copy of",
        "  the variant, 1/1 two copies, and . means it was not measured. The file's header",
        "  names the reference genome build (##reference) it is described against.",
        "* beacon-individuals.json - the same people as the node's search service describes",
        "  them (GA4GH Beacon v2). It also holds ethnicity and geographic origin, for",
        "  which the Phenopacket format has no place.",
        "* consent.json - what each person agreed their data may be used for, as",
        "  Data Use Ontology (DUO) codes, e.g. DUO:0000042 is general research use.",
        "",
        "Datasets in this archive:",
    ]
    for d in datasets:
        lines.append(
            f"* {d['dataset_id']} (version {d['dataset_version']}, genome build "
            f"{d['assembly']}): {len(d['individuals'])} person(s), {d['variants']} variant(s)"
        )
    lines += [
        "",
        "Checking the files",
        "------------------",
        "manifest.json lists every file with its size and SHA-256 checksum, a fingerprint",
        "that changes if a single byte changes. On Linux or macOS, run",
        "`sha256sum -c SHA256SUMS` in this folder: every line should say OK.",
        "",
        "Questions",
        "---------",
        f"Ask {node_name}, the custodian of your data, if anything here is unclear or wrong.",
        "",
    ]
    return "\n".join(lines)


def package(
    staging: Path, out: Path, *, node_name: str, subject: str, datasets: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Add README and manifests to `staging` and write it as one archive at `out`."""
    fmt = archive_format(out)
    (staging / "README.txt").write_text(
        readme(node_name=node_name, subject=subject, datasets=datasets)
    )
    files = []
    for f in sorted(p for p in staging.rglob("*") if p.is_file()):
        rel = f.relative_to(staging).as_posix()
        files.append(
            {"path": rel, "sha256": _sha256(f), "bytes": f.stat().st_size, "about": _describe(rel)}
        )
    manifest = {
        "format": "genomesh-export/1",
        "created": datetime.now(UTC).isoformat(),
        "node": node_name,
        "datasets": list(datasets),
        "files": files,
    }
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    (staging / "SHA256SUMS").write_text("".join(f"{f['sha256']}  {f['path']}\n" for f in files))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    members = sorted(p for p in staging.rglob("*") if p.is_file())
    if fmt == "zip":
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for p in members:
                z.write(p, f"{TOP}/{p.relative_to(staging).as_posix()}")
    else:
        with tarfile.open(tmp, "w:gz") as t:
            for p in members:
                t.add(p, f"{TOP}/{p.relative_to(staging).as_posix()}")
    tmp.replace(out)
    return manifest


def export_archive(
    gate: Gate, individual_id: str, out: Path, *, client_address: str | None = None
) -> dict[str, Any]:
    """A participant's own data in every dataset of the node, as one archive at `out`.

    Runs through the gate as the participant (their records only; audited as "export")."""
    archive_format(out)
    node = gate.node
    with tempfile.TemporaryDirectory(prefix="genomesh-export-") as tmp:
        staging = Path(tmp)

        def execute(accesses: Sequence[DatasetAccess]) -> list[DatasetResult]:
            return [
                DatasetResult(
                    a.dataset_id,
                    count=1,
                    records=[
                        write_dataset_files(
                            node.dataset(a.dataset_id), sorted(a.allowed_individuals), staging
                        )
                    ],
                    contributors=set(a.allowed_individuals),
                )
                for a in accesses
            ]

        response = gate.run(
            GateRequest(
                identity=participant_identity(individual_id, client_address=client_address),
                surface="participants",
                operation="export",
                parameters={"individual_id": individual_id, "format": archive_format(out)},
                requested_granularity="record",
            ),
            execute,
        )
        datasets = [r.records[0] for r in response.results if r.records]
        if not datasets:
            raise NotFoundError(
                f"no dataset at this node holds data of participant {individual_id!r}",
                field="individual",
            )
        manifest = package(
            staging, out, node_name=gate.settings.name, subject="about you", datasets=datasets
        )
    return {**manifest, "audit_id": response.audit_id}


def export_file(
    gate: Gate, individual_id: str, fmt: str, folder: Path, *, client_address: str | None = None
) -> Path:
    """`export_archive` into `folder` in format `fmt` (zip | tar.gz); returns the file."""
    suffix = {"zip": ".zip", "tar.gz": ".tar.gz"}.get(fmt)
    if suffix is None:
        raise InvalidInputError(
            f"unknown export format {fmt!r}: json, zip or tar.gz", field="format"
        )
    out = folder / f"genomesh-export{suffix}"
    export_archive(gate, individual_id, out, client_address=client_address)
    return out


def custodian_export(
    gate: Gate,
    out: Path,
    *,
    dataset_id: str | None = None,
    individual_ids: Sequence[str] = (),
    recipient: str | None = None,
) -> dict[str, Any]:
    """The custodian's export: named individuals (every dataset holding them) or a dataset.

    A whole dataset leaves out participants who withdrew from it. With `recipient` (who the
    copy is for), the ledger lists the export against every individual in it, so a
    withdrawal later finds and notifies the recipient; a withdrawn participant's data is
    then refused (ConflictError). Audited as the custodian, operation "export"."""
    archive_format(out)
    if (dataset_id is None) == (not individual_ids):
        raise InvalidInputError("name either a dataset or individuals to export", field="dataset")
    node, state = gate.node, gate.state
    selection: dict[str, list[str]] = {}
    if dataset_id is not None:
        facts = gate.guard.facts(node.dataset(dataset_id))
        gone = state.withdrawn(dataset_id)
        selection[dataset_id] = sorted(set(facts.individuals) - gone)
    else:
        for ds in node.datasets():
            people = gate.guard.facts(ds).individuals
            mine = sorted(i for i in individual_ids if i in people)
            if mine:
                selection[ds.id] = mine
        unknown = sorted(set(individual_ids) - {i for v in selection.values() for i in v})
        if unknown:
            raise NotFoundError(
                f"no dataset at this node holds individual(s) {unknown[:5]}", field="individual"
            )
        if recipient is not None:
            for ds_id, chosen in selection.items():
                withdrawn = sorted(set(chosen) & state.withdrawn(ds_id))
                if withdrawn:
                    raise ConflictError(
                        f"individual(s) {withdrawn[:5]} withdrew from dataset {ds_id!r}: their "
                        "data cannot be exported to a recipient",
                        field="individual",
                    )
    with tempfile.TemporaryDirectory(prefix="genomesh-export-") as tmp:
        staging = Path(tmp)
        datasets = [
            write_dataset_files(node.dataset(d), people, staging)
            for d, people in selection.items()
            if people
        ]
        subject = (
            f"about {len(datasets[0]['individuals'])} participant(s) of dataset {dataset_id}"
            if dataset_id is not None and datasets
            else "about the named participant(s)"
        )
        manifest = package(
            staging, out, node_name=gate.settings.name, subject=subject, datasets=datasets
        )
    key = f"custodian-export|{recipient}" if recipient else "node|custodian"
    entry = state.append_audit(
        {
            "time": datetime.now(UTC).isoformat(),
            "who": {
                "identity_key": "node|custodian",
                "tier": None,
                "subject": "custodian",
                "issuer": "node",
            },
            "what": {
                "surface": "custodian",
                "operation": "export",
                "parameters": {
                    "dataset_id": dataset_id,
                    "individuals": len(individual_ids),
                    "recipient": recipient,
                    "format": archive_format(out),
                },
            },
            "datasets": [{"id": d, "n_individuals": len(p)} for d, p in selection.items()],
            "granularity": "record",
            "n_individuals": sum(len(p) for p in selection.values()),
            "refused": {},
            "outcome": "answered",
            "export": {
                "files": len(manifest["files"]),
                "manifest_sha256": _manifest_digest(manifest),
            },
        },
        disclosures=[
            Contribution(d, frozenset(p), "record", roster=f.roster, roster_key=f"{d}@{f.version}")
            for d, p in selection.items()
            for f in [gate.guard.facts(node.dataset(d))]
            if p and recipient is not None
        ],
        recipient_key=key,
        recipient_subject=recipient,
        now=time.time(),
    )
    return {**manifest, "audit_id": entry.seq}


def _manifest_digest(manifest: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()


def read_archive(data: bytes) -> dict[str, bytes]:
    """Every file of an export archive (zip or tar.gz) by its path under the top folder."""
    out: dict[str, bytes] = {}
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for name in z.namelist():
                out[name.removeprefix(f"{TOP}/")] = z.read(name)
        return out
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as t:
        for member in t.getmembers():
            fh = t.extractfile(member)
            if fh is not None:
                out[member.name.removeprefix(f"{TOP}/")] = fh.read()
    return out


def unpack(data: bytes, folder: Path) -> Path:
    """Write an export archive's files under `folder` (no paths outside it); returns the top."""
    top = folder / TOP
    for rel, content in read_archive(data).items():
        target = (top / rel).resolve()
        if not target.is_relative_to(top.resolve()):
            raise InvalidInputError(f"archive member {rel!r} points outside the archive")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return top


__all__ = [
    "archive_format",
    "custodian_export",
    "export_archive",
    "export_file",
    "package",
    "read_archive",
    "readme",
    "unpack",
    "write_dataset_files",
]
