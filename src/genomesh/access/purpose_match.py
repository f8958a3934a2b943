"""Match a research purpose against DUO data-use terms: approve, deny or needs_review.

Semantics (docs/consent-and-purpose.md has the table and the DUOS comparison):

* **Permissions** (GRU, HMB, DS, POA, NRES) are alternatives: the purpose must fit at least
  one. The lattice is NRES ⊇ GRU ⊇ HMB ⊇ DS(disease); POA is its own branch under GRU. A DS
  consent for disease Y covers a purpose disease X iff X is Y or lies below Y in the disease
  hierarchy (`genomesh.ontology.registry`); every purpose disease must be covered.
* **Modifiers** (IRB, GS, PUB, MOR, TS, US, PS, IS, RTN, COL, CC, GSO, NMDS, NPOA, NPU, NCU,
  NPUNCU, RS) are obligations: every one must be met. Unlike DUOS none is ignored.
* The overall decision is deny if any term denies, else needs_review if any term (or an unclear
  purpose aspect) needs a committee, else approve. Empty terms -> needs_review.

Results are cached per distinct (purpose, terms, today), so filtering thousands of participants
who share a few consent term sets costs a few matches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from genomesh.access.jurisdiction import expand_countries
from genomesh.core.consent import DataUseTerm
from genomesh.core.purpose import ResearchPurpose
from genomesh.ontology import registry
from genomesh.ontology.duo import DuoTerm, get_duo

Decision = Literal["approve", "deny", "needs_review"]
#: (purpose disease, consented disease) -> True/False, or None when it cannot be decided.
DiseaseIsA = Callable[[str, str], bool | None]

GRU, HMB, DS, POA, NRES = (
    "DUO:0000042",
    "DUO:0000006",
    "DUO:0000007",
    "DUO:0000011",
    "DUO:0000004",
)
_ORDER: dict[str, int] = {"approve": 0, "needs_review": 1, "deny": 2}


class TermReason(BaseModel):
    """Why one term (or one aspect of the purpose, term="purpose") led to its decision."""

    model_config = ConfigDict(frozen=True)

    term: str
    code: str | None = None
    decision: Decision
    reason: str


class MatchResult(BaseModel):
    """The decision for a purpose against a set of terms, with a reason per term."""

    model_config = ConfigDict(frozen=True)

    decision: Decision
    reasons: list[TermReason]

    @property
    def approved(self) -> bool:
        return self.decision == "approve"

    def summary(self) -> str:
        """One line per reason, e.g. for the DAC pre-check view or a CLI table."""
        return "\n".join(f"{r.decision:>12}  {r.code or r.term}: {r.reason}" for r in self.reasons)


def default_disease_is_a(disease: str, consented: str) -> bool | None:
    """Registry-based: exact id match, else the hierarchy of a shared prefix, else undecidable."""
    if disease == consented:
        return True
    if registry.prefix_of(disease) != registry.prefix_of(consented):
        return None  # no cross-ontology mappings are packaged
    if registry.hierarchy_of(disease) != "full":
        return None  # flat ontology: a subtype relation cannot be ruled out
    if not (registry.has(disease) and registry.has(consented)):
        return None
    return registry.is_a(disease, consented)


def _reason(term: DuoTerm | str, decision: Decision, text: str) -> TermReason:
    if isinstance(term, DuoTerm):
        return TermReason(term=term.id, code=term.shorthand, decision=decision, reason=text)
    return TermReason(term=term, decision=decision, reason=text)


def _diseases_covered(
    purpose: ResearchPurpose, term: DataUseTerm, is_a: DiseaseIsA
) -> tuple[Decision, str]:
    if not term.diseases:
        return "needs_review", "DS consent without a recorded disease"
    if not purpose.diseases:
        return "deny", f"consent is limited to research on {', '.join(term.diseases)}"
    undecided: list[str] = []
    for disease in purpose.diseases:
        answers = [is_a(disease, consented) for consented in term.diseases]
        if any(a is True for a in answers):
            continue
        if any(a is None for a in answers):
            undecided.append(disease)
            continue
        return "deny", (
            f"{disease} is not {' or '.join(term.diseases)} nor a subtype of it "
            "(consent covers only the named diseases and their subtypes)"
        )
    if undecided:
        return "needs_review", (
            f"cannot decide from the packaged ontologies whether {', '.join(undecided)} "
            f"falls under {', '.join(term.diseases)}"
        )
    return "approve", f"purpose diseases {', '.join(purpose.diseases)} fall under the consent"


def _permission(
    purpose: ResearchPurpose, term: DataUseTerm, duo_term: DuoTerm, is_a: DiseaseIsA, nmds: bool
) -> tuple[Decision, str]:
    """Does one permission term cover the purpose's research category?"""
    category = purpose.category
    code = duo_term.id
    if code == NRES:
        return "approve", "no restriction on use"
    if category == "methods_development" and not nmds:
        return "approve", "methods development is allowed unless NMDS is recorded"
    if category == "methods_development":  # NMDS: only within the other limits
        if code == GRU:
            return "approve", "methods development within general research use"
        if code == DS:
            return _diseases_covered(purpose, term, is_a)
        if code == HMB:
            return "needs_review", "NMDS: methods work must stay within health/medical research"
        return "deny", "NMDS: methods development is not population/ancestry research"
    if code == GRU:
        return "approve", "general research use covers any research purpose"
    if code == POA:
        if category == "population_ancestry":
            return "approve", "population origins or ancestry research is what POA allows"
        return "deny", "consent is for population origins or ancestry research only"
    if category == "population_ancestry":
        return "deny", (
            f"{duo_term.shorthand} excludes population origins or ancestry research "
            "(only GRU, POA or NRES allow it)"
        )
    if code == HMB:
        if category == "general":
            return "deny", "consent is limited to health/medical/biomedical research"
        return "approve", "health/medical/biomedical research is allowed"
    if code == DS:
        if category == "disease_specific":
            return _diseases_covered(purpose, term, is_a)
        return "deny", (
            f"consent is limited to research on {', '.join(term.diseases) or 'a named disease'}"
        )
    return "needs_review", f"unhandled permission {duo_term.display}"


