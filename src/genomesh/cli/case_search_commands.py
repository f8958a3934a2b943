"""`genomesh analysis submit case-search` and `genomesh analysis case-plot`.

    genomesh analysis submit case-search -d au/rare -d nl/rare -d gb/biobank \\
        --population gb/biobank --phenotype HP:0012759 --window 100000 --wait
    genomesh analysis submit case-search -d au/rare -d gb/biobank --phenotype HP:0012759 \\
        --window 100000     # population: the datasets the catalogue marks population/control
    genomesh analysis submit case-search ... --disease OMIM:620851 --region 12:120291816-120291899
    genomesh analysis submit case-search ... --genes RNU4-2,RNU4-1 --genes ENSG00000012048
    genomesh analysis submit case-search ... --windows genes+fixed --window 100000   # genome
    genomesh analysis case-plot ID --manhattan scan.png --qq scan-qq.png

See `genomesh.analysis.case_search` for what the nodes send and the test the hub runs.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from genomesh.cli.analysis_commands import (
    DatasetOption,
    ManhattanOption,
    ParamOption,
    QQOption,
    WaitOption,
    analysis_app,
    check_plot_targets,
    parse_params,
    submit_analysis,
    submit_app,
    write_plots,
)
from genomesh.cli.query_commands import (
    HubOption,
    JsonOption,
    PassportOption,
    hub_request,
    hub_url,
    passport_header,
)
from genomesh.core.errors import InvalidInputError


@submit_app.command("case-search")
def submit_case_search(
    dataset: DatasetOption,
    population: Annotated[
        list[str] | None,
        typer.Option(
            "--population",
            help="NODE/DATASET used as population/control (repeatable); default: the "
            "datasets the catalogue marks as population or control cohorts",
        ),
    ] = None,
    phenotype: Annotated[
        list[str] | None,
        typer.Option("--phenotype", help="case HPO term, with its descendants (repeatable)"),
    ] = None,
    disease: Annotated[
        str | None, typer.Option("--disease", help="case disease id (OMIM:, ORPHA:, MONDO:)")
    ] = None,
    exact_terms: Annotated[
        bool, typer.Option("--exact-terms", help="the HPO terms only, not their descendants")
    ] = False,
    max_af: Annotated[
        float, typer.Option("--max-af", help="rarity threshold in the population")
    ] = 0.001,
    region: Annotated[
        list[str] | None, typer.Option("--region", help="CHROM:START-END to test (repeatable)")
    ] = None,
    window: Annotated[
        int | None, typer.Option("--window", help="scan the genome in windows of this many bp")
    ] = None,
    genes: Annotated[
        list[str] | None,
        typer.Option(
            "--genes",
            help="genes to test: symbols, Ensembl or NCBI ids, comma-separated (repeatable); "
            "from the packaged GENCODE gene table",
        ),
    ] = None,
    windows: Annotated[
        str | None,
        typer.Option(
            "--windows",
            help="the whole genome: 'genes' (every gene of the table, non-coding too), "
            "'genes+fixed' (and --window bp windows, default 100000) or 'fixed'",
        ),
    ] = None,
    assembly: Annotated[
        str, typer.Option("--assembly", help="the data's assembly, for gene coordinates")
    ] = "GRCh38",
    filter_: Annotated[
        str,
        typer.Option(
            "--filter",
            help="how rare variants are chosen: split (reference half of the population), "
            "pooled (cases + population), population (biased; for comparison)",
        ),
    ] = "split",
    within: Annotated[
        str | None, typer.Option("--within", help="limit a window scan to CHROM:START-END")
    ] = None,
    param: ParamOption = None,
    wait: WaitOption = False,
    hub: HubOption = None,
    passport: PassportOption = None,
    as_json: JsonOption = False,
) -> None:
    """Regions where cases carry rare variants a population cohort lacks (one-sided test)."""
    params: dict[str, Any] = parse_params(param)
    if bool(phenotype) == bool(disease):
        raise InvalidInputError(
            "define the cases by --phenotype HP:... (repeatable) or by --disease ID",
            field="--phenotype",
        )
    params["case"] = (
        {"phenotypes": list(phenotype or []), "descendants": not exact_terms}
        if phenotype
        else {"disease": disease}
    )
    if population:  # else the hub takes the catalogue's population/control datasets
        params["population"] = list(population)
    params["max_af"] = max_af
    if region:
        params["regions"] = list(region)
    if window is not None:
        params["window"] = window
    if genes:
        params["genes"] = [g.strip() for item in genes for g in item.split(",") if g.strip()]
    if windows:
        params["windows"] = windows
    params["assembly"] = assembly
    params["filter"] = filter_
    if within:
        params["region"] = within
    submit_analysis(
        "case-search", params, dataset, hub=hub, passport=passport, wait=wait, as_json=as_json
    )


def scan_rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A case-search result's regions as the rows the GWAS plots draw (CHROM, POS, P, ID)."""
    if body.get("analysis") != "case-search" or not isinstance(body.get("rows"), list):
        raise InvalidInputError("that analysis is not a case search", field="id")
    return [
        {"CHROM": r["chrom"], "POS": (r["start"] + r["end"]) // 2, "P": r["p"],
         "ID": r.get("gene") or r["region"]}
        for r in body["rows"]
    ]  # fmt: skip


@analysis_app.command("case-plot")
def case_plot(
    task_id: Annotated[str, typer.Argument(help="the id of a finished case search")],
    manhattan: ManhattanOption = None,
    qq: QQOption = None,
    hub: HubOption = None,
    passport: PassportOption = None,
) -> None:
    """Manhattan plot (-log10 p per region, Bonferroni line) and QQ plot of a case search."""
    check_plot_targets(manhattan, qq)
    url = f"{hub_url(hub)}/analysis/tasks/{task_id}/result"
    rows = scan_rows(hub_request("GET", url, headers=passport_header(passport)))
    top = [r["ID"] for r in sorted(rows, key=lambda r: r["P"])[:1]]
    threshold = 0.05 / max(len(rows), 1)
    write_plots(
        rows, manhattan=manhattan, qq=qq,
        manhattan_title=f"case search: {len(rows)} regions (Bonferroni line at {threshold:.2g})",
        qq_title="case search: observed vs expected p", threshold=threshold, highlight=top,
    )  # fmt: skip


__all__ = ["case_plot", "scan_rows", "submit_case_search"]
