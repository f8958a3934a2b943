"""Reading a password for `genomesh dac register|login|passwd|create-admin`.

In order: the option (`--password`, or `$GENOMESH_DAC_PASSWORD` through it); on a terminal,
a hidden prompt (the rules shown first, a new password typed twice and checked before it is
sent); otherwise one line of standard input (`echo "$PW" | genomesh dac login rita`).
Never Python's GetPassWarning, never a silent exit when there is no terminal.
"""

from __future__ import annotations

import getpass
import sys

from rich.console import Console
from rich.markup import escape

from genomesh.core.errors import InvalidInputError

err = Console(stderr=True, emoji=False, highlight=False)


def password_rules() -> str:
    """The hub's password rules, in words (genomesh.hub.dac.accounts enforces them)."""
    from genomesh.hub.dac.accounts import MIN_PASSWORD_LENGTH

    return (
        f"password rules: at least {MIN_PASSWORD_LENGTH} characters, at least 5 different "
        "characters, not a common or default password, not containing your username"
    )


def _check(password: str, username: str | None) -> None:
    from genomesh.hub.dac.accounts import check_password_strength

    check_password_strength(password, username=username)


def _piped() -> str:
    try:
        line = sys.stdin.readline()
    except (OSError, ValueError):  # no standard input at all (closed, or captured in tests)
        line = ""
    return line.rstrip("\r\n")


def read_password(
    given: str | None,
    *,
    option: str = "--password",
    env: str = "GENOMESH_DAC_PASSWORD",
    prompt: str = "password",
    new: bool = False,
    username: str | None = None,
) -> str:
    """The password from `given`, a terminal prompt, or piped standard input.

    `new`: a password being set - the rules are shown first and checked here (on a
    terminal the prompt asks again until it is acceptable and typed the same twice)."""
    if given:
        if new:
            _check(given, username)
        return given
    interactive = sys.stdin is not None and sys.stdin.isatty()
    if interactive:
        if new:
            err.print(password_rules())
        while True:
            password = getpass.getpass(f"{prompt}: ")
            if not new:
                return password
            try:
                _check(password, username)
            except InvalidInputError as exc:
                err.print(f"[yellow]{escape(exc.message)}[/]; try again")
                continue
            if getpass.getpass(f"{prompt} (again): ") != password:
                err.print("[yellow]the two passwords differ[/]; try again")
                continue
            return password
    password = _piped()
    if not password:
        raise InvalidInputError(
            f"no {prompt} given and no terminal to ask on: pass {option} (or set ${env}), or "
            "pipe it on standard input" + (f"; {password_rules()}" if new else ""),
            field=option,
        )
    if new:
        _check(password, username)
    return password


__all__ = ["password_rules", "read_password"]
