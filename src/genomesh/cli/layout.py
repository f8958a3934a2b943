"""Tables that read at any terminal width: a table where it fits, stacked key-value blocks
where it does not.

Rich squeezes a table that is too wide by folding cells mid-word (`CINECA_s│ynthetic`) or
cutting them (`answe…`). An id, a dataset name or a citation cut that way is wrong, not just
ugly: it can no longer be copied into the next command. So before drawing a table we measure
it: every cell of a `keep` column must fit whole, every other cell must fit its longest word.
If that fits the console, the table is drawn (text wraps only between words); otherwise each
row is printed as a block of `column: value` lines, which fits any width.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

Cell = str | Text


def _text(cell: Any) -> Text:
    """Cells are printed literally: node answers and user text may contain Rich markup."""
    if isinstance(cell, Text):
        return cell
    return Text("–" if cell is None else str(cell))


def _need(header: str, cells: Iterable[Text], *, whole: bool) -> int:
    """The narrowest width a column can take without cutting anything."""
    widths = [max((len(w) for w in header.split()), default=0)]
    for cell in cells:
        for line in cell.plain.splitlines() or [""]:
            widths.append(len(line) if whole else max((len(w) for w in line.split()), default=0))
    return max(widths)


def print_block(console: Console, pairs: Iterable[tuple[str, Any]]) -> None:
    """`key  value` lines, values wrapped between words under themselves (hanging indent)."""
    block = Table.grid(padding=(0, 2))
    block.add_column(no_wrap=True, style="dim")
    block.add_column(overflow="fold")  # folds only a word wider than the whole line
    for name, cell in pairs:
        text = _text(cell)
        if text.plain:
            block.add_row(Text(f"  {name}"), text)
    console.print(block)


def print_rows(
    console: Console,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | Text | None = None,
    keep: Iterable[str] = (),
) -> bool:
    """Print `rows` under `columns`; returns True if drawn as a table, False if stacked.

    `keep` names the columns whose cells must never wrap (ids, names, numbers).
    """
    kept = set(keep)
    body = [[_text(c) for c in row] for row in rows]
    needs = [
        _need(name, (row[i] for row in body), whole=name in kept) for i, name in enumerate(columns)
    ]
    if sum(needs) + 3 * len(columns) + 1 <= console.width:
        table = Table(title=title, title_justify="left")
        for name in columns:
            table.add_column(name, no_wrap=name in kept, overflow="fold")
        for row in body:
            table.add_row(*row)
        console.print(table)
        return True
    if title is not None:
        console.print(title if isinstance(title, Text) else Text(title, style="bold"))
    for n, row in enumerate(body):
        if n:
            console.print()
        print_block(console, zip(columns, row, strict=True))
    if not body:
        console.print(Text("  (none)", style="dim"))
    return False


__all__ = ["print_block", "print_rows"]


class LiteralTable(Table):
    """A Table whose plain-string cells are printed literally: node answers, catalogue
    entries and other people's text may contain Rich markup (`[/x]` would crash the
    command, `[white on white]` could hide a row). Pass `Text` for styled cells."""

    def add_row(self, *renderables: Any, **options: Any) -> None:
        super().add_row(*(Text(r) if isinstance(r, str) else r for r in renderables), **options)
