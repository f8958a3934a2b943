"""Participant consent drawn from a realistic mix of GA4GH DUO profiles, written as consent TSV.

A *mix* is a weighted list of *profiles*; a profile is a set of DUO codes joined with `+`,
each optionally carrying its modifier values in brackets:

    GRU=30,HMB=30,HMB+NPU=8,DS[MONDO:0005148]=10,GRU+GS[NL|BE]=4,HMB+TS[2031-12-31]=3

Weights are relative (normalised to 1). A modifier code given without brackets takes the
cohort's value: DS -> the simulated disease, GS -> the cohort's country, TS -> five years after
the reference date, MOR -> one year after it. IS / PS / US need explicit values.

The TSV is the format in docs/design (interfaces): header `individual_id duo diseases countries
expires institutions projects users moratorium_until`, DUO ids comma-separated in `duo`, list
columns comma-separated, empty cell = none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from genomesh.core.errors import InvalidInputError

# DUO v2021-02-23 shorthand -> id (every usable code; checked against duo.csv by a test).
DUO_IDS: dict[str, str] = {
    "NRES": "DUO:0000004", "GRU": "DUO:0000042", "HMB": "DUO:0000006", "DS": "DUO:0000007",
    "POA": "DUO:0000011", "RS": "DUO:0000012", "NMDS": "DUO:0000015", "GSO": "DUO:0000016",
    "NPUNCU": "DUO:0000018", "PUB": "DUO:0000019", "COL": "DUO:0000020", "IRB": "DUO:0000021",
    "GS": "DUO:0000022", "MOR": "DUO:0000024", "TS": "DUO:0000025", "US": "DUO:0000026",
    "PS": "DUO:0000027", "IS": "DUO:0000028", "RTN": "DUO:0000029", "CC": "DUO:0000043",
    "NPOA": "DUO:0000044", "NPU": "DUO:0000045", "NCU": "DUO:0000046",
}  # fmt: skip
DUO_SHORTHANDS = {v: k for k, v in DUO_IDS.items()}
# shorthand of a modifier-bearing code -> TSV column holding its values
MODIFIER_COLUMNS = {
    "DS": "diseases", "GS": "countries", "TS": "expires", "IS": "institutions",
    "PS": "projects", "US": "users", "MOR": "moratorium_until",
}  # fmt: skip
TSV_COLUMNS = (
    "individual_id", "duo", "diseases", "countries", "expires", "institutions", "projects",
    "users", "moratorium_until",
)  # fmt: skip

# Named mixes (weights in %). The proportions are a judgement, documented in docs/simulate.md.
NAMED_MIXES: dict[str, str] = {
    "default": (
        "GRU=30,HMB=30,HMB+NPU=8,HMB+IRB+PUB=7,DS=10,DS+NCU=3,GRU+GS=4,HMB+COL=3,"
        "HMB+TS=3,GRU+PUB+MOR=2"
    ),
    "hospital": "HMB=35,HMB+IRB=15,DS=20,DS+IRB+GS=10,HMB+GS=10,GRU=5,HMB+NCU=5",
    "biobank": "GRU=70,HMB=15,GRU+PUB=8,HMB+IRB=5,DS=2",
    "rare-disease": "DS=40,HMB=25,DS+COL=10,HMB+RTN=10,DS+GS=10,GRU=5",
}

_ITEM = re.compile(r"^(?P<profile>[^=]+?)\s*=\s*(?P<weight>[0-9]*\.?[0-9]+)$")
_CODE = re.compile(r"^(?P<code>[A-Za-z]+|DUO:\d{7})(?:\[(?P<values>[^\]]*)\])?$")


@dataclass(frozen=True)
class ConsentProfile:
    """DUO codes (shorthands) plus explicit modifier values, with a relative weight."""

    codes: tuple[str, ...]
    modifiers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    weight: float = 1.0

    def label(self) -> str:
        parts = []
        for code in self.codes:
            values = self.modifiers.get(code)
            parts.append(f"{code}[{'|'.join(values)}]" if values else code)
        return "+".join(parts)


@dataclass(frozen=True)
class ConsentRow:
    """One participant's terms, as a consent-TSV row."""

    individual_id: str
    codes: tuple[str, ...]  # DUO ids
    diseases: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    expires: str = ""
    institutions: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    moratorium_until: str = ""


def _shorthand(code: str, spec: str) -> str:
    key = code.upper() if not code.startswith("DUO:") else DUO_SHORTHANDS.get(code, "")
    if key not in DUO_IDS:
        raise InvalidInputError(f"unknown DUO code {code!r} in {spec!r}", field="duo_mix")
    return key


