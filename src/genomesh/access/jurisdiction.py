"""Jurisdiction rules: the dataset's own placement limits plus the node country's profile.

`apply_jurisdiction` takes what the caller asks for (after tier caps) and returns what the
rules allow: the same granularity, a lower one (e.g. `count` instead of `record`), or None
(refused). Whenever it lowers or refuses, `rule` names the rule and `reason` says why, so the
gate can report it and the audit log can record it.

Rules, in order (the most restrictive outcome wins; ties go to the first rule):
1. dataset `aggregates_only` -> at most `count`                    (rule "dataset-aggregates-only")
2. dataset `record_countries` -> `record` only for callers in them  (rule "dataset-record-countries")
3. the node country's profile, declarative TOML (packaged `data/jurisdictions.toml`, or the
   file in NodeSettings.jurisdiction_profiles): Ireland, Sweden, Netherlands, GB, AU and a
   permissive default ZZ. See docs/jurisdictions.md.
"""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from genomesh.access.identity import Identity
from genomesh.core.errors import InvalidInputError, JurisdictionError
from genomesh.core.settings import DatasetPolicy, Granularity

Condition = Literal[
    "no_consent_terms", "no_consent_terms_unless_waived", "no_ethics_approval", "viewer_outside"
]
_LEVELS: dict[str, int] = {"none": -1, "boolean": 0, "count": 1, "record": 2}
_BY_LEVEL = {v: k for k, v in _LEVELS.items()}
DEFAULT_PROFILE = "ZZ"


@dataclass(frozen=True)
class Rule:
    """One declarative rule: when `when` holds, allow at most `max_granularity`."""

    name: str
    when: Condition
    max_granularity: Literal["none", "boolean", "count", "record"]
    reason: str
    countries: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Profile:
    """A country's rules and the sources they summarise."""

    country: str
    name: str
    rules: tuple[Rule, ...]
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class JurisdictionDecision:
    """What may be returned. granularity None = refused; rule/reason set whenever lowered."""

    granularity: Granularity | None
    rule: str | None = None
    reason: str | None = None
    applied: tuple[tuple[str, str], ...] = field(default=())

    @property
    def refused(self) -> bool:
        return self.granularity is None


@dataclass(frozen=True)
class Profiles:
    """All profiles from one TOML file."""

    profiles: dict[str, Profile]
    source: str
    groups: dict[str, frozenset[str]] = field(default_factory=dict)  # e.g. EU, EEA -> countries

    def get(self, country: str) -> Profile:
        """The profile of a country, or the permissive default for countries without one."""
        return self.profiles.get(country.upper()) or self.profiles[DEFAULT_PROFILE]


def _parse(text: str, source: str) -> Profiles:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"cannot parse jurisdiction profiles: {exc}", file=source) from exc
    groups = {k.upper(): [c.upper() for c in v] for k, v in data.get("groups", {}).items()}
    profiles: dict[str, Profile] = {}
    for country, body in data.get("profiles", {}).items():
        rules = []
        for index, raw in enumerate(body.get("rules", [])):
            where = f"profiles.{country}.rules[{index}]"
            try:
                when = raw["when"]
                level = raw["max_granularity"]
                name, reason = raw["name"], raw["reason"]
            except KeyError as exc:
                raise InvalidInputError(
                    f"rule lacks {exc.args[0]!r}", file=source, field=where
                ) from exc
            if when not in Condition.__args__:  # type: ignore[attr-defined]
                raise InvalidInputError(f"unknown condition {when!r}", file=source, field=where)
            if level not in _LEVELS:
                raise InvalidInputError(
                    f"max_granularity must be none/boolean/count/record, not {level!r}",
                    file=source,
                    field=where,
                )
            countries: set[str] = set()
            for entry in raw.get("countries", []):
                countries.update(groups.get(entry.upper(), [entry.upper()]))
            if when == "viewer_outside" and not countries:
                raise InvalidInputError(
                    "viewer_outside needs a countries list", file=source, field=where
                )
            rules.append(Rule(name, when, level, reason, frozenset(countries)))
        profiles[country.upper()] = Profile(
            country=country.upper(),
            name=body.get("name", country),
            rules=tuple(rules),
            sources=tuple(body.get("sources", ())),
        )
    if DEFAULT_PROFILE not in profiles:
        profiles[DEFAULT_PROFILE] = Profile(DEFAULT_PROFILE, "default (permissive)", ())
    return Profiles(
        profiles=profiles,
        source=source,
        groups={name: frozenset(members) for name, members in groups.items()},
    )


