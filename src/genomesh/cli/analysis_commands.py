"""`genomesh analysis submit|status|result|cancel|list|types`: data visiting through the hub.

    genomesh analysis submit cohort-summary --dataset nl-a/cohort1 --dataset be-b/cohort2
    genomesh analysis submit allele-frequency --region 22:20000000-20100000 --dataset ... --wait
    genomesh analysis status ID --wait          # a progress bar until the task ends
    genomesh analysis result ID --tsv af.tsv    # rows as TSV (JSON with --json)
    genomesh analysis rerun ID --wait           # again, without withdrawn participants
    genomesh analysis served NODE_DIR           # at a node: analyses served per dataset

The hub URL and passport are found as for `genomesh query` (`--hub`/$GENOMESH_HUB_URL,
`--passport`/$GENOMESH_PASSPORT): the passport must carry a ControlledAccessGrants visa for
every dataset and an approved research purpose.

Each analysis type has its own `submit` subcommand with typed options; every subcommand also
takes `--param KEY=VALUE` (VALUE parsed as JSON when it parses, else a string) for anything
else. Another type adds its subcommand on `submit_app` and calls `submit_analysis(...)`:

    @submit_app.command("gwas")
    def submit_gwas(trait: str = typer.Option(...), dataset: DatasetOption = ..., ...):
        submit_analysis("gwas", {"trait": trait, **parse_params(param)}, dataset, ...)
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from genomesh.cli.apps import app
from genomesh.cli.layout import LiteralTable
from genomesh.cli.query_commands import (
    HubOption,
    JsonOption,
    PassportOption,
    console,
    hub_request,
    hub_url,
    passport_header,
)
from genomesh.core.errors import InvalidInputError, UpstreamError

analysis_app = typer.Typer(
    help="Run registered analyses where the data lives (data visiting).", no_args_is_help=True
)
submit_app = typer.Typer(
    help="Submit an analysis of one registered type to the hub.", no_args_is_help=True
)
analysis_app.add_typer(submit_app, name="submit")
app.add_typer(analysis_app, name="analysis")

FINAL = ("done", "failed", "refused", "cancelled")
STATE_COLOURS = {"done": "green", "running": "cyan", "queued": "cyan", "failed": "red",
                 "refused": "yellow", "cancelled": "magenta"}  # fmt: skip

DatasetOption = Annotated[
    list[str],
    typer.Option("--dataset", "-d", help="NODE/DATASET to analyse (repeatable)"),
]
ParamOption = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="KEY=VALUE parameter (JSON value or string; repeatable)"),
]
WaitOption = Annotated[
    bool, typer.Option("--wait", help="wait, with a progress bar, until it ends")
]


def parse_params(items: list[str] | None) -> dict[str, Any]:
    """`["k=v", ...]` -> params; a value that parses as JSON is taken as JSON."""
    params: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"parameter {item!r} is not KEY=VALUE", field="--param")
        try:
            params[key.strip()] = json.loads(value)
        except ValueError:
            params[key.strip()] = value
    return params


def submit_analysis(
    kind: str,
    params: dict[str, Any],
    datasets: list[str],
    *,
    hub: str | None,
    passport: str | None,
    wait: bool = False,
    as_json: bool = False,
) -> dict[str, Any]:
    """POST the analysis to the hub, print its id (and follow it with `wait`)."""
    body = {"type": kind, "params": params, "datasets": datasets}
    task = hub_request(
        "POST", f"{hub_url(hub)}/analysis/tasks", json_body=body, headers=passport_header(passport)
    )
    if not as_json:
        console.print(f"submitted [bold]{escape(kind)}[/] as analysis [bold]{task['id']}[/]")
    if wait:
        task = follow(task["id"], hub=hub, passport=passport, quiet=as_json)
    if as_json:
        console.print_json(data=task)
    return task


FOLLOW_WAIT = 10  # seconds a status request waits at the hub for the next round


def follow(
    task_id: str, *, hub: str | None, passport: str | None, quiet: bool = False
) -> dict[str, Any]:
    """Poll the task until it ends, showing rounds done / expected as a progress bar."""
    url, headers = f"{hub_url(hub)}/analysis/tasks/{task_id}", passport_header(passport)
    task = hub_request("GET", url, headers=headers)
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("rounds"), TimeElapsedColumn(), console=console, disable=quiet,
        transient=False,
    ) as progress:  # fmt: skip
        bar = progress.add_task(f"{task['analysis']} {task_id}", total=1)
        while True:
            done, expected = task["progress"]["rounds_done"], task["progress"]["rounds_expected"]
            progress.update(
                bar, completed=expected if task["state"] == "done" else done, total=expected
            )
            if task["state"] in FINAL:
                break
            before = (task["state"], done)  # a long poll: the hub answers when a round is done
            task = hub_request("GET", url, params={"wait": FOLLOW_WAIT}, headers=headers)
            if (task["state"], task["progress"]["rounds_done"]) == before:
                time.sleep(0.5)  # no news (a hub that does not wait answers at once)
    if not quiet:
        print_status(task)
    return task


def print_stale(task: dict[str, Any]) -> None:
    """Say when withdrawals made the result stale, and what a re-run changed."""
    stale = task.get("stale")
    if stale:
        console.print(
            f"  [bold red]STALE[/]: {escape(str(stale['reason']))} (since {stale['since'][:19]}Z; "
            f"datasets {escape(', '.join(stale['datasets']))})"
        )
        if stale.get("reruns"):
            console.print(f"  re-run as: {', '.join(stale['reruns'])}")
            if stale.get("rerun_change"):
                console.print(f"  what the re-run changed: {escape(stale['rerun_change'])}")
        else:
            console.print(f"  re-run without them: genomesh analysis rerun {task['id']}")
    rerun = task.get("rerun_of")
    if rerun:
        summary = rerun.get("summary") or "(the change is shown once both runs are done)"
        console.print(f"  re-run of {rerun['task']}: {escape(summary)}")


def print_status(task: dict[str, Any]) -> None:
    colour = STATE_COLOURS.get(task["state"], "white")
    progress = task["progress"]
    console.print(
        f"analysis [bold]{task['id']}[/] ({escape(task['analysis'])}): [{colour}]{task['state']}[/]"
        f"  rounds {progress['rounds_done']}/{progress['rounds_expected']}"
    )
    if task.get("reason"):
        console.print(f"  reason: {escape(str(task['reason']))}")
    print_stale(task)
    table = LiteralTable(title="nodes", title_justify="left")
    for column in ("node", "status", "round", "reason"):
        table.add_column(column, overflow="fold")
    for node, status in sorted(task.get("nodes", {}).items()):
        table.add_row(
            node,
            str(status.get("status")),
            "–" if status.get("round") is None else str(status["round"]),
            str(status.get("reason") or status.get("refused") or ""),
        )
    console.print(table)


# -------------------------------------------------------------------------- submit per type
@submit_app.command("cohort-summary")
def submit_cohort_summary(
    dataset: DatasetOption,
    age_bands: Annotated[
        str | None, typer.Option("--age-bands", help="band edges in years, e.g. 18,40,65")
    ] = None,
    phenotype: Annotated[
        list[str] | None, typer.Option("--phenotype", help="count only these terms (repeatable)")
    ] = None,
    param: ParamOption = None,
    wait: WaitOption = False,
    hub: HubOption = None,
    passport: PassportOption = None,
    as_json: JsonOption = False,
) -> None:
    """Counts by sex, population, age band and phenotype term (small counts suppressed)."""
    params = parse_params(param)
    if age_bands:
        try:
            params["age_bands"] = [int(x) for x in age_bands.split(",") if x.strip()]
        except ValueError as exc:
            raise InvalidInputError(
                f"--age-bands {age_bands!r} is not whole years separated by commas",
                field="--age-bands",
            ) from exc
    if phenotype:
        params["phenotypes"] = list(phenotype)
    submit_analysis(
        "cohort-summary", params, dataset, hub=hub, passport=passport, wait=wait, as_json=as_json
    )


@submit_app.command("allele-frequency")
def submit_allele_frequency(
    dataset: DatasetOption,
    region: Annotated[
        str | None, typer.Option("--region", help="CHROM:START-END, 1-based inclusive")
    ] = None,
    variant: Annotated[
        list[str] | None, typer.Option("--variant", help="CHROM-POS-REF-ALT (repeatable)")
    ] = None,
    param: ParamOption = None,
    wait: WaitOption = False,
    hub: HubOption = None,
    passport: PassportOption = None,
    as_json: JsonOption = False,
) -> None:
    """AC/AN/AF per variant by population and sex across the network (gnomAD-style)."""
    params = parse_params(param)
    if region:
        params["region"] = region
    if variant:
        params["variants"] = list(variant)
    submit_analysis(
        "allele-frequency", params, dataset, hub=hub, passport=passport, wait=wait, as_json=as_json
    )


@submit_app.command("any")
def submit_any(
    kind: Annotated[str, typer.Argument(help="a registered analysis type")],
    dataset: DatasetOption,
    param: ParamOption = None,
    wait: WaitOption = False,
    hub: HubOption = None,
    passport: PassportOption = None,
    as_json: JsonOption = False,
) -> None:
    """Any registered type, with its parameters given as --param KEY=VALUE."""
    submit_analysis(
        kind, parse_params(param), dataset, hub=hub, passport=passport, wait=wait, as_json=as_json
    )


# -------------------------------------------------------------------------- follow-up
@analysis_app.command("status")
def status(
    task_id: Annotated[str, typer.Argument(help="the analysis id")],
    wait: WaitOption = False,
    hub: HubOption = None,
    passport: PassportOption = None,
    as_json: JsonOption = False,
) -> None:
    """State, progress and per-node status of an analysis."""
    if wait:
        task = follow(task_id, hub=hub, passport=passport, quiet=as_json)
    else:
        task = hub_request(
            "GET", f"{hub_url(hub)}/analysis/tasks/{task_id}", headers=passport_header(passport)
        )
        if not as_json:
            print_status(task)
    if as_json:
        console.print_json(data=task)


@analysis_app.command("result")
def result(
    task_id: Annotated[str, typer.Argument(help="the analysis id")],
    tsv: Annotated[
        Path | None, typer.Option("--tsv", help="write the rows to this TSV file")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="rows to print")] = 30,
    hub: HubOption = None,
    passport: PassportOption = None,
    as_json: JsonOption = False,
) -> None:
    """The result: a table of its rows (notes on suppression, attribution), TSV or JSON."""
    url, headers = f"{hub_url(hub)}/analysis/tasks/{task_id}/result", passport_header(passport)
    if tsv is not None:
        hub_request("GET", url, headers=headers)  # the error, if any, as a clear message
        try:
            response = httpx.get(url, params={"format": "tsv"}, headers=headers, timeout=60)
        except httpx.HTTPError as exc:
            raise UpstreamError(f"cannot reach the hub at {url}: {exc}") from exc
        tsv.write_text(response.text)
        console.print(
            f"wrote {max(0, response.text.count(chr(10)) - 1)} rows to {escape(str(tsv))}"
        )
        return
    body = hub_request("GET", url, headers=headers)
    if as_json:
        console.print_json(data=body)
        return
    from genomesh.analysis.results import result_rows  # when run: the CLI starts without NumPy

    rows = result_rows(body)
    if rows:
        table = LiteralTable(
            title=f"{body.get('analysis')} ({len(rows)} rows)", title_justify="left"
        )
        columns = list(rows[0])
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows[:limit]:
            table.add_row(*("–" if row.get(c) is None else str(row.get(c)) for c in columns))
        console.print(table)
        if len(rows) > limit:
            console.print(f"… {len(rows) - limit} more rows (--tsv FILE for all)")
    for note in body.get("notes") or []:
        console.print(f"note: {escape(str(note))}")
    print_stale({"id": task_id, **body})
    for item in body.get("attribution") or []:
        cite = f" — {item['citation']}" if item.get("citation") else ""
        console.print(f"data: {escape(item['node'])}/{escape(item['dataset'])}{escape(cite)}")


@analysis_app.command("rerun")
def rerun(
    task_id: Annotated[str, typer.Argument(help="the analysis id to run again")],
    wait: WaitOption = False,
    hub: HubOption = None,
    passport: PassportOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run an analysis again (same type, parameters, datasets) without withdrawn participants;
    with --wait, say how much the result changed."""
    task = hub_request(
        "POST", f"{hub_url(hub)}/analysis/tasks/{task_id}/rerun", headers=passport_header(passport)
    )
    if not as_json:
        console.print(f"re-running {task_id} as analysis [bold]{task['id']}[/]")
    if wait:
        task = follow(task["id"], hub=hub, passport=passport, quiet=as_json)
    if as_json:
        console.print_json(data=task)