def _in(value: str | None, allowed: Sequence[str]) -> bool:
    return value is not None and value.casefold() in {a.casefold() for a in allowed}


def _modifier(
    purpose: ResearchPurpose, term: DataUseTerm, duo_term: DuoTerm, today: date
) -> tuple[Decision, str]:
    """Is one modifier's obligation met by the purpose?"""
    short = duo_term.shorthand
    if short == "IRB":
        if purpose.ethics_approval:
            return (
                "approve",
                f"ethics approval {purpose.ethics_approval!r} stated (DAC verifies it)",
            )
        return "deny", "ethics approval required; the purpose gives no approval reference"
    if short == "GS":
        if not term.countries:
            return "needs_review", "geographic restriction without recorded countries"
        if purpose.country is None:
            return "deny", f"use restricted to {', '.join(term.countries)}; no country stated"
        if purpose.country.strip().upper() in expand_countries(term.countries):
            return "approve", f"researcher country {purpose.country} is allowed"
        return "deny", (
            f"use restricted to {', '.join(term.countries)}; researcher is in {purpose.country}"
        )
    if short == "PUB":
        if purpose.will_publish:
            return "approve", "the researcher commits to publish results"
        return "deny", "publication of results is required"
    if short == "MOR":
        if term.moratorium_until is None:
            return "needs_review", "publication moratorium without a recorded date"
        if not purpose.will_publish or today >= term.moratorium_until:
            return "approve", f"moratorium until {term.moratorium_until} does not block this use"
        if purpose.publication_date is None:
            return "needs_review", (
                f"no publication before {term.moratorium_until}; no planned date stated"
            )
        if purpose.publication_date >= term.moratorium_until:
            return "approve", f"planned publication {purpose.publication_date} is after it ends"
        return "deny", (
            f"planned publication {purpose.publication_date} falls in the moratorium "
            f"(until {term.moratorium_until})"
        )
    if short == "TS":
        if term.expires is None:
            return "needs_review", "time limit without a recorded end date"
        if today > term.expires:
            return "deny", f"permitted use ended on {term.expires}"
        if purpose.end_date is None:
            return "needs_review", f"use must end by {term.expires}; no end date stated"
        if purpose.end_date > term.expires:
            return "deny", f"use must end by {term.expires}; requested until {purpose.end_date}"
        return "approve", f"use ends {purpose.end_date}, within the limit {term.expires}"
    for code, allowed, value, what in (
        ("US", term.users, purpose.user_id, "user"),
        ("PS", term.projects, purpose.project_id, "project"),
        ("IS", term.institutions, purpose.institution, "institution"),
    ):
        if short == code:
            if not allowed:
                return "needs_review", f"{what}-specific restriction without recorded {what}s"
            if _in(value, allowed):
                return "approve", f"{what} {value} is approved"
            return "deny", f"use limited to {what}s {', '.join(allowed)}; purpose names {value}"
    if short == "RTN":
        if purpose.return_derived_data:
            return "approve", "the researcher commits to return derived data"
        return "deny", "derived or enriched data must be returned to the resource"
    if short == "COL":
        if purpose.collaborate_with_investigators:
            return "approve", "the researcher commits to collaborate with the study investigators"
        return "deny", "collaboration with the primary study investigators is required"
    if short == "CC":
        return "approve", "clinical care use is allowed in addition to research"
    if short == "GSO":
        if purpose.genetic_studies:
            return "approve", "the purpose is a genetic study"
        return "deny", "genetic studies only; the purpose is not a genetic study"
    if short == "NMDS":
        return "approve", "methods research only within the other limits (checked there)"
    if short == "NPOA":
        if purpose.category == "population_ancestry":
            return "deny", "population origins or ancestry research is prohibited"
        if purpose.population_research:
            return "needs_review", (
                "population research stated; ancestry research is prohibited - committee to judge"
            )
        return "approve", "the purpose is not population origins or ancestry research"
    if short in ("NPU", "NCU", "NPUNCU"):
        problems = []
        if short in ("NPU", "NPUNCU") and purpose.for_profit:
            problems.append("the researcher's organisation is for-profit")
        if short in ("NCU", "NPUNCU") and purpose.commercial:
            problems.append("the use is commercial")
        if problems:
            return "deny", f"{duo_term.label}: {'; '.join(problems)}"
        return "approve", "not-for-profit, non-commercial use"
    if short == "RS":
        topics = ", ".join(term.topics) or "none recorded"
        return (
            "needs_review",
            f"research-specific restriction (topics: {topics}): committee to judge",
        )
    return "needs_review", f"no automatic rule for {duo_term.display}"


