"""`genomesh node init | ingest | info`: create a node, load a dataset, show what it holds."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from genomesh.cli.apps import node_app
from genomesh.cli.layout import print_rows

console = Console()
err_console = Console(stderr=True, emoji=False, highlight=False)


def _attribution(value: str | None) -> str | None:
    """--attribution: a file, the keyword `cineca-uk1`, or the text itself."""
    if value is None:
        return None
    if value.lower() in {"cineca", "cineca-uk1", "cineca_uk1"}:
        from genomesh.store import cineca_attribution

        return cineca_attribution()
    path = Path(value)
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    return value


@node_app.command("init")
def init(
    directory: Annotated[Path, typer.Argument(help="node folder to create")],
    name: Annotated[str, typer.Option(help="the node's display name")],
    jurisdiction: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 country, e.g. GB")],
) -> None:
    """Create a node folder with its genomesh.toml.

    The jurisdiction picks the national rules the node applies (docs/jurisdictions.md): an
    ISO 3166-1 alpha-2 code; common aliases are taken explicitly (UK -> GB), anything else
    is refused rather than falling back to the permissive default."""
    from genomesh.access.jurisdiction import DEFAULT_PROFILE, load_profiles
    from genomesh.core.countries import country_code
    from genomesh.store import init_node

    profiles = load_profiles().profiles
    national = sorted(c for c in profiles if c != DEFAULT_PROFILE)
    known = f"countries with national rules: {', '.join(national)}"
    code, alias = country_code(jurisdiction, field="--jurisdiction", known=known)
    node = init_node(directory, name=name, jurisdiction=code)
    if alias:
        console.print(f"[yellow]note:[/] {escape(alias)}", highlight=False)
    console.print(
        escape(f"node {node.settings.name} ({node.settings.jurisdiction}) at {node.path}"),
        highlight=False,
    )
    profile = profiles.get(code) if code in profiles else None
    if profile is None or code == DEFAULT_PROFILE:
        console.print(
            f"[yellow]note:[/] genomesh has no national rules for {code}: only each dataset's "
            f"own policy applies ({known}; add a profile with jurisdiction_profiles)",
            highlight=False,
        )
    else:
        console.print(escape(f"national rules: {profile.name} ({len(profile.rules)} rule(s))"))


@contextlib.contextmanager
def _htslib_said(lines: list[str]) -> Iterator[None]:
    """After the ingest (also a failed one, before genomesh's error line): what htslib wrote
    to stderr, as genomesh warnings."""
    from genomesh.cli.ingest_progress import htslib_warnings

    try:
        yield
    finally:
        for line in htslib_warnings(lines):
            err_console.print(Text.assemble(("warning: ", "yellow"), line), soft_wrap=True)


def _confirm_replace(node: Any, dataset: str) -> bool:
    """Whether to replace a live dataset without --replace: asked on a terminal only."""
    if node.current_version(dataset) is None:
        return False
    if not sys.stdin.isatty():
        return False  # the ingest refuses it, naming --replace
    info = node.dataset(dataset).info
    return typer.confirm(
        f"dataset {dataset} is live ({info.n_samples:,} samples, {info.n_variants:,} variants, "
        f"version {info.version}); replace it?"
    )


@node_app.command("ingest")
def ingest(
    directory: Annotated[Path, typer.Argument(help="node folder")],
    dataset: Annotated[str, typer.Option(help="dataset id")],
    vcf: Annotated[Path, typer.Option(help="VCF file (.vcf or .vcf.gz)")],
    individuals: Annotated[
        Path | None, typer.Option(help="phenopacket file/folder, BFF individuals.json or TSV")
    ] = None,
    consent: Annotated[Path | None, typer.Option(help="consent TSV or JSON")] = None,
    duo: Annotated[
        str | None, typer.Option(help="dataset-level DUO codes, comma-separated")
    ] = None,
    assembly: Annotated[
        str | None, typer.Option(help="GRCh37 or GRCh38 (else from header)")
    ] = None,
    allow_unmatched_samples: Annotated[
        bool, typer.Option(help="ingest VCF samples that the individuals file does not list")
    ] = False,
    id_from: Annotated[
        str,
        typer.Option(
            help="phenopackets: key individuals by `subject` id (default) or `phenopacket` id "
            "(for collections that reuse subject ids across studies)"
        ),
    ] = "subject",
    allow_unknown_terms: Annotated[
        bool,
        typer.Option(
            help="keep HPO ids the packaged HPO release does not know (flagged in each "
            "individual's document and listed in dataset.json) instead of stopping"
        ),
    ] = False,
    name: Annotated[str | None, typer.Option(help="dataset display name")] = None,
    description: Annotated[str | None, typer.Option(help="dataset description")] = None,
    attribution: Annotated[
        str | None,
        typer.Option(
            help="the credits to show with the dataset: text, a file holding it, or "
            "`cineca-uk1` (never inferred from the files)"
        ),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="replace the dataset if it is already live (else asked on a terminal)",
        ),
    ] = False,
) -> None:
    """Ingest (or replace) a dataset: VCF genotypes, individuals and consent."""
    from genomesh.cli.ingest_progress import FileFraction, captured_c_stderr
    from genomesh.store import ingest_dataset, open_node
    from genomesh.store.consent import parse_duo_option

    terms = parse_duo_option(duo) if duo else None
    replace = replace or _confirm_replace(open_node(directory), dataset)
    started = time.perf_counter()
    fraction = FileFraction(vcf)
    htslib: list[str] = []
    with (
        _htslib_said(htslib),
        captured_c_stderr(htslib),
        Progress(
            SpinnerColumn(),
            TextColumn("[bold]ingest[/] {task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[records]:,} records"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,  # no bar (nor its blank line) in logs and pipes
        ) as bar,
    ):
        # the bar is a percentage of the records (an index gives the total) or else of the
        # file read so far; the record count is shown beside it
        task = bar.add_task(dataset, total=None, records=0)

        def report(done: int, total: int | None) -> None:
            if total:
                bar.update(task, completed=done, total=total, records=done)
                return
            share = fraction()
            if share is None:
                bar.update(task, records=done)
            else:
                bar.update(task, completed=round(share * 1000), total=1000, records=done)

        summary = ingest_dataset(
            directory,
            dataset,
            vcf=vcf,
            individuals=individuals,
            consent=consent,
            duo=terms,
            assembly=assembly,
            allow_unmatched_samples=allow_unmatched_samples,
            id_from=id_from,  # type: ignore[arg-type]  # checked by read_individuals
            allow_unknown_terms=allow_unknown_terms,
            name=name,
            description=description,
            attribution=_attribution(attribution),
            progress=report,
            replace=replace,
        )
    elapsed = time.perf_counter() - started
    table = Table(title=f"ingested {summary.dataset_id}", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("version", summary.version),
        ("VCF records", f"{summary.n_records:,}"),
        ("variants (split)", f"{summary.n_variants:,}"),
        ("skipped records", f"{summary.n_skipped_records:,}"),
        ("samples", f"{summary.n_samples:,}"),
        ("individuals", f"{summary.n_individuals:,}"),
        ("genotypes", f"{summary.n_genotypes:,}"),
        ("datasets on node", f"{summary.n_datasets}"),
        ("assembly", summary.info.assembly),
        ("consent terms", "yes" if summary.info.has_consent_terms else "none recorded"),
        ("time", f"{elapsed:.1f} s"),
    ]
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)
    if summary.info.unknown_terms:
        kept = summary.info.unknown_terms
        console.print(
            f"[yellow]warning:[/] kept {len(kept)} HPO term(s) unknown to the packaged HPO "
            f"release {summary.info.hpo_version} (--allow-unknown-terms; flagged in the "
            f"documents): {', '.join(kept[:20])}{' ...' if len(kept) > 20 else ''}",
            highlight=False,
        )
    from genomesh.cli.announce import announce_dataset

    said = announce_dataset(directory, summary.dataset_id)
    if said:
        console.print(Text(said), soft_wrap=True)
    if summary.replaced is not None:
        old = summary.replaced
        console.print(
            Text(
                f"replaced version {old.version} of {old.id} ({old.n_samples:,} samples, "
                f"{old.n_variants:,} variants, from {_source_names(old)}); it is kept until "
                "the next ingest"
            ),
            soft_wrap=True,
        )
    if summary.info.attribution:
        console.print(Text(f"attribution: {summary.info.attribution}", style="dim"))
    else:
        from genomesh.store.ingest import detect_attribution

        if detect_attribution(individuals, vcf):  # a hint only: credits are stated, not guessed
            console.print(
                "note: these files sit beside CINECA's datasets.json; if this is the CINECA "
                "UK1 cohort, ingest it again with --replace --attribution cineca-uk1",
                highlight=False,
                soft_wrap=True,
            )


def _source_names(info: Any) -> str:
    return ", ".join(Path(src.path).name for src in info.sources) or "unknown files"


@node_app.command("info")
def info(directory: Annotated[Path, typer.Argument(help="node folder")]) -> None:
    """Show the node and its datasets."""
    from genomesh.store import open_node

    node = open_node(directory)
    console.print(
        f"node [bold]{node.settings.name}[/] ({node.settings.jurisdiction}) at {node.path}"
    )
    rows = []
    for ds in node.datasets():
        i = ds.info
        duo = ", ".join(t.id for t in i.duo) or ("per person" if i.has_consent_terms else "none")
        rows.append([i.id, i.assembly, f"{i.n_variants:,}", f"{i.n_individuals:,}", duo, i.version])
    print_rows(
        console,
        ["dataset", "assembly", "variants", "individuals", "DUO", "version"],
        rows,
        keep=["dataset", "assembly", "variants", "individuals", "version"],
    )
