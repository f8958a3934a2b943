"""`simulate_cohort`: one seed -> a complete synthetic cohort folder a node can ingest.

OUT/
  cohort.vcf.gz (+ .tbi)   diploid biallelic SNVs, sample ids PREFIX000001 ...
  phenopackets/ID.json     one Phenopackets v2 document per individual
  individuals.json         the same people as Beacon v2 BFF individuals (with ancestry)
  consent.tsv              per-participant DUO terms (consent TSV format)
  traits.tsv               individual_id, population, quantitative, binary
  truth.json               seed, parameters, causal variants and effects, software versions
  manifest.json            the files with sizes and SHA-256, the seed

Every random draw comes from `numpy.random.SeedSequence(seed)` split into independent
streams (ancestry, mutations, order, traits, people, consent), so the same seed and
parameters give byte-identical files.
"""

from __future__ import annotations

import json
import operator
import os
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from genomesh.core.errors import ConflictError, InvalidInputError
from genomesh.core.genome import normalize_assembly, normalize_chromosome
from genomesh.simulate import consent as consent_mod
from genomesh.simulate.demography import (
    model_parameters,
    normalize_population,
    simulate_tree_sequence,
)
from genomesh.simulate.genotypes import (
    CHROMOSOME_LENGTHS,
    biallelic_only,
    site_dosages,
    tabix_index,
    write_vcf,
)
from genomesh.simulate.phenotypes import (
    DISEASES,
    DiseaseSpec,
    bff_individual,
    make_people,
    phenopacket,
)
from genomesh.simulate.provenance import call_record, software_versions, write_manifest
from genomesh.simulate.traits import (
    BinaryTraitSpec,
    CausalVariant,
    QuantitativeTraitSpec,
    allele_frequencies,
    choose_causal_sites,
    simulate_traits,
)

Progress = Callable[[str, int, int | None], None]
DEFAULT_START = 20_000_000  # 0-based window start on the chromosome (chr22: gene-rich q arm)


@dataclass(frozen=True)
class CohortFiles:
    """Where a simulated cohort was written, and its key facts."""

    out_dir: Path
    vcf: Path
    vcf_index: Path | None
    phenopackets: Path
    individuals: Path
    consent: Path
    traits: Path
    truth: Path
    manifest: Path
    seed: int
    assembly: str
    chromosome: str
    country: str | None
    sample_ids: tuple[str, ...]
    populations: tuple[str, ...]  # per sample, VCF column order
    n_variants: int
    attribution: str = field(
        default="Simulated with genomesh (msprime, Gutenkunst et al. 2009 out-of-Africa model)"
    )

    @property
    def n_individuals(self) -> int:
        return len(self.sample_ids)

    def read_truth(self) -> dict[str, Any]:
        """truth.json as a dict."""
        return json.loads(self.truth.read_text(encoding="utf-8"))


def _population_counts(populations: Sequence[str] | Mapping[str, float], n: int) -> dict[str, int]:
    """Split n individuals over populations (equal shares, or the given weights), exactly."""
    if isinstance(populations, Mapping):
        items = [(normalize_population(k), float(v)) for k, v in populations.items()]
    else:
        items = [(normalize_population(p), 1.0) for p in populations]
    if not items or len({p for p, _ in items}) != len(items):
        raise InvalidInputError("give each population once (AFR, EUR, EAS)", field="populations")
    if any(w < 0 for _, w in items) or sum(w for _, w in items) <= 0:
        raise InvalidInputError("population weights must be ≥ 0 and not all 0", field="populations")
    total = sum(w for _, w in items)
    exact = np.array([w / total * n for _, w in items])
    counts = np.floor(exact).astype(int)
    for k in np.argsort(-(exact - counts), kind="stable")[: n - counts.sum()]:
        counts[k] += 1  # largest remainder
    return {p: int(c) for (p, _), c in zip(items, counts, strict=True)}


def _seed_int(ss: np.random.SeedSequence) -> int:
    """A 1..2^31-1 integer seed for msprime from a spawned SeedSequence."""
    return int(ss.generate_state(1, dtype=np.uint32)[0] % (2**31 - 2)) + 1