def _evaluate(
    purpose: ResearchPurpose,
    terms: tuple[DataUseTerm, ...],
    today: date,
    is_a: DiseaseIsA,
    review_flags: tuple[str, ...],
) -> MatchResult:
    duo = get_duo()
    reasons: list[TermReason] = []
    permissions: list[tuple[DuoTerm, Decision, str]] = []
    codes = {t.id for t in terms}
    nmds = "DUO:0000015" in codes
    if not terms:
        return MatchResult(
            decision="needs_review",
            reasons=[_reason("consent", "needs_review", "no recorded consent terms")],
        )
    for term in terms:
        if not duo.has(term.id):
            reasons.append(_reason(term.id, "needs_review", f"unknown DUO code {term.id}"))
            continue
        duo_term = duo.term(term.id)
        if duo_term.id == "DUO:0000005":  # obsolete GRU-CC = GRU + CC
            permissions.append(
                (
                    duo_term,
                    "approve",
                    "obsolete GRU-CC read as general research use + clinical care",
                )
            )
        elif (
            duo_term.obsolete
            or duo_term.branch in ("investigation", "other")
            or not (duo_term.shorthand)
        ):
            reasons.append(
                _reason(
                    duo_term, "needs_review", f"{duo_term.display} is not a usable consent term"
                )
            )
        elif duo_term.branch == "permission":
            decision, text = _permission(purpose, term, duo_term, is_a, nmds)
            permissions.append((duo_term, decision, text))
        else:
            decision, text = _modifier(purpose, term, duo_term, today)
            reasons.append(_reason(duo_term, decision, text))
    if permissions:
        # Permissions are alternatives: the use is consented if any of them allows it, so
        # the best one decides and a worse one never tightens the outcome.
        best = min(_ORDER[d] for _, d, _ in permissions)
        for duo_term, decision, text in permissions:
            if _ORDER[decision] > best:
                covering = next(t for t, d, _ in permissions if _ORDER[d] == best)
                if best == 0:
                    decision, text = (
                        "approve",
                        f"not needed ({text}): {covering.shorthand} covers it",
                    )
                else:
                    decision = "needs_review"
                    text = f"{text}; {covering.shorthand} may allow it: committee to judge"
            reasons.insert(0, _reason(duo_term, decision, text))
    else:
        reasons.insert(
            0, _reason("consent", "needs_review", "no data use permission (GRU/HMB/DS/POA/NRES)")
        )
    if purpose.clinical_care and "DUO:0000043" not in codes and "DUO:0000005" not in codes:
        reasons.append(_reason("purpose", "deny", "clinical care use is not consented (no CC)"))
    if purpose.population_research and purpose.category != "population_ancestry":
        approving = [t for t, d, _ in permissions if d == "approve"]
        if approving and all(t.id in (HMB, DS) for t in approving):
            reasons.append(
                _reason(
                    "purpose",
                    "needs_review",
                    f"population research under {approving[0].shorthand}, which excludes "
                    "ancestry research: committee to judge",
                )
            )
    if purpose.category == "disease_specific" and not purpose.diseases:
        reasons.append(
            _reason("purpose", "needs_review", "disease-specific purpose names no disease")
        )
    for flag in review_flags:
        reasons.append(_reason("purpose", "needs_review", f"sensitive research aspect: {flag}"))
    worst = max((_ORDER[r.decision] for r in reasons), default=1)
    overall: tuple[Decision, ...] = ("approve", "needs_review", "deny")
    return MatchResult(decision=overall[worst], reasons=reasons)


@lru_cache(maxsize=65536)
def _cached(
    purpose: ResearchPurpose,
    terms: tuple[DataUseTerm, ...],
    today: date,
    is_a: DiseaseIsA,
    review_flags: tuple[str, ...],
) -> MatchResult:
    return _evaluate(purpose, terms, today, is_a, review_flags)


def match_purpose(
    purpose: ResearchPurpose,
    terms: Sequence[DataUseTerm],
    *,
    today: date | None = None,
    disease_is_a: DiseaseIsA | None = None,
    review_flags: Sequence[str] = (),
) -> MatchResult:
    """Decide whether `purpose` fits the consent `terms` (a dataset's or one participant's).

    `today` defaults to the current date (TS expiry, MOR end). `disease_is_a` overrides the
    disease hierarchy (default: `genomesh.ontology.registry`). `review_flags` are purpose
    aspects that always need a committee (sensitive topics such as the DUOS abstain list).
    """
    return _cached(
        purpose,
        tuple(terms),
        today or date.today(),
        disease_is_a or default_disease_is_a,
        tuple(review_flags),
    )


__all__ = [
    "Decision",
    "DiseaseIsA",
    "MatchResult",
    "TermReason",
    "default_disease_is_a",
    "match_purpose",
]
