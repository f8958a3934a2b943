"""`genomesh analysis submit gwas | plot | compare`: the federated GWAS from the command line.

    genomesh analysis submit gwas --trait LOINC:39156-5 --covariates sex,age --mode secure \\
        --dataset nl-a/cohort1 --dataset be-b/cohort2 --wait
    genomesh analysis submit gwas --trait HP:0005978 --binary ...     # logistic
    genomesh analysis result ID --tsv bmi.tsv                          # plink2's columns
    genomesh analysis plot ID --manhattan bmi.png --qq bmi-qq.png
    genomesh analysis compare --trait LOINC:39156-5 --dataset ...     # meta vs pooled

`--covariates` names columns of the nodes' data (`sex`, `age`, or a measured assay such as
`LOINC:8302-2`); `pcs` in the list adds `--n-pcs` principal components, projected at every
node on the loadings in `--pcs-reference` (JSON from
`genomesh.analysis.gwas.pcs.reference_loadings`, computed on a public panel). Registered on
`submit_app` / `analysis_app` of `genomesh.cli.analysis_commands`, which imports this module.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
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
    follow,
    parse_params,
    submit_analysis,
    submit_app,
    write_plots,
)
from genomesh.cli.query_commands import (
    HubOption,
    JsonOption,
    PassportOption,
    console,
    hub_request,
    hub_url,
    passport_header,
)
from genomesh.core.errors import ConflictError, InvalidInputError

TraitOption = Annotated[
    str,
    typer.Option("--trait", help="trait column (e.g. LOINC:39156-5), or an HPO term with --binary"),
]
CovariatesOption = Annotated[
    str,
    typer.Option("--covariates", help="comma-separated: sex, age, pcs, or measured columns"),
]
BinaryOption = Annotated[
    bool,
    typer.Option("--binary", help="binary trait: logistic model (score test, Wald for top hits)"),
]
NPcsOption = Annotated[int, typer.Option("--n-pcs", help="PCs added when `pcs` is a covariate")]
ReferenceOption = Annotated[
    Path | None,
    typer.Option("--pcs-reference", help="JSON PC loadings of a public reference panel"),
]


def gwas_params(
    trait: str,
    covariates: str,
    *,
    mode: str,
    binary: bool,
    n_pcs: int,
    pcs_reference: Path | None,
    extra: list[str] | None,
) -> dict[str, Any]:
    """The `gwas` params from the command-line options (validated again by the hub)."""
    names = [c.strip() for c in covariates.split(",") if c.strip()]
    params: dict[str, Any] = {
        **parse_params(extra),
        "trait": trait,
        "mode": mode,
        "model": "logistic" if binary else "linear",
        "covariates": [c for c in names if c.lower() != "pcs"],
    }
    if any(c.lower() == "pcs" for c in names):
        if pcs_reference is None:
            raise InvalidInputError(
                "`pcs` as a covariate needs --pcs-reference FILE: the PC loadings every node "
                "projects its people on (so PCs mean the same at every node)",
                field="--pcs-reference",
            )
        try:
            params["pcs_reference"] = json.loads(pcs_reference.read_text())
        except (OSError, ValueError) as exc:
            raise InvalidInputError(
                f"cannot read the PC reference {pcs_reference}: {exc}", field="--pcs-reference"
            ) from exc
        params["n_pcs"] = n_pcs
    return params


@submit_app.command("gwas")
def submit_gwas(
    trait: TraitOption,
    dataset: DatasetOption,
    covariates: CovariatesOption = "sex,age",
    mode: Annotated[str, typer.Option("--mode", help="pooled, secure or meta")] = "pooled",
    binary: BinaryOption = False,
    n_pcs: NPcsOption = 4,
    pcs_reference: ReferenceOption = None,
    param: ParamOption = None,
    wait: WaitOption = False,
    hub: HubOption = None,
    passport: PassportOption = None,
    as_json: JsonOption = False,
) -> None:
    """Genome-wide association of one trait across the datasets (see docs/gwas.md)."""
    params = gwas_params(
        trait, covariates, mode=mode, binary=binary, n_pcs=n_pcs,
        pcs_reference=pcs_reference, extra=param,
    )  # fmt: skip
    submit_analysis("gwas", params, dataset, hub=hub, passport=passport, wait=wait, as_json=as_json)


def _gwas_result(task_id: str, *, hub: str | None, passport: str | None) -> dict[str, Any]:
    body = hub_request(
        "GET", f"{hub_url(hub)}/analysis/tasks/{task_id}/result", headers=passport_header(passport)
    )
    if body.get("analysis", "gwas") != "gwas" and "columns" not in body:
        raise InvalidInputError(f"analysis {task_id} is not a GWAS", field="id")
    if not isinstance(body.get("rows"), list) and not isinstance(body.get("table"), dict):
        raise InvalidInputError(f"analysis {task_id} has no GWAS rows", field="id")
    return body


@analysis_app.command("plot")
def plot(
    task_id: Annotated[str, typer.Argument(help="the id of a finished GWAS")],
    manhattan: ManhattanOption = None,
    qq: QQOption = None,
    hub: HubOption = None,
    passport: PassportOption = None,
) -> None:
    """Manhattan and QQ plots of a GWAS result, as PNG files."""
    from genomesh.analysis.results import result_rows

    check_plot_targets(manhattan, qq)
    body = _gwas_result(task_id, hub=hub, passport=passport)
    title = f"{body.get('trait', '')} ({body.get('mode', '')}, {body.get('model', '')})"
    rows = result_rows(body)  # once for both plots (a GWAS has a row per variant)
    write_plots(rows, manhattan=manhattan, qq=qq, manhattan_title=title, qq_title=title)


def _fmt(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.4f}"


@analysis_app.command("compare")
def compare(
    trait: TraitOption,
    dataset: DatasetOption,
    covariates: CovariatesOption = "sex,age",
    binary: BinaryOption = False,
    n_pcs: NPcsOption = 4,
    pcs_reference: ReferenceOption = None,
    threshold: Annotated[
        float, typer.Option("--threshold", help="P below which a variant is a hit")
    ] = 5e-8,
    param: ParamOption = None,
    hub: HubOption = None,
    passport: PassportOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run meta and pooled on the same inputs; print how they differ.

    The report: correlation of betas and of -log10 P over the shared variants, and the loci
    found by one mode only (the All of Us + UK Biobank comparison)."""
    from genomesh.analysis.gwas.compare import compare_modes
    from genomesh.analysis.results import result_rows

    rows: dict[str, list[dict[str, Any]]] = {}
    ids: dict[str, str] = {}
    for mode in ("meta", "pooled"):
        params = gwas_params(
            trait, covariates, mode=mode, binary=binary, n_pcs=n_pcs,
            pcs_reference=pcs_reference, extra=param,
        )  # fmt: skip
        body = {"type": "gwas", "params": params, "datasets": dataset}
        task = hub_request(
            "POST", f"{hub_url(hub)}/analysis/tasks", json_body=body,
            headers=passport_header(passport),
        )  # fmt: skip
        ids[mode] = task["id"]
        if not as_json:
            console.print(f"submitted {mode} as analysis [bold]{task['id']}[/]")
    for mode, task_id in ids.items():
        task = follow(task_id, hub=hub, passport=passport, quiet=True)
        if task["state"] != "done":
            raise ConflictError(
                f"the {mode} run {task_id} ended {task['state']}: {task.get('reason')}"
            )
        rows[mode] = result_rows(_gwas_result(task_id, hub=hub, passport=passport))
    report = {"meta": ids["meta"], "pooled": ids["pooled"],
              **compare_modes(rows["meta"], rows["pooled"], threshold=threshold)}  # fmt: skip
    if as_json:
        console.print_json(data=json.loads(json.dumps(report, default=str).replace("NaN", "null")))
        return
    console.print(
        f"meta {report['meta']} vs pooled {report['pooled']}: {report['variants']} variants"
    )
    console.print(f"  correlation of betas:     {_fmt(report['beta_correlation'])}")
    console.print(f"  correlation of -log10 P:  {_fmt(report['log10p_correlation'])}")
    console.print(
        f"  loci with P < {threshold:g}: meta {report['loci_meta']}, pooled {report['loci_pooled']}"
    )
    for side in ("only_meta", "only_pooled"):
        label = "only by " + side.removeprefix("only_")
        if not report[side]:
            console.print(f"  found {label}: none")
        for locus in report[side]:
            console.print(
                f"  found {label}: {locus['CHROM']}:{locus['start']}-{locus['end']} "
                f"(lead {locus['lead']}, P = {locus['P']:.3g})"
            )


__all__ = ["compare", "gwas_params", "plot", "submit_gwas"]
