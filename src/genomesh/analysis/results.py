"""Analysis results as tables: row dicts (`rows`) or columns (`table`: column -> list).

A large result (a GWAS has one row per variant: 125,000 rows at the issue's size) is built,
stored, sent and parsed as columns: one JSON list per column instead of one object per row
costs a fraction of the time and bytes. Readers that want row dicts get them from
`result_rows`, whichever form the result has; `table_tsv` writes the columns as TSV without
going through rows.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any


def result_rows(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The result's rows as dicts (from `rows`, or built from `table` in `columns` order)."""
    rows = result.get("rows")
    if isinstance(rows, list):
        return rows
    table = result.get("table")
    if not isinstance(table, Mapping) or not table:
        return []
    names = table_columns(result)
    columns = [table[c] for c in names]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def table_columns(result: Mapping[str, Any]) -> list[str]:
    """The columns of a `table` result: the declared `columns` first, then any others."""
    table = result.get("table") or {}
    declared = [c for c in result.get("columns") or [] if c in table]
    return declared + [c for c in table if c not in declared]


def row_count(result: Mapping[str, Any]) -> int:
    if isinstance(result.get("rows"), list):
        return len(result["rows"])
    table = result.get("table") or {}
    return len(next(iter(table.values()))) if table else 0


def _cell(value: Any) -> str:
    return "NA" if value is None else str(value)


def table_tsv(
    table: Mapping[str, Sequence[Any]], columns: Sequence[str], *, hash_header: bool = True
) -> str:
    """Columns as TSV, column by column: NA for None, values at full precision (str);
    plink2's `#` before the first header when `hash_header`."""
    names = [c for c in columns if c in table] + [c for c in table if c not in columns]
    cells = [list(map(_cell, table[c])) for c in names]
    out = io.StringIO()
    out.write("\t".join(f"#{c}" if hash_header and i == 0 else c for i, c in enumerate(names)))
    out.write("\n")
    if cells and cells[0]:
        out.write("\n".join(map("\t".join, zip(*cells, strict=True))))
        out.write("\n")
    return out.getvalue()


__all__ = ["result_rows", "row_count", "table_columns", "table_tsv"]