@analysis_app.command("cancel")
def cancel(
    task_id: Annotated[str, typer.Argument(help="the analysis id")],
    hub: HubOption = None,
    passport: PassportOption = None,
) -> None:
    """Cancel a queued or running analysis."""
    task = hub_request(
        "POST", f"{hub_url(hub)}/analysis/tasks/{task_id}/cancel", headers=passport_header(passport)
    )
    console.print(f"analysis [bold]{task['id']}[/]: {task['state']}")


@analysis_app.command("list")
def list_analyses(
    hub: HubOption = None, passport: PassportOption = None, as_json: JsonOption = False
) -> None:
    """Your analyses at the hub."""
    tasks = hub_request("GET", f"{hub_url(hub)}/analysis/tasks", headers=passport_header(passport))
    if as_json:
        console.print_json(data=tasks)
        return
    table = LiteralTable(title="analyses", title_justify="left")
    for column in ("id", "type", "state", "rounds", "datasets", "created", "reason", "stale"):
        table.add_column(column, overflow="fold")
    for t in tasks:
        p = t["progress"]
        table.add_row(
            t["id"], t["analysis"], t["state"], f"{p['rounds_done']}/{p['rounds_expected']}",
            ", ".join(t["datasets"]), t["created"][:19], t.get("reason") or "",
            "STALE" if t.get("stale") else "",
        )  # fmt: skip
    console.print(table)