def _write_json(path: Path, doc: Any) -> None:
    path.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def _check_out_dir(out_dir: Path, overwrite: bool) -> None:
    """Refuse a non-empty folder unless overwriting an earlier simulated cohort."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ConflictError("output path exists and is not a folder", file=str(out_dir))
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not overwrite:
            raise ConflictError(
                "output folder is not empty (use overwrite=True / --force)", file=str(out_dir)
            )
        if not (out_dir / "manifest.json").is_file():
            raise ConflictError(
                "refusing to overwrite a folder that is not a simulated cohort (no manifest.json)",
                file=str(out_dir),
            )


def _staging_dir(out_dir: Path) -> Path:
    """A fresh sibling folder to write into; it replaces `out_dir` only when complete."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "phenopackets").mkdir(parents=True)
    return staging


def _swap_in(staging: Path, out_dir: Path) -> None:
    """Put the finished cohort in place (an earlier one, or an empty folder, is removed)."""
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
        out_dir.rename(old)
        staging.rename(out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(out_dir)


def simulate_cohort(
    out_dir: str | Path,
    *,
    n_individuals: int,
    populations: Sequence[str] | Mapping[str, float] = ("AFR", "EUR", "EAS"),
    length: int = 1_000_000,
    seed: int = 1,
    chromosome: str = "22",
    assembly: str = "GRCh38",
    start: int | None = None,
    duo_mix: str = "default",
    country: str | None = None,
    disease: str | DiseaseSpec = "t2d",
    quantitative: QuantitativeTraitSpec | None = None,
    binary: BinaryTraitSpec | None = None,
    id_prefix: str = "SIM",
    reference_date: date = date(2026, 1, 1),
    overwrite: bool = False,
    progress: Progress | None = None,
) -> CohortFiles:
    """Simulate a cohort into `out_dir` (see the module docstring for the files).

    `populations` is a list (equal shares) or a mapping of weights, e.g. {"EUR": 0.8,
    "AFR": 0.1, "EAS": 0.1}. `duo_mix` is a mix string or a named mix (default, hospital,
    biobank, rare-disease). `disease` names a built-in disease (t2d, dee4) or is a DiseaseSpec.
    """
    out = Path(out_dir)
    if n_individuals < 2:
        raise InvalidInputError("simulate at least 2 individuals", field="n_individuals")
    if length < 1_000:
        raise InvalidInputError("length must be at least 1,000 bp", field="length")
    try:
        seed = operator.index(seed)  # accepts numpy integers too
    except TypeError:
        seed = -1
    if seed < 0:
        raise InvalidInputError("seed must be a non-negative integer", field="seed")
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,20}", id_prefix):
        raise InvalidInputError(
            f"id_prefix must be 1-20 letters, digits, '_', '.' or '-', got {id_prefix!r}",
            field="id_prefix",
        )
    asm = normalize_assembly(assembly)
    chrom = normalize_chromosome(chromosome)
    if asm is None:
        raise InvalidInputError(f"unknown assembly {assembly!r}", field="assembly")
    if chrom not in CHROMOSOME_LENGTHS[asm]:
        raise InvalidInputError(
            f"chromosome {chromosome!r} is not an autosome (1-22)", field="chromosome"
        )
    contig_length = CHROMOSOME_LENGTHS[asm][chrom]
    if start is None:
        fits = DEFAULT_START + length <= contig_length
        offset = DEFAULT_START if fits else max(0, (contig_length - length) // 2)
    else:
        offset = int(start)
    if offset < 0 or offset + length > contig_length:
        raise InvalidInputError(
            f"window {offset}+{length} does not fit chr{chrom} ({contig_length} bp in {asm})",
            field="length",
        )
    if country is not None and not (len(country) == 2 and country.isalpha()):
        raise InvalidInputError(
            f"country must be ISO 3166 alpha-2, got {country!r}", field="country"
        )
    country = country.upper() if country else None
    disease_spec = disease if isinstance(disease, DiseaseSpec) else DISEASES.get(disease)
    if disease_spec is None:
        raise InvalidInputError(
            f"unknown disease {disease!r}; choose from {', '.join(DISEASES)}", field="disease"
        )
    q_spec = quantitative or QuantitativeTraitSpec()
    b_spec = binary or BinaryTraitSpec()
    profiles, dropped_profiles = consent_mod.resolve_mix(
        consent_mod.parse_mix(duo_mix), disease_id=disease_spec.term.id, country=country,
        reference_date=reference_date,
    )  # fmt: skip
    counts = _population_counts(populations, n_individuals)
    vcf_chrom = f"chr{chrom}" if asm == "GRCh38" else chrom

    def tick(stage: str, done: int, total: int | None) -> None:
        if progress:
            progress(stage, done, total)

    final = out
    _check_out_dir(final, overwrite)
    out = _staging_dir(final)
    try:
        ss_anc, ss_mut, ss_order, ss_traits, ss_people, ss_consent = np.random.SeedSequence(
            seed
        ).spawn(6)

        tick("ancestry", 0, 1)
        ts = simulate_tree_sequence(
            counts, length=length, ancestry_seed=_seed_int(ss_anc), mutation_seed=_seed_int(ss_mut)
        )
        ts, n_dropped = biallelic_only(ts)
        tick("ancestry", 1, 1)

        grouped = [p for p, c in counts.items() for _ in range(c)]  # ts individual order
        order = np.random.default_rng(ss_order).permutation(n_individuals)
        pops = [grouped[i] for i in order]
        ids = [f"{id_prefix}{k:06d}" for k in range(1, n_individuals + 1)]
        versions = software_versions()
        vcf_path = out / "cohort.vcf.gz"
        sites, bgzf = write_vcf(
            ts, vcf_path, chrom=vcf_chrom, offset=offset, contig_length=contig_length,
            assembly=asm, sample_ids=ids, individual_order=order,
            extra_header=[
                f"##source=genomesh simulate {versions['genomesh']} (msprime {versions['msprime']})",
                f"##genomesh_seed={seed}",
            ],
            progress=lambda d, t: tick("vcf", d, t),
        )  # fmt: skip
        vcf_index = tabix_index(vcf_path) if bgzf else None

        tick("traits", 0, 1)
        rng_traits = np.random.default_rng(ss_traits)
        causal_q = choose_causal_sites(sites, q_spec.n_causal, rng=rng_traits)
        causal_b = choose_causal_sites(sites, b_spec.n_causal, rng=rng_traits)
        dos_q = site_dosages(ts, causal_q, individual_order=order)
        dos_b = site_dosages(ts, causal_b, individual_order=order)
        y, affected, _liability, beta_q, beta_b, threshold = simulate_traits(
            dos_q, dos_b, populations=pops, quantitative=q_spec, binary=b_spec, rng=rng_traits
        )
        causal: list[CausalVariant] = []
        for trait, idx, dos, betas in (
            ("quantitative", causal_q, dos_q, beta_q),
            ("binary", causal_b, dos_b, beta_b),
        ):
            freqs = allele_frequencies(dos, pops)
            for k, vi in enumerate(idx):
                causal.append(
                    CausalVariant(
                        trait=trait, variant_index=int(vi), variant_id=sites.variant_id(int(vi)),
                        chrom=chrom, pos=int(sites.positions[vi]), ref=sites.ref[vi],
                        alt=sites.alt[vi], beta=round(float(betas[k]), 6),
                        alt_frequency=round(float(dos[k].mean() / 2), 6),
                        alt_frequency_by_population=freqs[k],
                    )
                )  # fmt: skip
        tick("traits", 1, 1)

        people = make_people(
            ids, pops, y, affected, disease=disease_spec, trait=q_spec,
            rng=np.random.default_rng(ss_people),
        )  # fmt: skip
        created = f"{reference_date.isoformat()}T00:00:00Z"
        creator = f"genomesh simulate {versions['genomesh']}"
        for k, person in enumerate(people):
            doc = phenopacket(
                person, disease=disease_spec, trait=q_spec, created=created, creator=creator
            )
            _write_json(out / "phenopackets" / f"{person.id}.json", doc)
            if (k + 1) % 500 == 0 or k + 1 == len(people):
                tick("phenopackets", k + 1, len(people))
        _write_json(
            out / "individuals.json",
            [
                bff_individual(p, disease=disease_spec, trait=q_spec, country=country)
                for p in people
            ],
        )

        rows = consent_mod.draw_consents(ids, profiles, rng=np.random.default_rng(ss_consent))
        consent_mod.write_consent_tsv(rows, out / "consent.tsv")
        trait_lines = ["individual_id\tpopulation\tquantitative\tbinary"]
        trait_lines += [
            f"{p.id}\t{p.population}\t{p.quantitative:.2f}\t{int(p.affected)}" for p in people
        ]
        (out / "traits.tsv").write_text("\n".join(trait_lines) + "\n", encoding="utf-8")

        parameters = {
            "n_individuals": n_individuals, "populations": counts, "length": length,
            "chromosome": chrom, "vcf_chromosome": vcf_chrom, "assembly": asm,
            "start": offset, "end": offset + length, "duo_mix": [
                {"profile": p.profile.label(), "weight": p.profile.weight} for p in profiles
            ], "duo_mix_left_out": dropped_profiles, "country": country, "id_prefix": id_prefix,
            "reference_date": reference_date.isoformat(),
        }  # fmt: skip
        mix_text = ",".join(f"{p.profile.label()}={p.profile.weight!r}" for p in profiles)
        truth = {
            "seed": seed,
            "parameters": parameters,
            "call": call_record(
                n_individuals=n_individuals,
                counts=counts,
                length=length,
                seed=seed,
                chromosome=chrom,
                assembly=asm,
                start=offset,
                duo_mix=mix_text,
                country=country,
                disease=disease_spec,
                quantitative=q_spec,
                binary=b_spec,
                id_prefix=id_prefix,
                reference_date=reference_date,
            ),
            "demography": model_parameters(),
            "variants": {"n_sites": sites.n_sites, "dropped_multi_mutation_sites": n_dropped},
            "quantitative": {
                **{k: v for k, v in asdict(q_spec).items() if k != "population_shift"},
                "population_shift_sd": dict(q_spec.population_shift),
                "observed_mean": round(float(y.mean()), 6),
                "observed_sd": round(float(y.std()), 6),
                "causal": [c.to_dict() for c in causal if c.trait == "quantitative"],
            },
            "binary": {
                **asdict(b_spec),
                "disease": disease_spec.term.as_dict(),
                "liability_threshold": round(threshold, 6),
                "observed_prevalence": round(float(affected.mean()), 6),
                "n_affected": int(affected.sum()),
                "causal": [c.to_dict() for c in causal if c.trait == "binary"],
            },
            "software": versions,
        }
        _write_json(out / "truth.json", truth)

        files = [vcf_path, *([vcf_index] if vcf_index else []), out / "individuals.json",
                 out / "consent.tsv", out / "traits.tsv", out / "truth.json"]  # fmt: skip
        manifest = {
            "format": "genomesh-simulated-cohort/1", "seed": seed, "assembly": asm,
            "chromosome": chrom, "country": country, "n_individuals": n_individuals,
            "n_variants": sites.n_sites,
        }  # fmt: skip
        write_manifest(
            out, files=files, phenopackets=out / "phenopackets", header=manifest, software=versions
        )
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    _swap_in(out, final)
    out = final
    vcf_path = out / vcf_path.name
    vcf_index = out / vcf_index.name if vcf_index else None
    return CohortFiles(
        out_dir=out, vcf=vcf_path, vcf_index=vcf_index, phenopackets=out / "phenopackets",
        individuals=out / "individuals.json", consent=out / "consent.tsv",
        traits=out / "traits.tsv", truth=out / "truth.json", manifest=out / "manifest.json",
        seed=seed, assembly=asm, chromosome=chrom, country=country, sample_ids=tuple(ids),
        populations=tuple(pops), n_variants=sites.n_sites,
    )  # fmt: skip


__all__ = ["CohortFiles", "simulate_cohort", "software_versions"]
