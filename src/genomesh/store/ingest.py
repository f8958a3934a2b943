"""Ingest a VCF (+ individuals + consent) into a node as a new, atomically switched version.

Everything is written into `datasets/<id>/versions/.staging-<version>/`; only when every file
is complete is that folder renamed to `versions/<version>` and `CURRENT` replaced with
`os.replace` (atomic on POSIX). A crash or `kill -9` at any moment therefore leaves the
previous version and CURRENT untouched; stale staging folders are removed by the next ingest.
Inputs are fully validated (individuals, consent, DUO/HPO codes, sample matching) before the
VCF is streamed, and the VCF itself is validated record by record while streaming.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from genomesh.core.consent import DataUseTerm
from genomesh.core.errors import ConflictError, IngestError, InvalidInputError
from genomesh.core.genome import normalize_assembly
from genomesh.store.consent import ConsentFile, read_consent, validate_consent, validate_terms
from genomesh.store.individuals import IdFrom, Individual, read_individuals
from genomesh.store.model import DatasetInfo, IngestSummary, SourceFile
from genomesh.store.node import NodeStore, check_dataset_id, open_node
from genomesh.store.people_checks import validate_individuals
from genomesh.store.pipeline import Progress, write_version
from genomesh.store.vcf_reader import VcfReader
from genomesh.store.writers import ZARR_FORMAT

KEEP_VERSIONS = 2  # the live one and the one before (readers may still hold it open)


def cineca_attribution() -> str:
    """The CC-BY preamble that must travel with the CINECA UK1 synthetic cohort."""
    return (
        resources.files("genomesh.store")
        .joinpath("data/cineca_uk1_attribution.txt")
        .read_text()
        .strip()
    )


def detect_attribution(*paths: Path | str | None) -> str | None:
    """The CINECA preamble when an input sits next to a CINECA BFF `datasets.json`.

    Only ever a suggestion (the CLI names `--attribution cineca-uk1`): a dataset's credits
    are what its custodian states, never inferred from what a neighbouring file contains
    (real 1000 Genomes genotypes ingested with CINECA's individuals file got CINECA's
    "synthetic ... FAKE" notice)."""
    for p in paths:
        if p is None:
            continue
        folder = Path(p) if Path(p).is_dir() else Path(p).parent
        for candidate in (folder / "datasets.json", folder.parent / "bff" / "datasets.json"):
            try:
                if "CINECA" in candidate.read_text(encoding="utf-8", errors="replace"):
                    return cineca_attribution()
            except OSError:
                continue
    return None


def _software_version() -> str:
    try:
        return version("genomesh")
    except PackageNotFoundError:  # running from a source tree without install
        return "0.0.0"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    if path.is_dir():
        for f in sorted(path.rglob("*")):
            if f.is_file():
                h.update(f.relative_to(path).as_posix().encode())
                h.update(f.read_bytes())
        return h.hexdigest()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextmanager
def _dataset_lock(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConflictError(f"another ingest into {folder.name!r} is running") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _new_version() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)


def _hpo_version(people: list[Individual] | None) -> str | None:
    """The packaged HPO release, recorded when any individual has an HPO feature."""
    if not people or not any(f[0].startswith("HP:") for p in people for f in p.features):
        return None
    from genomesh.ontology.hpo import get_hpo

    return get_hpo().version


def _resolve_assembly(assembly: str | None, reader: VcfReader) -> str:
    if assembly:
        found = normalize_assembly(assembly)
        if found is None:
            raise InvalidInputError(
                f"unknown assembly {assembly!r} (GRCh37 or GRCh38)", field="assembly"
            )
        return found
    if reader.assembly is None:
        raise IngestError(
            "cannot tell the assembly from the header (no ##reference, contig assembly= or "
            "RefSeq contig names); pass --assembly GRCh37 or GRCh38",
            file=str(reader.path), field="##reference",
        )  # fmt: skip
    return reader.assembly


def _match_samples(
    reader: VcfReader,
    people: list[Individual] | None,
    *,
    allow_unmatched: bool,
    individuals_path: Path | None,
) -> list[Individual]:
    """The dataset's individuals: the given ones plus a bare record per unmatched VCF sample."""
    if people is None:
        return [Individual(id=s, source="vcf") for s in reader.samples]
    known = {p.id for p in people}
    unmatched = [s for s in reader.samples if s not in known]
    if unmatched and not allow_unmatched:
        raise IngestError(
            f"{len(unmatched)} VCF sample(s) missing from the individuals file "
            f"{individuals_path}: {', '.join(unmatched[:5])}{' ...' if len(unmatched) > 5 else ''} "
            "(use --allow-unmatched-samples to ingest them without phenotypes)",
            file=str(reader.path), line=reader.header_line_count, field="samples",
        )  # fmt: skip
    return people + [Individual(id=s, source="vcf") for s in unmatched]


def _info_of(folder: Path) -> DatasetInfo | None:
    """A version's dataset.json, or None if it cannot be read (then nothing is said of it)."""
    try:
        return DatasetInfo.model_validate_json((folder / "dataset.json").read_text())
    except (OSError, ValueError):
        return None


def _cleanup(versions: Path, keep: str) -> None:
    """Remove stale staging folders and all but the newest KEEP_VERSIONS versions."""
    if not versions.is_dir():
        return
    entries = sorted(p for p in versions.iterdir() if p.is_dir())
    for p in entries:
        if p.name.startswith(".staging-"):
            shutil.rmtree(p, ignore_errors=True)
    live = sorted(p for p in entries if not p.name.startswith("."))
    for p in live[:-KEEP_VERSIONS]:
        if p.name != keep:
            shutil.rmtree(p, ignore_errors=True)


