"""Plant a rare disease in a simulated cohort: cases with HPO features and causal variants in
one short region, a population that carries almost none there.

    cohort = simulate_cohort(out, n_individuals=300, chromosome="12", start=120_200_000,
                             length=200_000)            # a window holding the region
    planted = plant_rare_disease(cohort, out2, n_cases=12, eligible=ids_of_case_nodes, seed=3)

The disease is a profile drawn from real cases (`RENU`: ReNU syndrome, RNU4-2, the 61
phenopacket-store cases; `validation/rare_disease_profile.py` writes it): each case shows each
of the profile's HPO features with the share of real cases that showed it (at least three),
gets the disease, and carries one heterozygous variant drawn from the variants those cases
reported (mostly the recurrent n.64_65insT), written into its phenopacket as a genomic
interpretation, so it can also be enrolled for matchmaking. `population_carriers`
individuals outside `eligible` carry one private variant of the region each ("almost
none"). The planted cohort is a new folder (the original, with its manifest, is left alone):
the VCF with the new records in position order, individuals.json, phenopackets/,
consent.tsv, and truth.json with a `rare_disease` section naming cases, variants and region.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from genomesh.core.errors import InvalidInputError
from genomesh.simulate.cohort import CohortFiles


@dataclass(frozen=True)
class RareDiseaseProfile:
    """A rare disease as real cases show it (see `validation/rare_disease_profile.py`)."""

    gene: str
    disease_id: str
    disease_label: str
    assembly: str
    chrom: str
    start: int
    end: int
    features: tuple[tuple[str, str, float], ...]  # (HPO id, label, share of cases)
    variants: tuple[tuple[int, str, str, int], ...]  # (pos, ref, alt, cases reporting it)
    hpo_version: str
    source: str

    @property
    def region(self) -> str:
        return f"{self.chrom}:{self.start}-{self.end}"


@cache
def load_profile(name: str = "renu_syndrome") -> RareDiseaseProfile:
    """A packaged profile (`renu_syndrome`)."""
    try:
        text = resources.files("genomesh.simulate").joinpath(f"data/{name}.json").read_text()
    except FileNotFoundError:
        raise InvalidInputError(f"no rare-disease profile {name!r}", field="disease") from None
    doc = json.loads(text)
    region = doc["region"]
    return RareDiseaseProfile(
        gene=doc["gene"], disease_id=doc["disease"]["id"], disease_label=doc["disease"]["label"],
        assembly=doc["assembly"], chrom=str(region["chrom"]), start=int(region["start"]),
        end=int(region["end"]),
        features=tuple((f["id"], f["label"], float(f["frequency"])) for f in doc["features"]),
        variants=tuple((int(v["pos"]), v["ref"], v["alt"], int(v["cases"]))
                       for v in doc["variants"]),
        hpo_version=doc["hpoVersion"], source=doc["source"],
    )  # fmt: skip


RENU = "renu_syndrome"


def _draw_features(profile: RareDiseaseProfile, rng: np.random.Generator) -> list[tuple[str, str]]:
    shares = np.array([f[2] for f in profile.features])
    chosen = np.flatnonzero(rng.random(len(shares)) < shares)
    if chosen.size < 3:  # every case shows at least its three most frequent features
        chosen = np.union1d(chosen, np.argsort(-shares)[:3])
    return [(profile.features[i][0], profile.features[i][1]) for i in chosen]


def _interpretation(profile: RareDiseaseProfile, pid: str, variant: tuple) -> dict[str, Any]:
    pos, ref, alt = variant
    return {
        "id": f"{pid}-interpretation",
        "progressStatus": "SOLVED",
        "diagnosis": {
            "disease": {"id": profile.disease_id, "label": profile.disease_label},
            "genomicInterpretations": [{
                "subjectOrBiosampleId": pid,
                "interpretationStatus": "CAUSATIVE",
                "variantInterpretation": {"variationDescriptor": {
                    "id": f"{pid}-variant",
                    "geneContext": {"valueId": "HGNC:10193", "symbol": profile.gene},
                    "vcfRecord": {"genomeAssembly": "hg38", "chrom": f"chr{profile.chrom}",
                                  "pos": pos, "ref": ref, "alt": alt},
                    "allelicState": {"id": "GENO:0000135", "label": "heterozygous"},
                }},
            }],
        },
    }  # fmt: skip


def _vcf_rows(path: Path, new: dict[tuple[int, str, str], set[str]]) -> tuple[list[str], int]:
    """The VCF's lines with one record per planted variant inserted in position order."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    header_at = next(i for i, line in enumerate(lines) if line.startswith("#CHROM"))
    samples = lines[header_at].split("\t")[9:]
    body = lines[header_at + 1 :]
    chrom_name = body[0].split("\t", 1)[0] if body else "chr12"
    records = []
    for (pos, ref, alt), carriers in sorted(new.items()):
        calls = ["0|1" if s in carriers else "0|0" for s in samples]
        records.append((pos, "\t".join([chrom_name, str(pos), ".", ref, alt, ".", "PASS", ".",
                                         "GT", *calls])))  # fmt: skip
    merged, k = [], 0
    for line in body:
        pos = int(line.split("\t", 2)[1])
        while k < len(records) and records[k][0] < pos:
            merged.append(records[k][1])
            k += 1
        merged.append(line)
    merged.extend(r[1] for r in records[k:])
    return [*lines[: header_at + 1], *merged], len(records)


