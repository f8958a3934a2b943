"""Read individuals from Phenopackets v2, Beacon v2 BFF `individuals.json` or a TSV.

Every format becomes the same `Individual` records: sex, ethnicity, geographic origin, HPO
features (observed / excluded), diseases, measures (value + unit, age included), interventions,
each with its ontology code, plus a Beacon-v2-individual-shaped JSON `document`.
Phenopackets are parsed with the `phenopackets` package (protobuf json_format), so a bad
packet is refused with protobuf's own field-precise message.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from google.protobuf import json_format
from phenopackets import Phenopacket, Sex

from genomesh.core.errors import IngestError

IdFrom = Literal["subject", "phenopacket"]
SEX_TERMS = {
    "male": ("NCIT:C20197", "male"),
    "female": ("NCIT:C16576", "female"),
    "other": ("NCIT:C45908", "intersex"),
    "unknown": ("NCIT:C17998", "unknown"),
}
_SEX_ALIASES = {
    "m": "male", "male": "male", "male_sex": "male", "ncit:c20197": "male", "1": "male",
    "f": "female", "female": "female", "ncit:c16576": "female", "2": "female",
    "other_sex": "other", "other": "other", "ncit:c45908": "other",
    "unknown_sex": "unknown", "unknown": "unknown", "": "unknown", "u": "unknown",
    "ncit:c17998": "unknown", "0": "unknown",
}  # fmt: skip
AGE_ASSAY = ("LOINC:30525-0", "Age")
YEAR_UNIT = ("NCIT:C29848", "Year")
MAX_AGE_YEARS = 150  # older than anyone has lived: a typo (months, days) or a unit mix-up
_DURATION = re.compile(
    r"^P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?"
)


@dataclass
class Individual:
    """One person as the store keeps them (tables + Beacon v2 document)."""

    id: str
    sex: tuple[str, str] = SEX_TERMS["unknown"]
    ethnicity: tuple[str, str] | None = None
    origin: tuple[str, str] | None = None
    features: list[tuple[str, str, bool]] = field(default_factory=list)  # id, label, excluded
    diseases: list[tuple[str, str]] = field(default_factory=list)
    measures: list[tuple[str, str, float | None, str | None, str | None]] = field(
        default_factory=list
    )  # assay id, assay label, value, unit id, unit label
    interventions: list[tuple[str, str]] = field(default_factory=list)
    document: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)  # Beacon `info` (e.g. the subject id)
    term_notes: dict[str, str] = field(default_factory=dict)  # feature id -> note (unknown term)
    source: str = ""
    where: str = ""  # file (or JSON path) the record came from, for errors
    line: int | None = None

    def beacon_document(self) -> dict[str, Any]:
        """The Beacon v2 individual for this person (the source BFF record if there was one)."""
        if self.document:
            return self._with_notes(self.document)
        doc: dict[str, Any] = {"id": self.id, "sex": _term(*self.sex)}
        if self.ethnicity:
            doc["ethnicity"] = _term(*self.ethnicity)
        if self.origin:
            doc["geographicOrigin"] = _term(*self.origin)
        if self.features:
            doc["phenotypicFeatures"] = [
                {"featureType": _term(i, label), "excluded": excluded}
                for i, label, excluded in self.features
            ]
        if self.diseases:
            doc["diseases"] = [{"diseaseCode": _term(i, label)} for i, label in self.diseases]
        measures = []
        for assay, label, value, unit, unit_label in self.measures:
            if value is None:
                continue
            quantity: dict[str, Any] = {"value": value}
            quantity["unit"] = _term(unit or "NCIT:C25709", unit_label or unit or "unit")
            measures.append({"assayCode": _term(assay, label), "measurementValue": quantity})
        if measures:
            doc["measures"] = measures
        if self.interventions:
            doc["interventionsOrProcedures"] = [
                {"procedureCode": _term(i, label)} for i, label in self.interventions
            ]
        if self.info:
            doc["info"] = dict(self.info)
        return self._with_notes(doc)

    def _with_notes(self, doc: dict[str, Any]) -> dict[str, Any]:
        """`doc` with `notes` on each phenotypic feature kept despite an unknown term."""
        if not self.term_notes or not isinstance(doc.get("phenotypicFeatures"), list):
            return doc
        features = []
        for feature in doc["phenotypicFeatures"]:
            code = feature.get("featureType") if isinstance(feature, dict) else None
            note = self.term_notes.get(str(code.get("id"))) if isinstance(code, dict) else None
            features.append({**feature, "notes": note} if note else feature)
        return {**doc, "phenotypicFeatures": features}


def _term(term_id: str, label: str | None) -> dict[str, str]:
    return {"id": term_id, "label": label or term_id}


def sex_term(value: str, *, where: dict[str, Any]) -> tuple[str, str]:
    key = _SEX_ALIASES.get(value.strip().lower())
    if key is None:
        raise IngestError(
            f"unknown sex {value!r} (use male/female/other/unknown or an NCIT code)", **where
        )
    return SEX_TERMS[key]


def check_age(years: float, raw: str, *, where: dict[str, Any]) -> float:
    """`years` if it is a possible age (0 to MAX_AGE_YEARS), else an IngestError."""
    if not math.isfinite(years) or not 0 <= years <= MAX_AGE_YEARS:
        raise IngestError(f"{raw!r} is not a valid age (0 to {MAX_AGE_YEARS} years)", **where)
    return years


def age_in_years(duration: str) -> float | None:
    """Years in an ISO 8601 duration such as P45Y6M (or a plain number of years)."""
    text = duration.strip()
    try:
        return float(text)
    except ValueError:
        pass
    match = _DURATION.match(text)
    if not match or match.group(0) == "P":
        return None
    y, m, w, d = (float(g) if g else 0.0 for g in match.groups())
    return round(y + m / 12 + w * 7 / 365.25 + d / 365.25, 4)


# --- Phenopackets -----------------------------------------------------------------------------


def _from_phenopacket(
    data: dict[str, Any], *, where: str, id_from: IdFrom = "subject", line: int | None = None
) -> Individual:
    try:
        packet = json_format.ParseDict(data, Phenopacket(), ignore_unknown_fields=False)
    except json_format.ParseError as exc:
        raise IngestError(f"not a valid Phenopacket v2: {exc}", file=where, line=line) from exc
    subject = packet.subject
    if id_from == "phenopacket":
        pid = packet.id
        if not pid:
            raise IngestError(
                "phenopacket has no id (--id-from phenopacket)", file=where, line=line, field="id"
            )
    else:
        pid = subject.id or packet.id
        if not pid:
            raise IngestError(
                "phenopacket has no subject.id", file=where, line=line, field="subject.id"
            )
    sex_name = Sex.Name(subject.sex) if subject.sex else "UNKNOWN_SEX"
    person = Individual(id=pid, sex=SEX_TERMS[_SEX_ALIASES.get(sex_name.lower(), "unknown")])
    if id_from == "phenopacket" and subject.id:
        person.info = {"phenopacketId": packet.id, "subjectId": subject.id}
    person.source, person.where, person.line = "phenopacket", where, line
    if subject.HasField("time_at_last_encounter") and subject.time_at_last_encounter.HasField(
        "age"
    ):
        raw_age = subject.time_at_last_encounter.age.iso8601duration
        years = age_in_years(raw_age)
        if years is not None:
            check_age(
                years, raw_age,
                where={"file": where, "line": line, "field": "subject.timeAtLastEncounter"},
            )  # fmt: skip
            person.measures.append((*AGE_ASSAY, years, *YEAR_UNIT))
    for feature in packet.phenotypic_features:
        person.features.append((feature.type.id, feature.type.label, bool(feature.excluded)))
    seen: set[str] = set()
    for disease in packet.diseases:
        if not disease.excluded and disease.term.id not in seen:
            seen.add(disease.term.id)
            person.diseases.append((disease.term.id, disease.term.label))
    for interpretation in packet.interpretations:
        term = interpretation.diagnosis.disease
        if term.id and term.id not in seen:
            seen.add(term.id)
            person.diseases.append((term.id, term.label))
    for m in packet.measurements:
        value = unit = unit_label = None
        if m.HasField("value") and m.value.HasField("quantity"):
            value = m.value.quantity.value
            unit, unit_label = m.value.quantity.unit.id or None, m.value.quantity.unit.label or None
        person.measures.append((m.assay.id, m.assay.label, value, unit, unit_label))
    for action in packet.medical_actions:
        if action.HasField("procedure"):
            code = action.procedure.code
        elif action.HasField("treatment"):
            code = action.treatment.agent
        else:
            continue
        if code.id:
            person.interventions.append((code.id, code.label))
    return person


# --- Beacon v2 BFF ----------------------------------------------------------------------------


def _code(obj: Any, key: str, *, where: str, path: str) -> tuple[str, str]:
    value = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(value, dict) or not isinstance(value.get("id"), str):
        raise IngestError(
            f"expected an ontology term {{id, label}} at {key!r}", file=where, field=path
        )
    return value["id"], str(value.get("label") or value["id"])


def _from_bff(record: Any, *, where: str, index: int) -> Individual:
    path = f"[{index}]"
    if not isinstance(record, dict) or not isinstance(record.get("id"), str):
        raise IngestError("BFF individual needs a string 'id'", file=where, field=f"{path}.id")
    if "sex" not in record:
        raise IngestError("BFF individual needs 'sex'", file=where, field=f"{path}.sex")
    person = Individual(id=record["id"], document=record, source="bff", where=where)
    sid, slabel = _code(record, "sex", where=where, path=f"{path}.sex")
    person.sex = (sid, slabel)
    if "ethnicity" in record:
        person.ethnicity = _code(record, "ethnicity", where=where, path=f"{path}.ethnicity")
    if "geographicOrigin" in record:
        person.origin = _code(
            record, "geographicOrigin", where=where, path=f"{path}.geographicOrigin"
        )
    for j, f in enumerate(record.get("phenotypicFeatures") or []):
        fid, label = _code(f, "featureType", where=where, path=f"{path}.phenotypicFeatures[{j}]")
        person.features.append((fid, label, bool(f.get("excluded", False))))
    for j, d in enumerate(record.get("diseases") or []):
        person.diseases.append(_code(d, "diseaseCode", where=where, path=f"{path}.diseases[{j}]"))
    for j, m in enumerate(record.get("measures") or []):
        aid, alabel = _code(m, "assayCode", where=where, path=f"{path}.measures[{j}]")
        mv = m.get("measurementValue") or {}
        value = mv.get("value") if isinstance(mv, dict) else None
        unit = mv.get("unit") if isinstance(mv, dict) else None
        person.measures.append(
            (
                aid,
                alabel,
                float(value) if isinstance(value, int | float) else None,
                unit.get("id") if isinstance(unit, dict) else None,
                unit.get("label") if isinstance(unit, dict) else None,
            )
        )
    for j, p in enumerate(record.get("interventionsOrProcedures") or []):
        person.interventions.append(
            _code(p, "procedureCode", where=where, path=f"{path}.interventionsOrProcedures[{j}]")
        )
    return person


# --- TSV --------------------------------------------------------------------------------------

TSV_COLUMNS = (
    "individual_id", "sex", "ethnicity_id", "ethnicity_label", "origin_id", "origin_label",
    "age", "features", "excluded_features", "diseases", "interventions",
)  # fmt: skip


def _split(cell: str) -> list[tuple[str, str]]:
    """`ID` or `ID|label` items, comma-separated."""
    out = []
    for item in cell.split(","):
        item = item.strip()
        if item:
            tid, _, label = item.partition("|")
            out.append((tid.strip(), label.strip() or tid.strip()))
    return out


def _read_tsv(path: Path) -> list[Individual]:
    people = []
    with open(path, newline="", encoding="utf-8") as fh:
        lines = [
            (n, line) for n, line in enumerate(fh, 1) if line.strip() and not line.startswith("#")
        ]
    if not lines:
        raise IngestError("individuals TSV is empty (a header row is required)", file=str(path))
    header_no, header_line = lines[0]
    header = next(csv.reader([header_line.rstrip("\n")], delimiter="\t"))
    if "individual_id" not in header:
        raise IngestError(
            "missing column 'individual_id'", file=str(path), line=header_no, field="individual_id"
        )
    for column in header:
        if column not in TSV_COLUMNS and not column.startswith("measure:"):
            raise IngestError(
                f"unknown column {column!r}", file=str(path), line=header_no, field=column
            )
    for n, line in lines[1:]:
        cells = next(csv.reader([line.rstrip("\n")], delimiter="\t"))
        if len(cells) > len(header):
            raise IngestError(
                f"{len(cells)} cells but {len(header)} columns", file=str(path), line=n
            )
        row = dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=True))
        where: dict[str, Any] = {"file": str(path), "line": n}
        pid = row["individual_id"].strip()
        if not pid:
            raise IngestError("empty individual_id", field="individual_id", **where)
        person = Individual(id=pid, source="tsv", where=str(path), line=n)
        person.sex = sex_term(row.get("sex", ""), where={**where, "field": "sex"})
        if row.get("ethnicity_id"):
            person.ethnicity = (
                row["ethnicity_id"],
                row.get("ethnicity_label") or row["ethnicity_id"],
            )
        if row.get("origin_id"):
            person.origin = (row["origin_id"], row.get("origin_label") or row["origin_id"])
        if row.get("age", "").strip():
            years = age_in_years(row["age"])
            if years is None:
                raise IngestError(f"bad age {row['age']!r}", field="age", **where)
            check_age(years, row["age"].strip(), where={**where, "field": "age"})
            person.measures.append((*AGE_ASSAY, years, *YEAR_UNIT))
        person.features += [(i, label, False) for i, label in _split(row.get("features", ""))]
        person.features += [
            (i, label, True) for i, label in _split(row.get("excluded_features", ""))
        ]
        person.diseases += _split(row.get("diseases", ""))
        person.interventions += _split(row.get("interventions", ""))
        for column, cell in row.items():
            if column.startswith("measure:") and cell.strip():
                assay, _, unit = column[len("measure:") :].partition("@")
                try:
                    value = float(cell)
                    if not math.isfinite(value):
                        raise ValueError(cell)
                except ValueError:
                    raise IngestError(
                        f"measure value {cell!r} is not a number", field=column, **where
                    ) from None
                person.measures.append((assay, assay, value, unit or None, unit or None))
        person.where, person.line = str(path), n
        people.append(person)
    return people


# --- dispatch ---------------------------------------------------------------------------------


class _JsonLines(list):
    """Records of a .jsonl file and the line each came from (for errors)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[int] = []


