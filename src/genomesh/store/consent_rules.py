"""What makes a consent term usable: a concrete DUO code with the modifier values it needs.

A custodian's typo must stop the ingest, not silently make a participant unusable (purpose
matching fails closed on a nonsensical term, so the person would just never be approved).
Checked for every term, whether it came from the consent TSV, the consent JSON or `--duo`:

* the code is a DUO term of the packaged release, not obsolete, not one of the abstract roots
  (DUO:0000001 data use permission, DUO:0000017 data use modifier) and not an investigation
  class (DUO:0000031 ... DUO:0000040 type research purposes, not consent);
* a code that takes a modifier has it (DS a disease, GS a country, TS an end date ...) and a
  modifier is only given to the code that takes it;
* countries are ISO 3166-1 alpha-2 codes or a group the purpose matcher expands (EU, EEA);
* diseases are CURIEs (`MONDO:0005015`, `ICD10:C50.9`, `OMIM:612164`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from genomesh.core.consent import DataUseTerm
from genomesh.core.errors import IngestError, UnknownTermError

# Which DataUseTerm field (= consent TSV column) each DUO code takes.
MODIFIER_OF = {
    "DUO:0000007": "diseases",
    "DUO:0000022": "countries",
    "DUO:0000025": "expires",
    "DUO:0000028": "institutions",
    "DUO:0000027": "projects",
    "DUO:0000026": "users",
    "DUO:0000024": "moratorium_until",
}
CODE_OF = {column: code for code, column in MODIFIER_OF.items()}
SHORTHAND = {
    "DUO:0000007": "DS", "DUO:0000022": "GS", "DUO:0000025": "TS", "DUO:0000028": "IS",
    "DUO:0000027": "PS", "DUO:0000026": "US", "DUO:0000024": "MOR",
}  # fmt: skip
NEEDS = {
    "diseases": "at least one disease",
    "countries": "at least one country",
    "expires": "an end date (expires)",
    "institutions": "at least one institution",
    "projects": "at least one project",
    "users": "at least one user",
    "moratorium_until": "a date (moratorium_until)",
}

# ISO 3166-1 alpha-2, all 249 officially assigned codes (Debian iso-codes 4.15).
_ISO_3166_ALPHA2 = """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC
    EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK
    HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB
    LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
    NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU
    RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN
    TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"""
ISO_3166_ALPHA2 = frozenset(_ISO_3166_ALPHA2.split())
# Country groups genomesh.access.jurisdiction.expand_countries understands (the packaged
# jurisdictions.toml [groups]); tests/store check this stays in step with it.
COUNTRY_GROUPS = frozenset({"EU", "EEA"})
_COUNTRY_HINTS = {"UK": "GB", "EL": "GR"}
CURIE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*:[A-Za-z0-9_][A-Za-z0-9_.:\-]*$")

FieldOf = Callable[[str], str]


def _country_problem(code: str) -> str | None:
    key = code.strip().upper()
    if key in ISO_3166_ALPHA2 or key in COUNTRY_GROUPS:
        return None
    hint = f" (use {_COUNTRY_HINTS[key]})" if key in _COUNTRY_HINTS else ""
    return (
        f"{code!r} is not an ISO 3166-1 alpha-2 code{hint} "
        f"(or a group: {', '.join(sorted(COUNTRY_GROUPS))})"
    )


def check_code(code: str, *, file: str | None, line: int | None, field: str) -> None:
    """A DUO code that can stand in a consent: known, current, concrete."""
    from genomesh.ontology.duo import INVESTIGATION_ROOT, MODIFIER_ROOT, PERMISSION_ROOT, get_duo

    duo = get_duo()
    release = getattr(duo, "version", "")
    if not duo.has(code) or duo.term(code).obsolete:
        raise UnknownTermError(
            f"unknown DUO code {code!r} (DUO release {release})".replace(" ()", ""),
            file=file, line=line, field=field,
        )  # fmt: skip
    term = duo.term(code)
    if code in (PERMISSION_ROOT, MODIFIER_ROOT) or term.branch not in ("permission", "modifier"):
        why = (
            "an abstract root class"
            if code in (PERMISSION_ROOT, MODIFIER_ROOT)
            else f"a {term.branch} class ({INVESTIGATION_ROOT} types research purposes)"
            if term.branch == "investigation"
            else f"not a permission or modifier ({term.branch})"
        )
        raise UnknownTermError(
            f"{code} ({term.label}) is not a usable consent term: {why}",
            file=file, line=line, field=field,
        )  # fmt: skip


def check_term(term: DataUseTerm, *, file: str | None, line: int | None, field_of: FieldOf) -> None:
    """One term: a usable code, the modifier it needs, no modifier it does not take, and
    well-formed countries/diseases. `field_of(attribute)` names the field in errors."""
    check_code(term.id, file=file, line=line, field=field_of("id"))
    short = SHORTHAND.get(term.id)
    needed = MODIFIER_OF.get(term.id)
    for column, code in CODE_OF.items():
        value = getattr(term, column)
        if column == needed and not value:
            raise IngestError(
                f"{short} ({term.id}) needs {NEEDS[column]}",
                file=file, line=line, field=field_of(column),
            )  # fmt: skip
        if column != needed and value:
            raise IngestError(
                f"{column} only apply to {SHORTHAND[code]} ({code}), not to {term.id}",
                file=file, line=line, field=field_of(column),
            )  # fmt: skip
    for country in term.countries:
        problem = _country_problem(country)
        if problem:
            raise IngestError(problem, file=file, line=line, field=field_of("countries"))
    for disease in term.diseases:
        if not CURIE.match(disease):
            raise IngestError(
                f"{disease!r} is not a CURIE (e.g. MONDO:0005015, ICD10:C50.9)",
                file=file, line=line, field=field_of("diseases"),
            )  # fmt: skip


__all__ = [
    "CODE_OF",
    "COUNTRY_GROUPS",
    "CURIE",
    "ISO_3166_ALPHA2",
    "MODIFIER_OF",
    "check_code",
    "check_term",
]
