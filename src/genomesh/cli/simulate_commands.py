"""`genomesh simulate OUT ...`: write a synthetic cohort (VCF, phenopackets, consent, truth)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from genomesh.cli.apps import app
from genomesh.core.errors import InvalidInputError

_STAGES = {
    "ancestry": "coalescent simulation (msprime)",
    "vcf": "writing cohort.vcf.gz",
    "traits": "planting trait effects",
    "phenopackets": "writing phenopackets",
}


def parse_populations(text: str) -> list[str] | dict[str, float]:
    """`AFR,EUR,EAS` (equal shares) or `EUR:0.8,AFR:0.1,EAS:0.1` (weights)."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise InvalidInputError("give at least one population", field="--populations")
    if all(":" not in t for t in items):
        return items
    weights: dict[str, float] = {}
    for item in items:
        name, _, weight = item.partition(":")
        try:
            weights[name.strip()] = float(weight)
        except ValueError:
            raise InvalidInputError(
                f"expected POP:WEIGHT, got {item!r}", field="--populations"
            ) from None
    return weights


@app.command("simulate")
def simulate(
    out: Annotated[Path, typer.Argument(help="output folder (created)")],
    individuals: Annotated[
        int | None, typer.Option("--individuals", "-n", min=2, help="number of individuals")
    ] = None,
    populations: Annotated[
        str | None,
        typer.Option(help="AFR,EUR,EAS (equal shares) or EUR:0.8,AFR:0.1,EAS:0.1"),
    ] = None,
    length: Annotated[
        int | None, typer.Option(help="region length in bp (default 1,000,000)")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="random seed (default 1; recorded in truth.json)")
    ] = None,
    chromosome: Annotated[str, typer.Option(help="autosome to place the region on")] = "22",
    assembly: Annotated[str, typer.Option(help="GRCh37 or GRCh38")] = "GRCh38",
    start: Annotated[
        int | None, typer.Option(help="0-based start of the region (default 20,000,000)")
    ] = None,
    duo_mix: Annotated[
        str | None,
        typer.Option(
            "--duo-mix",
            help="consent mix: default|hospital|biobank|rare-disease or e.g. 'GRU=60,HMB+NPU=30,DS=10'",
        ),
    ] = None,
    country: Annotated[
        str | None, typer.Option(help="ISO 3166 country of the cohort (GS consent, origin)")
    ] = None,
    disease: Annotated[str | None, typer.Option(help="binary-trait disease: t2d or dee4")] = None,
    prevalence: Annotated[
        float | None, typer.Option(help="target prevalence of the binary trait")
    ] = None,
    id_prefix: Annotated[str | None, typer.Option(help="sample id prefix (SIM000001)")] = None,
    preset: Annotated[
        str | None,
        typer.Option(help="a demo cohort: nl-hospital, gb-biobank or au-rare-disease"),
    ] = None,
    replay: Annotated[
        Path | None,
        typer.Option(
            help="re-run the exact simulation recorded in a truth.json (other options ignored)"
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="overwrite an earlier simulated cohort")] = False,
) -> None:
    """Simulate a cohort with msprime: genotypes, phenotypes, consent and planted traits."""
    from genomesh.simulate import BinaryTraitSpec, simulate_cohort
    from genomesh.simulate.presets import DEMO_COHORTS
    from genomesh.simulate.provenance import call_from_record

    kwargs: dict[str, Any] = {"chromosome": chromosome, "assembly": assembly, "start": start}
    if replay is not None:
        try:
            doc = json.loads(replay.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InvalidInputError(
                f"cannot read {replay}: {exc.strerror or exc}", file=str(replay), field="--replay"
            ) from None
        except ValueError as exc:
            raise InvalidInputError(
                f"not a genomesh truth.json: invalid JSON ({exc})", file=str(replay)
            ) from None
        if not isinstance(doc, dict) or "call" not in doc:
            raise InvalidInputError(
                "not a genomesh truth.json: it has no 'call' record", file=str(replay), field="call"
            )
        record = doc["call"]
        kwargs = call_from_record(record)
    elif preset is not None:
        if preset not in DEMO_COHORTS:
            raise InvalidInputError(
                f"unknown preset {preset!r}; choose from {', '.join(DEMO_COHORTS)}",
                field="--preset",
            )
        p = DEMO_COHORTS[preset]
        kwargs.update(
            n_individuals=p.n_individuals, populations=dict(p.populations), length=p.length,
            seed=p.seed, duo_mix=p.duo_mix, country=p.country, disease=p.disease,
            binary=p.binary, id_prefix=p.id_prefix,
        )  # fmt: skip
    elif individuals is None:
        raise InvalidInputError("give --individuals (or --preset)", field="--individuals")
    given = (
        {}
        if replay is not None
        else {
            "n_individuals": individuals,
            "populations": parse_populations(populations) if populations else None,
            "length": length,
            "seed": seed,
            "duo_mix": duo_mix,
            "country": country,
            "disease": disease,
            "id_prefix": id_prefix,
        }
    )
    kwargs.update({k: v for k, v in given.items() if v is not None})
    kwargs.setdefault("length", 1_000_000)
    kwargs.setdefault("seed", 1)
    if prevalence is not None and replay is None:
        base = kwargs.get("binary") or BinaryTraitSpec()
        kwargs["binary"] = BinaryTraitSpec(
            prevalence=prevalence, heritability=base.heritability, n_causal=base.n_causal
        )

    console = Console(stderr=True)
    started = time.perf_counter()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        tasks: dict[str, Any] = {}

        def report(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(_STAGES.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        files = simulate_cohort(out, overwrite=force, progress=report, **kwargs)
    elapsed = time.perf_counter() - started
    truth = files.read_truth()
    table = Table(title=f"simulated cohort in {files.out_dir}", show_header=False)
    table.add_row("individuals", f"{files.n_individuals:,}")
    table.add_row(
        "populations", ", ".join(f"{k} {v}" for k, v in truth["parameters"]["populations"].items())
    )
    table.add_row("variants (biallelic SNVs)", f"{files.n_variants:,}")
    table.add_row(
        "region",
        f"{truth['parameters']['vcf_chromosome']}:{truth['parameters']['start'] + 1:,}-"
        f"{truth['parameters']['end']:,} ({files.assembly})",
    )
    table.add_row(
        "binary trait",
        f"{truth['binary']['disease']['label']}: {truth['binary']['n_affected']} affected "
        f"({truth['binary']['observed_prevalence']:.1%}, target {truth['binary']['prevalence']:.1%})",
    )
    table.add_row("seed", str(files.seed))
    table.add_row("time", f"{elapsed:.1f} s")
    Console().print(table)


__all__ = ["parse_populations", "simulate"]


@app.command("plant-rare-disease")
def plant_rare_disease_command(
    cohort: Annotated[Path, typer.Argument(help="a cohort `genomesh simulate` wrote")],
    out: Annotated[Path, typer.Argument(help="folder for the planted copy (replaced)")],
    cases: Annotated[int, typer.Option("--cases", min=1, help="number of cases to plant")] = 20,
    eligible: Annotated[
        Path | None,
        typer.Option(
            help="file of sample ids the cases are drawn from, one per line (default all)"
        ),
    ] = None,
    population_carriers: Annotated[
        int, typer.Option(min=0, help="others given one private variant of the region each")
    ] = 1,
    seed: Annotated[int, typer.Option(min=0, help="random seed (recorded in truth.json)")] = 1,
) -> None:
    """Plant ReNU syndrome (RNU4-2) in a simulated chr12 GRCh38 cohort around 120.29 Mb."""
    from genomesh.simulate.raredisease import plant_rare_disease, read_cohort

    ids = None
    if eligible is not None:
        try:
            ids = [x.strip() for x in eligible.read_text().splitlines() if x.strip()]
        except OSError as exc:
            raise InvalidInputError(f"cannot read {eligible}: {exc}", field="--eligible") from None
    planted = plant_rare_disease(
        read_cohort(cohort), out, n_cases=cases, eligible=ids,
        population_carriers=population_carriers, seed=seed,
    )  # fmt: skip
    truth = planted.read_truth()["rare_disease"]
    Console().print(
        f"planted {truth['disease']['label']} ({truth['disease']['id']}, {truth['gene']}) in "
        f"{len(truth['cases'])} cases, region {truth['region']}; truth in {planted.truth}"
    )