def parse_mix(spec: str) -> list[ConsentProfile]:
    """Parse a mix string (or the name of a built-in mix) into weighted profiles."""
    text = NAMED_MIXES.get(spec.strip(), spec)
    profiles: list[ConsentProfile] = []
    for raw in (p.strip() for p in text.split(",")):
        if not raw:
            continue
        m = _ITEM.match(raw)
        if not m:
            raise InvalidInputError(
                f"expected PROFILE=WEIGHT (e.g. HMB+NPU=10), got {raw!r}", field="duo_mix"
            )
        codes: list[str] = []
        modifiers: dict[str, tuple[str, ...]] = {}
        for part in m["profile"].split("+"):
            cm = _CODE.match(part.strip())
            if not cm:
                raise InvalidInputError(
                    f"cannot read DUO code {part!r} in {raw!r}", field="duo_mix"
                )
            code = _shorthand(cm["code"], raw)
            codes.append(code)
            if cm["values"] is not None:
                if code not in MODIFIER_COLUMNS:
                    raise InvalidInputError(f"{code} takes no values (in {raw!r})", field="duo_mix")
                modifiers[code] = tuple(v.strip() for v in cm["values"].split("|") if v.strip())
        for code in ("IS", "PS", "US"):
            if code in codes and not modifiers.get(code):
                raise InvalidInputError(
                    f"{code} needs values, e.g. {code}[name] (in {raw!r})", field="duo_mix"
                )
        profiles.append(ConsentProfile(tuple(codes), modifiers, float(m["weight"])))
    if not profiles or sum(p.weight for p in profiles) <= 0:
        raise InvalidInputError(
            "the DUO mix has no profile with a positive weight", field="duo_mix"
        )
    return profiles


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class ResolvedProfile:
    """A profile with every modifier value filled in (a template for consent rows)."""

    profile: ConsentProfile
    values: Mapping[str, tuple[str, ...]]  # TSV column -> values


def resolve_mix(
    profiles: Sequence[ConsentProfile],
    *,
    disease_id: str,
    country: str | None,
    reference_date: date,
) -> tuple[list[ResolvedProfile], list[str]]:
    """Fill in the cohort defaults; returns the profiles and the labels of those left out.

    Without a country, a profile with a bare `GS` cannot be written and is left out of the
    mix (its weight goes to the others); the caller records that.
    """
    defaults = {
        "DS": (disease_id,),
        "GS": (country.upper(),) if country else (),
        "TS": (_add_years(reference_date, 5).isoformat(),),
        "MOR": (_add_years(reference_date, 1).isoformat(),),
    }
    resolved: list[ResolvedProfile] = []
    dropped: list[str] = []
    for profile in profiles:
        values: dict[str, tuple[str, ...]] = {}
        for code in profile.codes:
            if code in MODIFIER_COLUMNS:
                given = profile.modifiers.get(code) or defaults.get(code, ())
                if given:
                    values[MODIFIER_COLUMNS[code]] = given
        if "GS" in profile.codes and "countries" not in values:
            dropped.append(profile.label())
            continue
        if profile.weight > 0:
            resolved.append(ResolvedProfile(profile, values))
    if not resolved:
        raise InvalidInputError(
            "no usable profile in the DUO mix (GS needs --country or GS[CC])", field="duo_mix"
        )
    return resolved, dropped


def draw_consents(
    individual_ids: Sequence[str],
    profiles: Sequence[ResolvedProfile],
    *,
    rng: np.random.Generator,
) -> list[ConsentRow]:
    """Each individual's profile drawn independently with the mix's weights."""
    weights = np.array([p.profile.weight for p in profiles], dtype=float)
    picks = rng.choice(len(profiles), size=len(individual_ids), p=weights / weights.sum())
    rows = []
    for pid, k in zip(individual_ids, picks, strict=True):
        chosen = profiles[int(k)]
        values = chosen.values
        rows.append(
            ConsentRow(
                individual_id=pid,
                codes=tuple(DUO_IDS[c] for c in chosen.profile.codes),
                diseases=values.get("diseases", ()),
                countries=values.get("countries", ()),
                expires=values.get("expires", ("",))[0],
                institutions=values.get("institutions", ()),
                projects=values.get("projects", ()),
                users=values.get("users", ()),
                moratorium_until=values.get("moratorium_until", ("",))[0],
            )
        )
    return rows


def write_consent_tsv(rows: Sequence[ConsentRow], path: Path) -> None:
    """Write the consent TSV: the header line, then one row per individual."""
    lines = ["\t".join(TSV_COLUMNS)]
    for r in rows:
        lines.append(
            "\t".join([
                r.individual_id, ",".join(r.codes), ",".join(r.diseases), ",".join(r.countries),
                r.expires, ",".join(r.institutions), ",".join(r.projects), ",".join(r.users),
                r.moratorium_until,
            ])
        )  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


__all__ = [
    "DUO_IDS",
    "MODIFIER_COLUMNS",
    "NAMED_MIXES",
    "TSV_COLUMNS",
    "ConsentProfile",
    "ConsentRow",
    "ResolvedProfile",
    "draw_consents",
    "parse_mix",
    "resolve_mix",
    "write_consent_tsv",
]
