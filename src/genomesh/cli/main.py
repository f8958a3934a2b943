"""`genomesh` entry point: assembles the command groups and turns errors into exit codes.

Each command group lives in its own module and registers its commands on the shared
Typer apps defined in `genomesh.cli.apps`; importing the modules below is what wires them.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape

from genomesh.cli.apps import app
from genomesh.core.errors import GenomeshError

# Command modules; each registers commands on the apps in genomesh.cli.apps when imported.
COMMAND_MODULES = (
    "genomesh.cli.node_commands",
    "genomesh.cli.simulate_commands",
    "genomesh.cli.audit_commands",
    "genomesh.cli.serve_commands",
    "genomesh.cli.hub_commands",
    "genomesh.cli.query_commands",
    "genomesh.cli.dac_commands",
    "genomesh.cli.demo_commands",
    "genomesh.cli.participant_commands",
    "genomesh.cli.compelled_commands",
    "genomesh.cli.match_commands",
    "genomesh.cli.analysis_commands",
    "genomesh.cli.join_commands",
    "genomesh.cli.governance_commands",  # data-use register, findings, communities
    "genomesh.cli.findings_commands",  # the custodian's findings queue
)


def _load_commands() -> None:
    for name in COMMAND_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real missing dependency, not a module not yet written
                raise


def _quiet_flags(command: Any) -> None:
    """No `[default: no-allow-unmatched-samples]` under every on/off flag: a flag's default
    is off unless its help says otherwise, and the text only pushed the help out of 80 columns."""
    for param in getattr(command, "params", []):
        if getattr(param, "is_bool_flag", False):
            param.show_default = False
    for sub in (getattr(command, "commands", None) or {}).values():
        _quiet_flags(sub)


def build_command() -> Any:
    """The click command tree of `genomesh` (all command groups loaded)."""
    import typer.main

    _load_commands()
    command = typer.main.get_command(app)
    _quiet_flags(command)
    return command


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; a GenomeshError becomes a one-line message and its exit code."""
    try:
        build_command().main(args=argv, prog_name="genomesh", standalone_mode=False)
    except GenomeshError as exc:
        # soft_wrap: never break the "file:line, field" location across lines; escape: messages
        # quote user input, which may contain rich markup brackets.
        Console(stderr=True, soft_wrap=True, emoji=False).print(
            f"[bold red]error:[/] {escape(exc.describe())}", highlight=False
        )
        return exc.exit_code
    except SystemExit as exc:  # typer/click exits for --help and usage errors
        return int(exc.code or 0)
    except Exception as exc:
        # Usage errors from click (or the copy of click that typer vendors): same duck type.
        show, exit_code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(exit_code, int):
            show()
            return exit_code
        if type(exc).__name__ == "Abort":
            return 130
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