@analysis_app.command("served")
def served(
    node_dir: Annotated[Path, typer.Argument(help="the node folder (with genomesh.toml)")],
    as_json: JsonOption = False,
) -> None:
    """At a node: how many analyses each dataset served (from the node's audit log)."""
    from genomesh.audit.usage import usage_of
    from genomesh.core.settings import NodeSettings
    from genomesh.node.state import NodeState
    from genomesh.store import open_node

    settings = NodeSettings.load(node_dir)
    state = NodeState.open(settings)
    try:
        counts = usage_of(state).per_dataset()
    finally:
        state.close()
    rows = {
        d: counts.get(d, 0) for d in sorted(set(open_node(node_dir).dataset_ids()) | set(counts))
    }
    if as_json:
        console.print_json(data=rows)
        return
    table = LiteralTable(title="analyses served", title_justify="left")
    table.add_column("dataset")
    table.add_column("analyses", justify="right")
    for dataset, count in rows.items():
        table.add_row(dataset, str(count))
    console.print(table)


@analysis_app.command("types")
def types(hub: HubOption = None) -> None:
    """The analysis types the hub runs."""
    for item in hub_request("GET", f"{hub_url(hub)}/analysis/types"):
        console.print(f"[bold]{escape(item['type'])}[/]  {escape(item['description'])}")


