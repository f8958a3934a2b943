"""Provenance: software versions, the manifest, the exact call stored in truth.json, replay.

truth.json["call"] holds every argument as JSON (the seed, the resolved population counts, the
resolved consent mix, the full disease and trait specifications), so
`replay_cohort("truth.json", out_dir)` rebuilds byte-identical files with the same software.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import subprocess
from dataclasses import asdict
from datetime import date
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genomesh.core.errors import InvalidInputError
from genomesh.simulate.phenotypes import HPO_RELEASE, DiseaseSpec, Term
from genomesh.simulate.traits import BinaryTraitSpec, QuantitativeTraitSpec

if TYPE_CHECKING:
    from genomesh.simulate.cohort import CohortFiles, Progress


def software_versions() -> dict[str, str]:
    """Versions of everything that shaped the output (provenance)."""
    out = {"python": platform.python_version()}
    for pkg in ("genomesh", "msprime", "tskit", "numpy", "scipy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    bgzip = shutil.which("bgzip")
    if bgzip:
        first = subprocess.run([bgzip, "--version"], capture_output=True, text=True).stdout
        out["bgzip"] = first.splitlines()[0] if first else "unknown"
    else:
        out["bgzip"] = "not installed (Python gzip used)"
    out["hpo"] = HPO_RELEASE
    return out


def _sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


FILE_DESCRIPTIONS = {
    "cohort.vcf.gz": "diploid phased biallelic SNVs (BGZF when bgzip is installed)",
    "cohort.vcf.gz.tbi": "tabix index of cohort.vcf.gz",
    "phenopackets/": "one GA4GH Phenopackets v2 JSON per individual",
    "individuals.json": "Beacon v2 BFF individuals (sex, ethnicity, features, diseases, measures)",
    "consent.tsv": "per-participant DUO consent terms (genomesh consent TSV)",
    "traits.tsv": "individual_id, population, quantitative, binary",
    "truth.json": "seed, parameters, the full call, demography, causal variants, versions",
}


def write_manifest(
    out: Path,
    *,
    files: list[Path],
    phenopackets: Path,
    header: dict[str, Any],
    software: dict[str, str],
) -> Path:
    """manifest.json: `header`, each file's size and SHA-256, a hash of the phenopacket listing."""
    listing = hashlib.sha256()
    documents = sorted(phenopackets.iterdir())
    for p in documents:
        listing.update(f"{p.name}\t{_sha256(p)}\n".encode())
    entries: list[dict[str, Any]] = [
        {"path": f.name, "bytes": f.stat().st_size, "sha256": _sha256(f)} for f in files
    ]
    entries.append(
        {"path": "phenopackets/", "count": len(documents), "sha256_of_listing": listing.hexdigest()}
    )
    manifest = {**header, "files": entries, "descriptions": FILE_DESCRIPTIONS, "software": software}
    path = out / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path


def call_record(
    *,
    n_individuals: int,
    counts: dict[str, int],
    length: int,
    seed: int,
    chromosome: str,
    assembly: str,
    start: int,
    duo_mix: str,
    country: str | None,
    disease: DiseaseSpec,
    quantitative: QuantitativeTraitSpec,
    binary: BinaryTraitSpec,
    id_prefix: str,
    reference_date: date,
) -> dict[str, Any]:
    """The `simulate_cohort` keyword arguments as JSON-able values."""
    return {
        "n_individuals": n_individuals,
        "populations": dict(counts),
        "length": length,
        "seed": seed,
        "chromosome": chromosome,
        "assembly": assembly,
        "start": start,
        "duo_mix": duo_mix,
        "country": country,
        "disease": asdict(disease),
        "quantitative": {
            **asdict(quantitative),
            "population_shift": dict(quantitative.population_shift),
        },
        "binary": asdict(binary),
        "id_prefix": id_prefix,
        "reference_date": reference_date.isoformat(),
    }


def _disease(doc: dict[str, Any]) -> DiseaseSpec:
    return DiseaseSpec(
        term=Term(**doc["term"]),
        case_features=tuple((Term(**t), float(p)) for t, p in doc["case_features"]),
        onset_age=(int(doc["onset_age"][0]), int(doc["onset_age"][1])),
        age_range=(int(doc["age_range"][0]), int(doc["age_range"][1])),
    )


def call_from_record(record: dict[str, Any]) -> dict[str, Any]:
    """`simulate_cohort` keyword arguments rebuilt from a truth.json `call` record."""
    try:
        return {
            **record,
            "disease": _disease(record["disease"]),
            "quantitative": QuantitativeTraitSpec(**record["quantitative"]),
            "binary": BinaryTraitSpec(**record["binary"]),
            "reference_date": date.fromisoformat(record["reference_date"]),
        }
    except KeyError as exc:
        raise InvalidInputError(
            f"truth.json has no usable 'call' record: it lacks {exc.args[0]!r}", field="call"
        ) from exc
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"truth.json has no usable 'call' record: {exc}", field="call"
        ) from exc


def replay_cohort(
    truth: str | Path | dict[str, Any],
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> CohortFiles:
    """Simulate again from a truth.json (path or parsed dict): the same files, byte for byte."""
    from genomesh.simulate.cohort import simulate_cohort

    doc = truth if isinstance(truth, dict) else json.loads(Path(truth).read_text(encoding="utf-8"))
    if "call" not in doc:
        raise InvalidInputError("truth.json has no 'call' record", field="call")
    return simulate_cohort(
        out_dir, overwrite=overwrite, progress=progress, **call_from_record(doc["call"])
    )


__all__ = [
    "FILE_DESCRIPTIONS",
    "call_from_record",
    "call_record",
    "replay_cohort",
    "software_versions",
    "write_manifest",
]
