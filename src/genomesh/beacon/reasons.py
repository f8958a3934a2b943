"""Why an answer is narrower than asked, or missing: a machine-readable code plus words.

Every dataset line of a node's answer (`info.datasets[]`) gets `reasons: [{code, message}]`
and every dataset not answered (`info.refused[]`) a `code`, so a researcher (and the hub, and
`genomesh query`) can tell a "no" from "not allowed to say" from "not asked", and knows what
to do next. The codes:

| code | when |
|---|---|
| `tier_limit` | the caller's tier (anonymous, registered) gets less from this dataset than asked |
| `aggregates_only` | the custodian releases only aggregates from this dataset |
| `grant_without_purpose` | a grant was in the passport, but no research purpose to check consent |
| `no_consent_terms` | the dataset has no recorded consent terms: anonymous-tier answers only |
| `jurisdiction_rule` | a national rule of the node's country lowered the answer |
| `consent_excluded` | individuals whose consent does not fit the stated purpose were left out |
| `assembly_assumed` | no assemblyId given: the dataset's own assembly was used |
| `no_gene_annotations` | a gene query on a dataset whose variants name no genes |
| `min_count` | counts below N are not disclosed (said with every count-level answer) |
| `rare_hidden` | alleles in fewer than N people are reported as absent (every such answer) |
| `limit_capped` | in `info.pagination`: the page size asked was more than the node gives |
| refused: `no_such_dataset`, `assembly_mismatch`, `jurisdiction_refused`, `not_participant`, `not_answered` |

Disclosure-control reasons are stated per *kind of answer*, never per allele or per count
(a suppressed answer must stay indistinguishable from a true absence, ARCHITECTURE.md
invariant 6): `min_count` accompanies every count a dataset gives, `rare_hidden` every boolean
answer its policy hides rare alleles in, whether or not anything was hidden this time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from genomesh.core.settings import DatasetPolicy, Granularity
from genomesh.gate.contract import GRANULARITY_ORDER, DatasetAccess, DisclosedResult

# a guard or surface note -> its code, by how the note begins (genomesh.gate.guard words them)
_NOTE_CODES: tuple[tuple[str, str], ...] = (
    ("access grant not used", "grant_without_purpose"),
    ("no recorded consent terms", "no_consent_terms"),
    ("jurisdiction rule", "jurisdiction_rule"),
    ("assemblyId not given", "assembly_assumed"),
    ("no gene annotations", "no_gene_annotations"),
)
_REFUSAL_CODES: tuple[tuple[str, str], ...] = (
    ("no such dataset", "no_such_dataset"),
    ("not answered: query is on", "assembly_mismatch"),
    ("jurisdiction rule", "jurisdiction_refused"),
    ("not a participant", "not_participant"),
)
_NEXT = {
    "anonymous": "a passport with an approved application gives more (`genomesh dac passport`)",
    "registered": "an approved application for this dataset gives more (`genomesh dac apply`)",
}


def note_code(note: str) -> str:
    """The code of one guard/surface note ("narrowed" for a note not yet given a code)."""
    if " individuals excluded: " in note:
        return "consent_excluded"
    for prefix, code in _NOTE_CODES:
        if note.startswith(prefix):
            return code
    return "narrowed"


def refusal_code(reason: str) -> str:
    """The code of a dataset that was not answered."""
    for needle, code in _REFUSAL_CODES:
        if needle in reason:
            return code
    return "not_answered"


def _level(granularity: Granularity) -> int:
    return GRANULARITY_ORDER.index(granularity)


def _below(a: Granularity, b: Granularity) -> bool:
    return _level(a) < _level(b)


def dataset_reasons(
    result: DisclosedResult,
    *,
    requested: Granularity,
    access: DatasetAccess | None,
    policy: DatasetPolicy,
    notes: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The reasons of one answered dataset, most important first."""
    reasons: list[dict[str, Any]] = []
    tier = access.tier if access is not None else None
    allowed = access.granularity if access is not None else result.granularity
    if _below(allowed, requested) and tier in ("anonymous", "registered"):
        cap: Granularity = getattr(policy.tiers, tier)
        if _below(cap, requested):
            reasons.append(
                {
                    "code": "tier_limit",
                    "message": f"{requested} asked; {tier} callers get at most {cap} from this "
                    f"dataset: {_NEXT[tier]}",
                }
            )
    if policy.aggregates_only and requested == "record":
        reasons.append(
            {
                "code": "aggregates_only",
                "message": "the custodian releases only aggregates (counts) from this dataset",
            }
        )
    reasons += [{"code": note_code(n), "message": n} for n in notes]
    if _level(allowed) >= _level("count"):
        reasons.append(
            {
                "code": "min_count",
                "message": f"counts below {policy.min_count} are not disclosed",
            }
        )
    if tier in ("anonymous", "registered") and policy.boolean_min_count > 1:
        reasons.append(
            {
                "code": "rare_hidden",
                "message": f"alleles in fewer than {policy.boolean_min_count} people are "
                "reported as absent in yes/no answers",
            }
        )
    return reasons


__all__ = ["dataset_reasons", "note_code", "refusal_code"]