ManhattanOption = Annotated[
    Path | None, typer.Option("--manhattan", help="write the Manhattan plot (PNG) here")
]
QQOption = Annotated[Path | None, typer.Option("--qq", help="write the QQ plot (PNG) here")]


def check_plot_targets(manhattan: Path | None, qq: Path | None) -> None:
    """Refuse a plot command that names no file (before asking the hub for anything)."""
    if manhattan is None and qq is None:
        raise InvalidInputError("name --manhattan FILE and/or --qq FILE", field="--manhattan")


def write_plots(
    rows: list[dict[str, Any]],
    *,
    manhattan: Path | None,
    qq: Path | None,
    manhattan_title: str,
    qq_title: str,
    **manhattan_options: Any,
) -> None:
    """The Manhattan and/or QQ PNG of result rows (CHROM, POS, P, ID), each file said."""
    from genomesh.analysis.gwas.plots import manhattan_png, qq_png

    if manhattan is not None:
        manhattan.write_bytes(manhattan_png(rows, title=manhattan_title, **manhattan_options))
        console.print(f"wrote {escape(str(manhattan))}")
    if qq is not None:
        qq.write_bytes(qq_png(rows, title=qq_title))
        console.print(f"wrote {escape(str(qq))}")


__all__ = [
    "ManhattanOption",
    "QQOption",
    "analysis_app",
    "check_plot_targets",
    "follow",
    "parse_params",
    "submit_analysis",
    "submit_app",
    "write_plots",
]

# the GWAS commands (submit gwas, plot, compare) and case search (submit case-search,
# case-plot) register themselves on the apps above
import genomesh.cli.case_drill  # noqa: E402
import genomesh.cli.case_search_commands  # noqa: E402
import genomesh.cli.gwas_commands  # noqa: E402, F401
