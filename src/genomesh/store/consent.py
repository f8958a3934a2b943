"""Read participants' consent (DUO codes with modifiers) from TSV or JSON, and validate it.

TSV (header required, `#` comments allowed): `individual_id  duo  diseases  countries  expires
institutions  projects  users  moratorium_until`. `duo` is a comma-separated list of DUO codes;
each modifier column applies only to the DUO codes that take it (diseases -> DS DUO:0000007,
countries -> GS DUO:0000022, expires -> TS DUO:0000025, institutions -> IS DUO:0000028,
projects -> PS DUO:0000027, users -> US DUO:0000026, moratorium_until -> MOR DUO:0000024).
JSON: `{"dataset": [DataUseTerm...], "individuals": {"ID": [DataUseTerm...]}}`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from genomesh.core.consent import DataUseTerm
from genomesh.core.errors import IngestError
from genomesh.store.consent_rules import CODE_OF, MODIFIER_OF, check_code, check_term

TSV_COLUMNS = (
    "individual_id", "duo", "diseases", "countries", "expires", "institutions", "projects",
    "users", "moratorium_until",
)  # fmt: skip


@dataclass
class ConsentFile:
    """Parsed consent: dataset-level terms (JSON only) and each listed person's terms."""

    dataset: list[DataUseTerm] | None = None
    individuals: dict[str, list[DataUseTerm]] = field(default_factory=dict)
    lines: dict[str, int | None] = field(default_factory=dict)  # where each person was named
    path: str = ""


def _list(cell: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in cell.split(",") if x.strip())


def _date(cell: str, *, where: dict[str, Any]) -> date | None:
    if not cell.strip():
        return None
    try:
        return date.fromisoformat(cell.strip())
    except ValueError:
        raise IngestError(f"{cell!r} is not an ISO date (YYYY-MM-DD)", **where) from None


def _term(code: str, modifiers: dict[str, Any], *, where: dict[str, Any]) -> DataUseTerm:
    key = MODIFIER_OF.get(code)
    values = {key: modifiers[key]} if key and modifiers.get(key) else {}
    try:
        return DataUseTerm(id=code, **values)
    except ValidationError as exc:
        raise IngestError(f"bad DUO code {code!r}: {exc.errors()[0]['msg']}", **where) from None


def _read_tsv(path: Path) -> ConsentFile:
    out = ConsentFile(path=str(path))
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [(n, ln) for n, ln in enumerate(fh, 1) if ln.strip() and not ln.startswith("#")]
    if not rows:
        raise IngestError("consent TSV is empty (a header row is required)", file=str(path))
    header_no, header_line = rows[0]
    header = next(csv.reader([header_line.rstrip("\r\n")], delimiter="\t"))
    for needed in ("individual_id", "duo"):
        if needed not in header:
            raise IngestError(
                f"missing column {needed!r}", file=str(path), line=header_no, field=needed
            )
    for column in header:
        if column not in TSV_COLUMNS:
            raise IngestError(
                f"unknown column {column!r}", file=str(path), line=header_no, field=column
            )
    for n, line in rows[1:]:
        cells = next(csv.reader([line.rstrip("\r\n")], delimiter="\t"))
        if len(cells) != len(header):
            raise IngestError(
                f"{len(cells)} tab-separated cells but the header has {len(header)} columns "
                f"({', '.join(header)}); leave a cell empty rather than out",
                file=str(path), line=n, field=header[min(len(cells), len(header) - 1)],
            )  # fmt: skip
        row = dict(zip(header, cells, strict=True))
        pid = row["individual_id"].strip()
        if not pid:
            raise IngestError("empty individual_id", file=str(path), line=n, field="individual_id")
        if pid in out.individuals:
            raise IngestError(
                f"individual {pid!r} listed twice", file=str(path), line=n, field="individual_id"
            )
        modifiers: dict[str, Any] = {
            k: _list(row.get(k, ""))
            for k in ("diseases", "countries", "institutions", "projects", "users")
        }
        for k in ("expires", "moratorium_until"):
            modifiers[k] = _date(row.get(k, ""), where={"file": str(path), "line": n, "field": k})
        where = {"file": str(path), "line": n, "field": "duo"}
        codes = _list(row["duo"])
        for column, code in CODE_OF.items():
            if modifiers.get(column) and code not in codes:
                raise IngestError(
                    f"{column} given but the row has no {code} (the code it applies to)",
                    file=str(path), line=n, field=column,
                )  # fmt: skip
        out.individuals[pid] = [_term(c, modifiers, where=where) for c in codes]
        out.lines[pid] = n
    return out


