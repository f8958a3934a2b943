"""The Typer apps every command module registers on (one per command group)."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    name="genomesh",
    help="Share genomic data without moving it.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
node_app = typer.Typer(help="Run and manage a data custodian's node.", no_args_is_help=True)
hub_app = typer.Typer(help="Run and manage the hub.", no_args_is_help=True)
audit_app = typer.Typer(help="Inspect and verify a node's audit log.", no_args_is_help=True)
query_app = typer.Typer(help="Query the federation (Beacon v2).", no_args_is_help=True)
catalogue_app = typer.Typer(help="Search the hub's dataset catalogue.", no_args_is_help=True)
match_app = typer.Typer(
    help="Rare-disease matchmaking (Matchmaker Exchange): peers, enrolled patients, matches.",
    no_args_is_help=True,
)
dac_app = typer.Typer(
    help="Data access committee: accounts, applications, decisions.", no_args_is_help=True
)

app.add_typer(node_app, name="node")
app.add_typer(hub_app, name="hub")
app.add_typer(audit_app, name="audit")
app.add_typer(query_app, name="query")
app.add_typer(catalogue_app, name="catalogue")
app.add_typer(dac_app, name="dac")
app.add_typer(match_app, name="match")


def _print_version(value: bool) -> None:
    if value:
        import genomesh

        typer.echo(f"genomesh {genomesh.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """Share genomic data without moving it."""
