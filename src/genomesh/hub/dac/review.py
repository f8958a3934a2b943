"""Proportionate review: which applications a dataset's policy approves automatically, and why.

A dataset's `review_policy` (set by a hub admin with the dataset, `PUT /dac/datasets`) may
hold one `automatic` rule; an application is approved automatically, with a record, only if
*every* dataset it asks for has such a rule and the application meets each of them:

* the dataset's consent is one the rule names (default: general research use, DUO:0000042);
* the purpose asks for aggregates only (`purpose.aggregates_only`: nodes then cap the grant
  at count granularity, so auto-approval never releases individual-level data);
* the purpose category is one the rule allows (empty = any);
* the applicant is a registered researcher (vouched for by a hub admin, terms accepted);
* the applicant's institution is one the rule recognises;
* the automatic DUO pre-check approves;
* the jurisdiction of the dataset's node does not require ethics approval for this use, or
  the purpose names one: a profile with a `no_ethics_approval` rule (e.g. SE, AU) never
  auto-approves an application without an ethics reference;
* no community governs data in the dataset (a community decides for itself,
  genomesh.hub.dac.communities): such applications always go to the committee too.

Everything else goes to the committee. `route(...)` returns the route and the reasons, which
the application records (`review_route`, `review_reasons`) and shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from genomesh.core.purpose import PurposeCategory, ResearchPurpose
from genomesh.hub.dac.models import Account, Dataset

GRU = "DUO:0000042"
Route = Literal["automatic", "committee"]


class AutomaticApproval(BaseModel):
    """The applications a dataset's custodian lets the DAC approve without a meeting."""

    model_config = ConfigDict(extra="forbid")

    consent: list[str] = Field(
        default_factory=lambda: [GRU],
        description="the dataset's DUO terms must include one of these",
    )
    categories: list[PurposeCategory] = Field(
        default_factory=list, description="purpose categories allowed (empty = any)"
    )
    aggregates_only: bool = Field(
        default=True, description="only applications asking for aggregates only"
    )
    registered_researcher: bool = Field(
        default=True, description="only researchers vouched for by a hub admin"
    )
    institutions: list[str] = Field(
        min_length=1, max_length=500, description="recognised institutions (exact names)"
    )
    days: int = Field(default=365, ge=1, le=3650, description="length of an automatic approval")


class ReviewPolicy(BaseModel):
    """A dataset's review policy; without `automatic`, the committee reviews everything."""

    model_config = ConfigDict(extra="forbid")

    automatic: AutomaticApproval | None = None


@dataclass(frozen=True)
class RouteDecision:
    route: Route
    reasons: tuple[str, ...]
    days: int = 0


def ethics_rules(country: str | None) -> list[str]:
    """Names of the rules of `country`'s jurisdiction profile that need ethics approval."""
    from genomesh.access.jurisdiction import load_profiles

    if not country:
        return []
    profile = load_profiles().get(country)
    return [rule.name for rule in profile.rules if rule.when == "no_ethics_approval"]


def _check(
    dataset: Dataset,
    rule: AutomaticApproval,
    *,
    purpose: ResearchPurpose,
    applicant: Account,
    precheck: dict[str, Any],
    governed: bool,
) -> tuple[list[str], list[str]]:
    """(unmet conditions, met conditions) of one dataset's rule."""
    name = f"{dataset.node}/{dataset.dataset_id}"
    unmet: list[str] = []
    met: list[str] = []
    codes = {str(term.get("id")) for term in dataset.duo or []}
    if codes & set(rule.consent):
        met.append(f"{name}: consent {', '.join(sorted(codes & set(rule.consent)))}")
    else:
        unmet.append(f"{name}: its consent terms are not {' or '.join(rule.consent)}")
    if rule.aggregates_only and not purpose.aggregates_only:
        unmet.append(f"{name}: only aggregate-only applications are approved automatically")
    elif rule.aggregates_only:
        met.append(f"{name}: aggregates only")
    if rule.categories and purpose.category not in rule.categories:
        unmet.append(f"{name}: purpose {purpose.category} is not one of {rule.categories}")
    if rule.registered_researcher and (
        applicant.verified_at is None or applicant.accepted_terms_at is None
    ):
        unmet.append(f"{name}: the applicant is not a registered researcher")
    elif rule.registered_researcher:
        met.append(f"{name}: registered researcher (vouched by {applicant.verified_by})")
    institution = purpose.institution or applicant.institution
    if institution not in rule.institutions:
        unmet.append(f"{name}: institution {institution!r} is not a recognised one")
    else:
        met.append(f"{name}: recognised institution {institution}")
    checked = next((d for d in precheck.get("datasets", []) if d["dataset"] == dataset.url), None)
    if checked is None or checked["decision"] != "approve":
        decision = checked["decision"] if checked else "missing"
        unmet.append(f"{name}: the automatic DUO check says {decision}")
    if not dataset.jurisdiction:
        unmet.append(
            f"{name}: its jurisdiction is not known to the DAC, so its rules cannot be checked"
        )
    else:
        needing = ethics_rules(dataset.jurisdiction)
        if needing and not purpose.ethics_approval:
            unmet.append(
                f"{name}: jurisdiction {dataset.jurisdiction} requires ethics approval "
                f"(rule {', '.join(needing)}) and the application names none"
            )
        elif needing:
            met.append(f"{name}: ethics approval {purpose.ethics_approval} ({', '.join(needing)})")
    if governed:
        unmet.append(f"{name}: a community governs data in it and decides for itself")
    return unmet, met


def route(
    datasets: Sequence[Dataset],
    *,
    purpose: ResearchPurpose,
    applicant: Account,
    precheck: dict[str, Any],
    governed: set[str],
) -> RouteDecision:
    """Automatic approval or committee review, with the reasons (`governed`: URLs of
    datasets holding community-governed data)."""
    unmet: list[str] = []
    met: list[str] = []
    days = 3650
    for dataset in datasets:
        policy = ReviewPolicy.model_validate(dataset.review_policy or {})
        if policy.automatic is None:
            unmet.append(
                f"{dataset.node}/{dataset.dataset_id}: its policy has every application "
                "reviewed by the committee"
            )
            continue
        no, yes = _check(
            dataset, policy.automatic, purpose=purpose, applicant=applicant,
            precheck=precheck, governed=dataset.url in governed,
        )  # fmt: skip
        unmet += no
        met += yes
        days = min(days, policy.automatic.days)
    if unmet:
        return RouteDecision("committee", tuple(unmet))
    return RouteDecision("automatic", tuple(met), days)


__all__ = ["AutomaticApproval", "ReviewPolicy", "Route", "RouteDecision", "ethics_rules", "route"]