def ingest_dataset(
    path: Path | str,
    dataset_id: str,
    *,
    vcf: Path | str,
    individuals: Path | str | None = None,
    consent: Path | str | None = None,
    duo: list[DataUseTerm] | None = None,
    assembly: str | None = None,
    allow_unmatched_samples: bool = False,
    id_from: IdFrom = "subject",
    allow_unknown_terms: bool = False,
    name: str | None = None,
    description: str | None = None,
    attribution: str | None = None,
    progress: Progress | None = None,
    batch_records: int = 1000,
    threads: int = 1,
    replace: bool = True,
) -> IngestSummary:
    """Ingest one dataset into the node at `path`, replacing any previous version atomically.

    `id_from="phenopacket"` keys phenopackets by packet id (subject ids repeat across a
    published collection); `allow_unknown_terms` keeps HPO ids the packaged release lacks,
    flagged (see docs/store.md). With `replace=False` a dataset that is already live is a
    ConflictError (the CLI's default: replacing needs `--replace`); the summary's
    `replaced` names the version replaced. `attribution` is the custodian's statement of
    credits; none is inferred."""
    started = time.perf_counter()
    node: NodeStore = open_node(path)
    check_dataset_id(dataset_id)
    vcf_path = Path(vcf)
    ind_path = Path(individuals) if individuals is not None else None
    con_path = Path(consent) if consent is not None else None

    # 1. Everything small is parsed and validated before any file is written.
    people = read_individuals(ind_path, id_from=id_from) if ind_path is not None else None
    unknown_terms: list[str] = []
    if people is not None:
        unknown_terms = validate_individuals(
            people,
            path=ind_path,  # type: ignore[arg-type]
            allow_unknown_terms=allow_unknown_terms,
        )
    consent_file = read_consent(con_path) if con_path is not None else ConsentFile()
    if duo is not None:
        validate_terms(duo, file=None, line=None, field="--duo")
    dataset_terms = list(duo) if duo is not None else list(consent_file.dataset or [])
    reader = VcfReader(vcf_path, threads=threads)
    try:
        genome = _resolve_assembly(assembly, reader)
        everyone = _match_samples(
            reader, people, allow_unmatched=allow_unmatched_samples, individuals_path=ind_path
        )
        validate_consent(consent_file, known_ids={p.id for p in everyone})

        ds_dir = node.dataset_dir(dataset_id)
        versions = ds_dir / "versions"
        with _dataset_lock(ds_dir):
            previous = node.current_version(dataset_id)
            if previous and not replace:
                raise ConflictError(
                    f"dataset {dataset_id!r} is live (version {previous}); pass --replace "
                    "to replace it",
                    field="dataset",
                )
            replaced = _info_of(versions / previous) if previous else None
            _cleanup(versions, keep=previous or "")
            version = _new_version()
            staging = versions / f".staging-{version}"
            staging.mkdir(parents=True)
            try:
                summary = write_version(
                    staging, reader=reader, people=everyone, consent_file=consent_file,
                    dataset_terms=dataset_terms, progress=progress, batch_records=batch_records,
                )  # fmt: skip
                sources = [
                    SourceFile(path=str(vcf_path.resolve()), sha256=_sha256(vcf_path), kind="vcf")
                ]
                if ind_path is not None:
                    sources.append(
                        SourceFile(
                            path=str(ind_path.resolve()),
                            sha256=_sha256(ind_path),
                            kind="individuals",
                        )
                    )
                if con_path is not None:
                    sources.append(
                        SourceFile(
                            path=str(con_path.resolve()), sha256=_sha256(con_path), kind="consent"
                        )
                    )
                info = DatasetInfo(
                    id=dataset_id,
                    name=name or dataset_id,
                    description=description,
                    assembly=genome,  # type: ignore[arg-type]
                    duo=dataset_terms,
                    has_consent_terms=bool(dataset_terms) or any(consent_file.individuals.values()),
                    n_individuals=len(everyone),
                    n_samples=len(reader.samples),
                    n_variants=summary["n_variants"],
                    version=version,
                    created=datetime.now(UTC),
                    sources=sources,
                    attribution=attribution,
                    n_records=summary["n_records"],
                    n_skipped_records=summary["n_skipped"],
                    ploidy=reader.ploidy,
                    zarr_format=ZARR_FORMAT,
                    software_version=_software_version(),
                    unknown_terms=unknown_terms,
                    hpo_version=_hpo_version(people),
                )
                (staging / "dataset.json").write_text(info.model_dump_json(indent=2))
                _fsync_dir(staging)
                final = versions / version
                os.rename(staging, final)
                tmp = ds_dir / f".CURRENT.{version}"
                with open(tmp, "w") as fh:
                    fh.write(version + "\n")
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, ds_dir / "CURRENT")
                _fsync_dir(ds_dir)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                if not previous:  # a new dataset that failed leaves no empty folder behind
                    shutil.rmtree(ds_dir, ignore_errors=True)  # (we still hold its lock)
                raise
            _cleanup(versions, keep=version)
    finally:
        reader.close()
    return IngestSummary(
        dataset_id=dataset_id,
        version=version,
        path=final,
        n_records=summary["n_records"],
        n_variants=summary["n_variants"],
        n_samples=len(reader.samples),
        n_individuals=len(everyone),
        n_genotypes=summary["n_variants"] * len(reader.samples),
        n_carriers=summary["n_carriers"],
        n_skipped_records=summary["n_skipped"],
        n_datasets=len(node.dataset_ids()),
        seconds=time.perf_counter() - started,
        info=info,
        replaced=replaced,
    )


__all__ = ["cineca_attribution", "detect_attribution", "ingest_dataset"]