def read_cohort(folder: str | Path) -> CohortFiles:
    """The `CohortFiles` of a cohort `genomesh simulate` wrote (InvalidInputError otherwise)."""
    out = Path(folder)
    truth_path = out / "truth.json"
    try:
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
        params = truth["parameters"]
        vcf = out / "cohort.vcf.gz"
        with gzip.open(vcf, "rt", encoding="utf-8") as handle:
            header = next(line for line in handle if line.startswith("#CHROM"))
        traits = out / "traits.tsv"
        rows = [line.split("\t") for line in traits.read_text().splitlines()[1:]]
    except (OSError, ValueError, KeyError, StopIteration) as exc:
        raise InvalidInputError(
            f"not a simulated cohort (cohort.vcf.gz, traits.tsv, truth.json): {exc}",
            file=str(out),
        ) from None
    index = vcf.with_name(vcf.name + ".tbi")
    return CohortFiles(
        out_dir=out, vcf=vcf, vcf_index=index if index.is_file() else None,
        phenopackets=out / "phenopackets", individuals=out / "individuals.json",
        consent=out / "consent.tsv", traits=traits, truth=truth_path,
        manifest=out / "manifest.json", seed=int(truth["seed"]), assembly=params["assembly"],
        chromosome=str(params["chromosome"]), country=params.get("country"),
        sample_ids=tuple(header.rstrip("\n").split("\t")[9:]),
        populations=tuple(r[1] for r in rows if len(r) > 1),
        n_variants=int(truth.get("variants", {}).get("n_sites", 0)),
    )  # fmt: skip


