"""Every `genomesh ...` command line quoted in README.md and docs/*.md names a command and
options that exist (issue 10: the operator guide named `genomesh participant withdraw`).

Each line is parsed by the CLI's own click parser - nothing is run - and the command's
`--help` is printed, so an unknown command or option fails here with the file and line.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from genomesh.cli.main import build_command, main

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_INLINE = re.compile(r"`(genomesh [^`]+)`")
_STOP = {"&&", "||", "|", ";", ">", ">>", "2>", "<", "&", "..."}


def _fenced_lines(text: str) -> list[tuple[int, str]]:
    """(line number, command) for `genomesh` lines in fenced blocks, continuations joined."""
    out: list[tuple[int, str]] = []
    fenced = False
    pending: tuple[int, str] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.lstrip().startswith("```"):
            fenced = not fenced
            pending = None
            continue
        if not fenced:
            continue
        line = raw.strip()
        if pending is not None:
            start, body = pending
            body += " " + line.rstrip("\\").strip()
            pending = (start, body) if line.endswith("\\") else None
            if pending is None:
                out.append((start, body))
            continue
        line = re.sub(r"^\$\s+", "", line)
        for match in re.finditer(r"(?:^|&&\s*|;\s*)(genomesh\s.*)", line):
            found = match.group(1)
            if found.endswith("\\"):
                pending = (number, found.rstrip("\\").strip())
            else:
                out.append((number, found))
            break
    return out


def _inline_lines(text: str) -> list[tuple[int, str]]:
    out = []
    for number, raw in enumerate(text.splitlines(), start=1):
        out += [(number, m) for m in _INLINE.findall(raw)]
    return out


def _argv(command: str) -> list[str]:
    """The words after `genomesh`, up to the first shell operator or comment."""
    command = re.sub(r"\s#.*$", "", command)  # a trailing comment
    try:
        words = shlex.split(command, posix=True)
    except ValueError:
        words = command.split()
    argv: list[str] = []
    for word in words[1:]:
        if word in _STOP or word.startswith((">", "<", "2>")) or word.startswith("#"):
            break
        if word == "genomesh":  # `... && genomesh dac login` is its own line below
            break
        word = word.strip("[]")  # `[--workers N]`: an optional part, still a real option
        if word and not word.startswith("|"):
            argv.append(word.split("|")[0] if word.startswith("--") else word)
    return argv


def _quoted() -> list[Any]:
    cases = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        seen: set[str] = set()
        for number, command in _fenced_lines(text) + _inline_lines(text):
            for part in re.split(r"\s&&\s", command):
                part = part.strip()
                if not part.startswith("genomesh ") or part in seen:
                    continue
                seen.add(part)
                where = f"{path.relative_to(ROOT)}:{number}"
                cases.append(pytest.param(part, id=f"{where} {part[:60]}"))
    return cases


QUOTED = _quoted()
ROOT_COMMAND = build_command()


def test_docs__command_lines_are_found() -> None:
    assert len(QUOTED) > 40  # the extraction works (README tour, guides)


@pytest.mark.parametrize("command", QUOTED)
def test_docs__quoted_command_line_exists(command: str, capsys) -> None:
    import click as _  # noqa: F401  (the CLI's own parser, through its command objects)

    argv = _argv(command)
    group: Any = ROOT_COMMAND
    ctx = group.make_context("genomesh", ["--help"], resilient_parsing=True)
    path: list[str] = []
    while hasattr(group, "commands"):
        if not argv or argv[0].startswith("-"):
            break  # `genomesh node` or `genomesh --version`: the group itself
        name = argv.pop(0)
        assert name in group.commands, f"no command `genomesh {' '.join([*path, name])}`"
        path.append(name)
        group = group.commands[name]
    # the command's own parser: an unknown option is an error, nothing is executed
    sub = group.make_context(" ".join(["genomesh", *path]), [], parent=ctx, resilient_parsing=True)
    parser = group.make_parser(sub)
    options = {o for p in group.params for o in (*p.opts, *p.secondary_opts)}
    for word in argv:
        if word.startswith("--"):
            name = word.split("=", 1)[0]
            assert name in options, f"`genomesh {' '.join(path)}` has no option {name}"
    parser.parse_args(list(argv))
    assert main([*path, "--help"]) == 0
    assert "Usage" in capsys.readouterr().out
