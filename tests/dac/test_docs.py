"""Every `genomesh dac ...` command line in docs/dac-guide.md parses against the real CLI."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import typer

from genomesh.cli import dac_commands, governance_commands  # noqa: F401  (register the commands)
from genomesh.cli.apps import dac_app

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "dac-guide.md"


def command_lines() -> list[str]:
    lines, pending = [], ""
    in_block = False
    for raw in GUIDE.read_text().splitlines():
        if raw.startswith("```"):
            in_block = not in_block
            continue
        if not in_block:
            continue
        line = pending + raw.strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        if line.startswith("genomesh dac "):
            lines.append(line.split("#", 1)[0].strip())
    return lines


def test_guide__has_command_examples() -> None:
    assert len(command_lines()) >= 15


@pytest.mark.parametrize("line", command_lines())
def test_guide__command_parses(line: str) -> None:
    group = typer.main.get_command(dac_app)
    args = shlex.split(line)[2:]
    command = group.get_command(group.context_class(group), args[0])  # type: ignore[attr-defined]
    assert command is not None, f"no command {args[0]!r}"
    command.make_context(args[0], args[1:])  # raises on an unknown option or missing argument