_LOCK = threading.Lock()


@cache
def _packaged() -> Profiles:
    text = resources.files("genomesh.access").joinpath("data/jurisdictions.toml").read_text()
    return _parse(text, "genomesh/access/data/jurisdictions.toml")


def expand_countries(entries: Iterable[str]) -> frozenset[str]:
    """Country codes with the packaged groups (`EU`, `EEA`) replaced by their members."""
    groups = _packaged().groups
    out: set[str] = set()
    for entry in entries:
        key = entry.strip().upper()
        out.update(groups.get(key, (key,)))
    return frozenset(out)


def load_profiles(path: Path | str | None = None) -> Profiles:
    """Profiles from a TOML file, or the packaged ones (cached) when `path` is None."""
    if path is None:
        with _LOCK:
            return _packaged()
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise InvalidInputError(
            f"cannot read jurisdiction profiles: {exc}", file=str(path)
        ) from exc
    return _parse(text, str(path))


def _viewer_country(identity: Identity) -> str | None:
    country = identity.country or (identity.purpose.country if identity.purpose else None)
    return country.upper() if country else None


def _holds(
    rule: Rule, *, policy: DatasetPolicy, identity: Identity, has_consent_terms: bool
) -> bool:
    if rule.when == "no_consent_terms":
        return not has_consent_terms
    if rule.when == "no_consent_terms_unless_waived":
        return not has_consent_terms and not policy.consent_waiver
    if rule.when == "no_ethics_approval":
        return identity.purpose is None or not identity.purpose.ethics_approval
    country = _viewer_country(identity)
    return country is None or country not in rule.countries


def apply_jurisdiction(
    *,
    node_country: str,
    policy: DatasetPolicy,
    identity: Identity,
    requested: Granularity,
    has_consent_terms: bool,
    profiles: Profiles | None = None,
) -> JurisdictionDecision:
    """The granularity the jurisdiction rules allow for this request (None = refused)."""
    profile = (profiles or load_profiles()).get(node_country)
    candidates: list[tuple[str, int, str]] = []
    if policy.aggregates_only:
        candidates.append(
            (
                "dataset-aggregates-only",
                _LEVELS["count"],
                "the custodian lets only aggregates leave",
            )
        )
    if policy.record_countries:
        allowed = {c.upper() for c in policy.record_countries}
        country = _viewer_country(identity)
        if country not in allowed:
            where = country or "an unknown country"
            candidates.append(
                (
                    "dataset-record-countries",
                    _LEVELS["count"],
                    f"individual-level data may be seen only in {', '.join(sorted(allowed))}; "
                    f"the caller is in {where}",
                )
            )
    for rule in profile.rules:
        if _holds(rule, policy=policy, identity=identity, has_consent_terms=has_consent_terms):
            candidates.append((rule.name, _LEVELS[rule.max_granularity], rule.reason))
    wanted = _LEVELS[requested]
    binding = [c for c in candidates if c[1] < wanted]
    applied = tuple((name, reason) for name, _, reason in binding)
    if not binding:
        return JurisdictionDecision(granularity=requested, applied=applied)
    name, level, reason = min(binding, key=lambda c: c[1])
    granted = _BY_LEVEL[level]
    return JurisdictionDecision(
        granularity=None if granted == "none" else granted,  # type: ignore[arg-type]
        rule=name,
        reason=reason,
        applied=applied,
    )


def enforce_jurisdiction(decision: JurisdictionDecision) -> Granularity:
    """The allowed granularity, or JurisdictionError naming the rule when refused."""
    if decision.granularity is None:
        raise JurisdictionError(
            f"refused by jurisdiction rule {decision.rule}: {decision.reason}",
            details={"rule": decision.rule, "reason": decision.reason},
        )
    return decision.granularity


__all__ = [
    "JurisdictionDecision",
    "Profile",
    "Profiles",
    "Rule",
    "apply_jurisdiction",
    "enforce_jurisdiction",
    "expand_countries",
    "load_profiles",
]