def plant_rare_disease(
    cohort: CohortFiles,
    out_dir: str | Path,
    *,
    n_cases: int,
    eligible: Sequence[str] | None = None,
    population_carriers: int = 1,
    seed: int = 1,
    profile: str = RENU,
) -> CohortFiles:
    """A copy of `cohort` in `out_dir` with the disease planted (see the module docstring)."""
    disease = load_profile(profile)
    truth = cohort.read_truth()
    params = truth["parameters"]
    start, end = int(params["start"]), int(params["end"])
    if (
        str(params["chromosome"]) != disease.chrom
        or not start < disease.start <= disease.end <= end
    ):
        raise InvalidInputError(
            f"the cohort's window ({params['chromosome']}:{start + 1}-{end}) does not hold "
            f"{disease.gene} ({disease.region}); simulate chromosome={disease.chrom} with start "
            f"<= {disease.start - 1} and start + length >= {disease.end}",
            field="cohort",
        )
    if cohort.assembly != disease.assembly:
        raise InvalidInputError(
            f"the profile's variants are on {disease.assembly}, the cohort on {cohort.assembly}",
            field="assembly",
        )
    pool = list(eligible) if eligible is not None else list(cohort.sample_ids)
    unknown = sorted(set(pool) - set(cohort.sample_ids))
    if unknown:
        raise InvalidInputError(f"eligible ids not in the cohort: {unknown[:3]}", field="eligible")
    if not 1 <= n_cases <= len(pool):
        raise InvalidInputError(
            f"n_cases must be between 1 and {len(pool)} (the eligible individuals)", field="n_cases"
        )
    rng = np.random.default_rng(seed)
    cases = sorted(rng.choice(pool, size=n_cases, replace=False).tolist())
    others = sorted(set(cohort.sample_ids) - set(pool))
    weights = np.array([v[3] for v in disease.variants], dtype=float)
    new: dict[tuple[int, str, str], set[str]] = {}
    case_variant: dict[str, tuple[int, str, str]] = {}
    for pid in cases:
        pos, ref, alt, _ = disease.variants[
            int(rng.choice(len(weights), p=weights / weights.sum()))
        ]
        case_variant[pid] = (pos, ref, alt)
        new.setdefault((pos, ref, alt), set()).add(pid)
    noise = sorted(rng.choice(others, size=min(population_carriers, len(others)),
                              replace=False).tolist()) if others else []  # fmt: skip
    used = {p for p, _, _ in new}
    free = [p for p in range(disease.start, disease.end + 1) if p not in used]
    for pid, pos in zip(noise, rng.choice(free, size=len(noise), replace=False), strict=True):
        new[(int(pos), "C", "G")] = {pid}  # a private SNV (the base is nominal: simulated)

    out = Path(out_dir)
    if out.exists():
        shutil.rmtree(out)
    (out / "phenopackets").mkdir(parents=True)
    lines, added = _vcf_rows(cohort.vcf, new)
    vcf = out / "cohort.vcf.gz"
    with gzip.open(vcf, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    people = json.loads(cohort.individuals.read_text(encoding="utf-8"))
    features: dict[str, list[tuple[str, str]]] = {
        pid: _draw_features(disease, rng) for pid in cases
    }
    disease_term = {"id": disease.disease_id, "label": disease.disease_label}
    for doc in people:
        if doc["id"] in features:
            doc.setdefault("phenotypicFeatures", []).extend(
                {"featureType": {"id": t, "label": label}, "excluded": False}
                for t, label in features[doc["id"]]
            )
            doc.setdefault("diseases", []).append(
                {"diseaseCode": disease_term, "ageOfOnset": {"iso8601duration": "P0Y"}}
            )
    (out / "individuals.json").write_text(json.dumps(people, indent=1), encoding="utf-8")
    for packet_path in sorted(cohort.phenopackets.glob("*.json")):
        packet = json.loads(packet_path.read_text(encoding="utf-8"))
        pid = packet["subject"]["id"]
        if pid in features:
            packet["phenotypicFeatures"].extend(
                {"type": {"id": t, "label": label}} for t, label in features[pid]
            )
            packet.setdefault("diseases", []).append({"term": disease_term})
            packet["interpretations"] = [_interpretation(disease, pid, case_variant[pid])]
        (out / "phenopackets" / packet_path.name).write_text(json.dumps(packet, indent=1))
    shutil.copy(cohort.consent, out / "consent.tsv")
    shutil.copy(cohort.traits, out / "traits.tsv")
    truth["rare_disease"] = {
        "profile": profile, "source": disease.source, "gene": disease.gene,
        "disease": disease_term, "region": disease.region, "assembly": disease.assembly,
        "hpo_version": disease.hpo_version, "seed": seed, "cases": cases,
        "case_variants": {pid: "-".join(map(str, v)) for pid, v in case_variant.items()},
        "population_carriers": noise,
    }  # fmt: skip
    (out / "truth.json").write_text(json.dumps(truth, indent=1), encoding="utf-8")
    manifest = {"format": "genomesh-planted-cohort/1", "from": str(cohort.out_dir),
                "rare_disease": truth["rare_disease"]}  # fmt: skip
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return dataclasses.replace(
        cohort, out_dir=out, vcf=vcf, vcf_index=None, phenopackets=out / "phenopackets",
        individuals=out / "individuals.json", consent=out / "consent.tsv",
        traits=out / "traits.tsv", truth=out / "truth.json", manifest=out / "manifest.json",
        n_variants=cohort.n_variants + added,
    )  # fmt: skip


__all__ = ["RENU", "RareDiseaseProfile", "load_profile", "plant_rare_disease", "read_cohort"]