def _terms_from_json(items: Any, *, path: Path, field_path: str) -> list[DataUseTerm]:
    if not isinstance(items, list):
        raise IngestError("expected a list of data use terms", file=str(path), field=field_path)
    terms = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            item = {"id": item}
        try:
            terms.append(DataUseTerm.model_validate(item))
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(x) for x in err["loc"])
            raise IngestError(
                err["msg"], file=str(path), field=f"{field_path}[{i}].{loc}".rstrip(".")
            ) from None
    return terms


def _read_json(path: Path) -> ConsentFile:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise IngestError(f"invalid JSON: {exc.msg}", file=str(path), line=exc.lineno) from exc
    if not isinstance(data, dict) or not set(data) <= {"dataset", "individuals"}:
        raise IngestError(
            "expected an object with 'dataset' and/or 'individuals'",
            file=str(path),
            field="(top level)",
        )
    out = ConsentFile(path=str(path))
    if "dataset" in data:
        out.dataset = _terms_from_json(data["dataset"], path=path, field_path="dataset")
    people = data.get("individuals", {})
    if not isinstance(people, dict):
        raise IngestError(
            "'individuals' must map ids to term lists", file=str(path), field="individuals"
        )
    for pid, items in people.items():
        out.individuals[pid] = _terms_from_json(items, path=path, field_path=f"individuals.{pid}")
        out.lines[pid] = None
    return out


def read_consent(path: Path | str) -> ConsentFile:
    """Parse a consent TSV or JSON file (format chosen by content: JSON starts with `{`)."""
    path = Path(path)
    if not path.is_file():
        raise IngestError("consent file not found", file=str(path))
    with open(path, encoding="utf-8", errors="replace") as fh:
        head = fh.read(256).lstrip()
    return _read_json(path) if head.startswith("{") else _read_tsv(path)


def parse_duo_option(text: str) -> list[DataUseTerm]:
    """`DUO:0000042,DUO:0000019` (the CLI's --duo) as terms without modifiers.

    Only the code is checked here (a usable DUO code); `validate_terms` then refuses codes
    that need a modifier (DS, GS, TS ...), which --duo cannot carry: use the consent JSON's
    `dataset` list for those."""
    where = {"field": "--duo"}
    terms = [_term(code, {}, where=where) for code in _list(text)]
    for term in terms:
        check_code(term.id, file=None, line=None, field="--duo")
    return terms


def _column_of(attr: str) -> str:
    """A TSV row's column for a term attribute (the code itself is the `duo` column)."""
    return "duo" if attr == "id" else attr


def _same_field(field: str, attr: str) -> str:
    return field


def _list_item_field(item: str, attr: str) -> str:
    return f"{item}.{attr}"


def validate_terms(
    terms: list[DataUseTerm],
    *,
    file: str | None,
    line: int | None,
    field: str,
    columns: bool = False,
) -> None:
    """Every term must be usable (consent_rules.check_term). Errors name `field`; with
    `columns` (a TSV row) the attribute's column instead (`duo`, `countries` ...); for
    a JSON list `field[i].attribute`."""
    for i, term in enumerate(terms):
        field_of: Callable[[str], str]
        if columns:
            field_of = _column_of
        elif field.startswith("--"):
            field_of = partial(_same_field, field)
        else:
            field_of = partial(_list_item_field, f"{field}[{i}]")
        try:
            check_term(term, file=file, line=line, field_of=field_of)
        except IngestError as exc:
            if not field.startswith("--") or term.id not in MODIFIER_OF:
                raise
            raise IngestError(
                f"{exc.message}; --duo carries codes only: give this term with its "
                "modifier in a consent JSON's `dataset` list",
                file=exc.file, line=exc.line, field=exc.field,
            ) from None  # fmt: skip


def validate_consent(consent: ConsentFile, *, known_ids: set[str]) -> None:
    """Every listed person must be a known individual; every code a DUO term."""
    for pid, terms in consent.individuals.items():
        line = consent.lines.get(pid)
        field_name = "individual_id" if line is not None else f"individuals.{pid}"
        if pid not in known_ids:
            raise IngestError(
                f"consent for unknown individual {pid!r}",
                file=consent.path,
                line=line,
                field=field_name,
            )
        validate_terms(
            terms, file=consent.path, line=line, field=field_name, columns=line is not None
        )
    if consent.dataset:
        validate_terms(consent.dataset, file=consent.path, line=None, field="dataset")


__all__ = [
    "MODIFIER_OF",
    "TSV_COLUMNS",
    "ConsentFile",
    "parse_duo_option",
    "read_consent",
    "validate_consent",
    "validate_terms",
]
