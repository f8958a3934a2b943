"""genomesh.cli.layout: a table where it fits at the console width, key-value blocks where it
does not; an id or a citation is never cut or folded mid-word."""

from __future__ import annotations

import io

from rich.console import Console

from genomesh.cli.layout import print_rows

LONG_ID = "CINECA_synthetic_cohort_EUROPE_UK1"
CITATION = (
    "Please cite: CINECA synthetic cohort EUROPE UK1, derived from the 1000 Genomes Project "
    "(Nature 526, 68-74, 2015), distributed under CC-BY 4.0 by the CINECA consortium, "
    "grant agreement 825775, with the acknowledgement text given in full here."
)


def _render(width: int, rows: list[list[str]], keep: list[str]) -> tuple[bool, str]:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, emoji=False)
    columns = ["node", "dataset", "country", "individuals", "citation"]
    as_table = print_rows(console, columns, rows, title="datasets", keep=keep)
    return as_table, buffer.getvalue()


def test_layout__too_wide_rows_stack_and_keep_ids_whole() -> None:
    rows = [["gb-biobank", LONG_ID, "GB", "2504", CITATION], ["nl-umc", "ds1", "NL", "7", ""]]
    as_table, out = _render(80, rows, ["node", "dataset", "country", "individuals"])
    assert not as_table
    assert all(len(line) <= 80 for line in out.splitlines())
    assert any(LONG_ID in line for line in out.splitlines())  # whole, on one line
    assert "".join(CITATION.split()) in "".join(out.split())  # all of it, nothing cut
    assert "…" not in out


def test_layout__rows_that_fit_are_a_table_that_wraps_only_between_words() -> None:
    rows = [["nl-umc", "ds1", "NL", "7", "Cite the NL cohort paper"]]
    as_table, out = _render(80, rows, ["node", "dataset", "country", "individuals"])
    assert as_table and "┃ node" in out
    as_table, out = _render(200, [["gb-biobank", LONG_ID, "GB", "2504", CITATION]], ["dataset"])
    assert as_table
    assert any(LONG_ID in line for line in out.splitlines())
    assert "".join(CITATION.split()) in "".join(out.replace("│", " ").split())


def test_layout__cells_are_literal_not_markup() -> None:
    _, out = _render(80, [["[red]x[/]", "[/oops]", "GB", "1", ":warning:"]], ["node"])
    assert "[red]x[/]" in out and "[/oops]" in out and ":warning:" in out
