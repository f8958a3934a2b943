"""The `ga4gh_visa_v1` object (GA4GH Passport v1): types, field checks, conditions.

Field rules from the spec (researcher_ids/ga4gh_passport_v1.md):
  * `type`, `asserted`, `value`, `source` are required; `by` is optional except for
    ControlledAccessGrants and AcceptedTermsAndPolicies, where it MUST be present.
  * URL fields (`source`; `value` of ResearcherStatus, AcceptedTermsAndPolicies and
    ControlledAccessGrants) are opaque case-sensitive strings of at most 255 characters.
    genomesh also accepts a bare dataset id as a ControlledAccessGrants value (it issues URLs).
  * AffiliationAndRole values split at the first "@" into role and affiliation.
  * LinkedIdentities values are `;`-separated `<uri-encoded sub>,<uri-encoded iss>` pairs.
  * `conditions` is a list (OR) of lists (AND) of clauses; each clause names a `type` and
    matches other fields with `const:`, `pattern:` (`?` one char, `*` any run) or
    `split_pattern:` (pattern against each `;`-separated part). Clauses are matched only
    against valid visas that have no conditions themselves; an unknown prefix never matches.

The custom type `genomesh.ResearchPurpose` carries the approved research purpose as the JSON
of `genomesh.core.purpose.ResearchPurpose` in `value`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import ValidationError

from genomesh.core.purpose import ResearchPurpose

AFFILIATION_AND_ROLE = "AffiliationAndRole"
ACCEPTED_TERMS_AND_POLICIES = "AcceptedTermsAndPolicies"
RESEARCHER_STATUS = "ResearcherStatus"
CONTROLLED_ACCESS_GRANTS = "ControlledAccessGrants"
LINKED_IDENTITIES = "LinkedIdentities"
RESEARCH_PURPOSE = "genomesh.ResearchPurpose"
#: A community's approval of the holder's use of its members' data (value = the community's
#: slug at the hub); nodes leave community-governed participants out without it.
COMMUNITY_APPROVAL = "genomesh.CommunityApproval"

STANDARD_TYPES = frozenset(
    {
        AFFILIATION_AND_ROLE,
        ACCEPTED_TERMS_AND_POLICIES,
        RESEARCHER_STATUS,
        CONTROLLED_ACCESS_GRANTS,
        LINKED_IDENTITIES,
    }
)
KNOWN_TYPES = STANDARD_TYPES | {RESEARCH_PURPOSE, COMMUNITY_APPROVAL}
URL_VALUE_TYPES = frozenset(
    {ACCEPTED_TERMS_AND_POLICIES, RESEARCHER_STATUS, CONTROLLED_ACCESS_GRANTS}
)
BY_REQUIRED_TYPES = frozenset({ACCEPTED_TERMS_AND_POLICIES, CONTROLLED_ACCESS_GRANTS})
BY_VALUES = frozenset({"self", "peer", "system", "so", "dac"})

#: The Registered Access publication: the value of ResearcherStatus and
#: AcceptedTermsAndPolicies visas for registered access (Dyke et al. 2018).
REGISTERED_ACCESS = "https://doi.org/10.1038/s41431-018-0219-y"
NO_ORGANIZATION = "https://no.organization"

_DATASET_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,254}$")
_ROLE = re.compile(r"^(faculty|student|member|[a-z][a-z0-9_-]*\.[a-z][a-z0-9_-]*)$")


class VisaFormatError(ValueError):
    """A `ga4gh_visa_v1` object breaks the spec; the message names the field."""


@dataclass(frozen=True)
class VisaObject:
    """A checked `ga4gh_visa_v1` object."""

    type: str
    asserted: int
    value: str
    source: str
    by: str | None
    conditions: list[list[dict[str, str]]] | None

    def field(self, name: str) -> str | None:
        return {"type": self.type, "value": self.value, "source": self.source, "by": self.by}.get(
            name
        )


def is_url(text: str) -> bool:
    """A URL field: absolute http(s) URL of at most 255 characters."""
    if not isinstance(text, str) or len(text) > 255:
        return False
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def parse_visa_object(obj: Any) -> VisaObject:
    """Check a `ga4gh_visa_v1` claim value; raise VisaFormatError naming the bad field."""
    if not isinstance(obj, Mapping):
        raise VisaFormatError("ga4gh_visa_v1 must be an object")
    for name in ("type", "value", "source"):
        if not isinstance(obj.get(name), str) or not obj[name]:
            raise VisaFormatError(f"ga4gh_visa_v1.{name} is missing or not a string")
    asserted = obj.get("asserted")
    if not isinstance(asserted, int) or isinstance(asserted, bool) or asserted < 0:
        raise VisaFormatError("ga4gh_visa_v1.asserted is missing or not seconds since epoch")
    vtype, value, source, by = obj["type"], obj["value"], obj["source"], obj.get("by")
    if not is_url(source):
        raise VisaFormatError(f"ga4gh_visa_v1.source {source!r} is not a URL")
    if by is not None and (not isinstance(by, str) or by not in BY_VALUES):
        raise VisaFormatError(f"ga4gh_visa_v1.by {by!r} is not one of {sorted(BY_VALUES)}")
    if vtype in BY_REQUIRED_TYPES and by is None:
        raise VisaFormatError(f"ga4gh_visa_v1.by is required for {vtype}")
    if vtype == CONTROLLED_ACCESS_GRANTS and _DATASET_ID.match(value):
        pass  # a bare dataset id: accepted from older issuers, mapped like the URL form
    elif vtype in URL_VALUE_TYPES and not is_url(value):
        raise VisaFormatError(f"ga4gh_visa_v1.value {value!r} of {vtype} is not a URL")
    if vtype == AFFILIATION_AND_ROLE:
        role, at, org = value.partition("@")
        if not at or not org or not _ROLE.match(role):
            raise VisaFormatError(f"ga4gh_visa_v1.value {value!r} is not role@affiliation")
    if vtype == LINKED_IDENTITIES:
        parse_linked_identities(value)
    if vtype == RESEARCH_PURPOSE:
        parse_purpose(value)
    conditions = obj.get("conditions")
    if conditions is not None:
        conditions = _check_conditions(conditions)
    return VisaObject(vtype, asserted, value, source, by, conditions or None)


def parse_linked_identities(value: str) -> list[tuple[str, str]]:
    """`sub,iss;sub,iss` (each part URI-encoded) -> [(sub, iss), ...]."""
    pairs = []
    for entry in value.split(";"):
        sub, comma, iss = entry.partition(",")
        if not comma or not sub or not iss or "," in iss:
            raise VisaFormatError(f"ga4gh_visa_v1.value entry {entry!r} is not <sub>,<iss>")
        pairs.append((unquote(sub), unquote(iss)))
    return pairs


def format_linked_identities(identities: Sequence[tuple[str, str]]) -> str:
    """[(sub, iss), ...] -> the LinkedIdentities value string."""
    from urllib.parse import quote

    return ";".join(f"{quote(sub, safe='')},{quote(iss, safe='')}" for sub, iss in identities)


def parse_purpose(value: str) -> ResearchPurpose:
    """The ResearchPurpose carried in a `genomesh.ResearchPurpose` visa."""
    try:
        return ResearchPurpose.model_validate(json.loads(value))
    except (ValueError, ValidationError) as exc:
        first = str(exc).splitlines()[0]
        raise VisaFormatError(f"ga4gh_visa_v1.value is not a ResearchPurpose: {first}") from exc


def _check_conditions(conditions: Any) -> list[list[dict[str, str]]]:
    if not isinstance(conditions, list) or not all(isinstance(c, list) for c in conditions):
        raise VisaFormatError("ga4gh_visa_v1.conditions must be a list of lists of clauses")
    for group in conditions:
        for clause in group:
            if not isinstance(clause, Mapping) or not isinstance(clause.get("type"), str):
                raise VisaFormatError("every condition clause needs a string 'type'")
            fields = {k: v for k, v in clause.items() if k != "type"}
            if not fields or not all(isinstance(v, str) for v in fields.values()):
                raise VisaFormatError("condition clause needs at least one string field")
            if set(fields) - {"value", "source", "by"}:
                raise VisaFormatError(
                    f"condition clause field(s) {sorted(set(fields))} not allowed"
                )
    return [[dict(clause) for clause in group] for group in conditions]


def pattern_match(pattern: str, text: str) -> bool:
    """Full-string match with `?` (one character) and `*` (any run); no escapes."""
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, text, flags=re.DOTALL) is not None


def _field_matches(spec: str, actual: str | None) -> bool:
    if actual is None:
        return False
    kind, colon, wanted = spec.partition(":")
    if not colon:
        return False
    if kind == "const":
        return actual == wanted
    if kind == "pattern":
        return pattern_match(wanted, actual)
    if kind == "split_pattern":
        return any(pattern_match(wanted, part) for part in actual.split(";"))
    return False  # unknown prefix: the clause fails


def conditions_met(visa: VisaObject, others: Sequence[VisaObject]) -> bool:
    """Whether `visa.conditions` are satisfied by the other valid, condition-free visas."""
    if not visa.conditions:
        return True
    candidates = [o for o in others if not o.conditions]
    for group in visa.conditions:
        if all(
            any(
                o.type == clause["type"]
                and all(_field_matches(v, o.field(k)) for k, v in clause.items() if k != "type")
                for o in candidates
            )
            for clause in group
        ):
            return True
    return False


__all__ = [
    "ACCEPTED_TERMS_AND_POLICIES",
    "AFFILIATION_AND_ROLE",
    "COMMUNITY_APPROVAL",
    "CONTROLLED_ACCESS_GRANTS",
    "KNOWN_TYPES",
    "LINKED_IDENTITIES",
    "NO_ORGANIZATION",
    "REGISTERED_ACCESS",
    "RESEARCHER_STATUS",
    "RESEARCH_PURPOSE",
    "STANDARD_TYPES",
    "VisaFormatError",
    "VisaObject",
    "conditions_met",
    "format_linked_identities",
    "is_url",
    "parse_linked_identities",
    "parse_purpose",
    "parse_visa_object",
    "pattern_match",
]