def _load_json(path: Path) -> Any:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                text = fh.read()
        else:
            text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise IngestError(f"cannot read: {exc}", file=str(path)) from exc
    if path.name.endswith((".jsonl", ".jsonl.gz")):
        out = _JsonLines()
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise IngestError(f"invalid JSON: {exc.msg}", file=str(path), line=n) from exc
                out.lines.append(n)
        return out
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise IngestError(f"invalid JSON: {exc.msg}", file=str(path), line=exc.lineno) from exc


def _is_phenopacket(obj: Any) -> bool:
    return isinstance(obj, dict) and (
        "subject" in obj or "phenotypicFeatures" in obj or "metaData" in obj
    )


def read_individuals(path: Path | str, *, id_from: IdFrom = "subject") -> list[Individual]:
    """Individuals from a phenopacket file/folder, a BFF individuals.json, a JSONL or a TSV.

    `id_from="phenopacket"` keys phenopackets by the packet `id` instead of `subject.id`
    (published collections reuse subject ids such as 'Patient 1' across papers)."""
    path = Path(path)
    if id_from not in ("subject", "phenopacket"):
        raise IngestError(f"--id-from must be subject or phenopacket, not {id_from!r}")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.name.endswith((".json", ".json.gz")))
        if not files:
            raise IngestError("folder holds no phenopacket .json files", file=str(path))
        return [_from_phenopacket(_load_json(f), where=str(f), id_from=id_from) for f in files]
    if not path.is_file():
        raise IngestError("individuals file not found", file=str(path))
    if path.name.endswith((".tsv", ".txt", ".tsv.gz")):
        _phenopackets_only(id_from, path)
        return _read_tsv(path)
    data = _load_json(path)
    if _is_phenopacket(data):
        return [_from_phenopacket(data, where=str(path), id_from=id_from)]
    if isinstance(data, list):
        if data and all(_is_phenopacket(d) for d in data):
            if isinstance(data, _JsonLines):  # one packet per line: name the line
                return [
                    _from_phenopacket(d, where=str(path), id_from=id_from, line=n)
                    for d, n in zip(data, data.lines, strict=True)
                ]
            return [
                _from_phenopacket(d, where=f"{path}[{i}]", id_from=id_from)
                for i, d in enumerate(data)
            ]
        _phenopackets_only(id_from, path)
        return [_from_bff(d, where=str(path), index=i) for i, d in enumerate(data)]
    raise IngestError(
        "not a phenopacket, a BFF individuals array or a TSV", file=str(path), field="(top level)"
    )


def _phenopackets_only(id_from: IdFrom, path: Path) -> None:
    if id_from != "subject":
        raise IngestError(
            "--id-from phenopacket applies to phenopackets only", file=str(path), field="--id-from"
        )


__all__ = [
    "TSV_COLUMNS",
    "IdFrom",
    "Individual",
    "age_in_years",
    "read_individuals",
]
