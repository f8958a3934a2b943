"""Taking people out of an answer: rare-hit hiding, per-participant scrutiny and exposure.

All three rules work the same way: the answer is computed again as if some participants were
absent (the surface's `execute`, with them removed from the allowed individuals), so a
narrowed answer is, byte for byte, the answer the node would give if they were not in the
dataset - at boolean, count and record granularity alike. Nothing in it says who or why.

1. Rare hits (`boolean_min_count`, anonymous and registered tiers): an answer that fewer
   than that many people make true is computed without them - a true absence.
2. Exposure (`exposure_budget`, genomesh.disclosure.exposure): an answer from fewer than
   `exposure_free_carriers` people charges each of them what it reveals about their
   membership; a participant the answer would take past the budget is withheld (anonymous
   and registered tiers; controlled-tier and matchmaking answers are charged but never
   narrowed: the grant is the custodian's decision to disclose, and a matchmaking peer sees
   only patients enrolled with their consent to be matched and contacted). The account is per participant and
   dataset, over every caller, tier and surface, the hub's network included.
3. Scrutiny (`scrutiny_budget`, anonymous and registered tiers): each distinct question about
   an answer from fewer than `scrutiny_carriers` people adds, to each of them, what a "yes"
   would reveal (the expected charge), whatever the answer; a participant past the budget is
   left out of every such answer - 10 or more carriers included, where the exposure account
   charges nothing - so an attack that centres on one person answers as if they were absent.

Consistency: who was withheld from each distinct answer (its fingerprint: the dataset
version, the tier rule and exactly who and how much made the answer) is stored with the
first answer; the same answer asked again, by anyone, in any words, is narrowed the same way
and charged nothing, so a budget running out never shows as an answer that changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from genomesh.audit.exposure import ExposureCharge, ExposureStore
from genomesh.core.settings import DatasetPolicy
from genomesh.disclosure.budget import NARROWED_TIERS
from genomesh.disclosure.exposure import answer_charge, drawn_line, expected_charge, over_budget
from genomesh.gate.contract import DatasetAccess, DatasetResult
from genomesh.gate.guard import DatasetFacts

_ROUNDS = 16  # each round withholds at least one more person; answers here have < 16 people


@dataclass
class Narrowed:
    """An answer after narrowing, with what to charge and what to audit."""

    result: DatasetResult
    charge: ExposureCharge | None = None
    audit: dict[str, Any] = field(default_factory=dict)
    withheld: frozenset[str] = frozenset()

    def audit_body(self, pseudonym: Callable[[str, str], str]) -> dict[str, Any]:
        """The audit entry's record of budgets, charges and switches (pseudonyms only)."""
        body = dict(self.audit)
        if self.withheld:
            body["withheld"] = sorted(pseudonym(self.result.dataset_id, i) for i in self.withheld)
        return body


def fingerprint(result: DatasetResult, access: DatasetAccess, facts: DatasetFacts) -> str:
    """Who and how much made this answer, in this dataset version, under this tier rule."""
    narrowable = access.tier in NARROWED_TIERS
    text = json.dumps(
        [facts.dataset_id, facts.version, narrowable, result.count, sorted(result.contributors)],
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).hexdigest()


def question_key(fingerprint_: str, question: str) -> str:
    """One question about one answer: counted once in the scrutiny accounts."""
    return hashlib.sha256(f"{fingerprint_}\x1f{question}".encode()).hexdigest()


def narrow(
    result: DatasetResult,
    *,
    access: DatasetAccess,
    facts: DatasetFacts,
    policy: DatasetPolicy,
    exposure: ExposureStore,
    without: Callable[[frozenset[str]], DatasetResult],
    line_key: bytes | None = None,
    question: str | None = None,
) -> Narrowed:
    """Apply rare-hit hiding, scrutiny and the exposure budget to one dataset's answer (see
    module). `line_key` (the node's secret) draws each answer's line; None =
    `boolean_min_count`. `question`: what was asked, canonical (None = no scrutiny)."""
    k = len(result.contributors)
    narrowable = access.tier in NARROWED_TIERS
    if k == 0:
        return Narrowed(result)
    if narrowable and k < policy.boolean_min_count:
        hidden = frozenset(result.contributors)
        settled, kept = _settle(without(hidden), hidden, policy.boolean_min_count, without)
        return Narrowed(settled, audit={"rare_hidden": True}, withheld=kept)
    budget = policy.exposure_budget
    scrutiny = policy.scrutiny_budget if narrowable and question is not None else None
    watched = scrutiny is not None and k < policy.scrutiny_carriers
    charged = budget is not None and k < policy.exposure_free_carriers
    if not watched and not charged:
        return Narrowed(result)

    n = len(facts.individuals)
    fp = fingerprint(result, access, facts)
    line = policy.boolean_min_count
    if narrowable and line_key is not None and budget is not None:
        line = max(
            line,
            drawn_line(line_key, fp, low=policy.exposure_line_min, high=policy.exposure_line_max),
        )
    # scrutiny: the first time this question is asked, each carrier's account grows by what a
    # "yes" would reveal about them, whatever the answer turns out to be
    key = question_key(fp, question or "") if watched else None
    carriers = result.contributors if watched else frozenset()
    remembered, counted, asked_read = exposure.look(fp, key, facts.dataset_id, carriers)
    asked: dict[str, Any] = {}
    if key is not None and not counted:
        asked = {
            "question": key,
            "question_charge": expected_charge(k, n),
            "question_carriers": frozenset(result.contributors),
        }
    if remembered is not None:  # the same answer again: narrowed as before, charged nothing
        again, kept = result, remembered
        if kept:
            again, kept = _settle(without(kept), kept, line, without)
        repeat = (
            ExposureCharge(dataset_id=facts.dataset_id, fingerprint=fp, read={}, memo=False,
                           **asked)
            if asked
            else None
        )  # fmt: skip
        audit_repeat: dict[str, Any] = {"repeat": True, "budget": budget}
        if watched:
            audit_repeat["scrutiny"] = {"added": round(asked.get("question_charge", 0.0), 9)}
        return Narrowed(again, charge=repeat, audit=audit_repeat, withheld=kept)

    withheld: frozenset[str] = frozenset()
    current = result
    if watched:  # the over-scrutinised are taken out first, at any number of carriers
        out = frozenset(p for p, v in asked_read.items() if scrutiny is not None and v >= scrutiny)
        if out:
            withheld = out
            current = without(withheld)

    # withholding weighs the full charge; an ε-DP answer then charges at most ε (its bound)
    epsilon = policy.dp_epsilon if narrowable else None
    kind = policy.exposure_charge
    spent: dict[str, float] = {}
    loop = budget is not None and 0 < len(current.contributors) < policy.exposure_free_carriers
    for _ in range(_ROUNDS if loop else 0):
        carriers = current.contributors
        if not carriers:
            break
        if narrowable and len(carriers) < line:  # below this answer's line: a true absence
            withheld |= carriers
            current = without(withheld)
            continue
        spent.update(exposure.spent(facts.dataset_id, carriers - spent.keys()))
        over = (
            over_budget(carriers, n=n, spent=spent, budget=budget or 0.0, kind=kind)
            if narrowable
            else set()
        )
        if not over:
            break
        withheld |= over
        current = without(withheld)
    made_by = frozenset(current.contributors)
    pays = loop and made_by and len(made_by) < policy.exposure_free_carriers
    each = answer_charge(len(made_by), n, kind=kind, epsilon=epsilon) if pays else 0.0
    charges = {p: each for p in made_by} if pays else {}
    decision = ExposureCharge(
        dataset_id=facts.dataset_id,
        fingerprint=fp,
        read=spent,
        charges=charges,
        withheld=withheld,
        scrutiny_budget=scrutiny if watched else None,
        asked_read=asked_read,
        **asked,
    )
    audit: dict[str, Any] = {
        "carriers": k,
        **({"line": line} if line > 1 and loop else {}),
        **({"epsilon": policy.dp_epsilon} if policy.dp_epsilon is not None else {}),
        "budget": budget,
        "charge": round(each, 9),
        "charged": len(charges),
        "exhausted": sum(
            1 for p in charges if budget is not None and spent.get(p, 0.0) + each >= budget - 1e-12
        ),
    }
    if watched:
        audit["scrutiny"] = {
            "budget": scrutiny,
            "added": round(asked.get("question_charge", 0.0), 9),
            "over": sum(1 for v in asked_read.values() if scrutiny is not None and v >= scrutiny),
        }
    return Narrowed(current, charge=decision, audit=audit, withheld=withheld)


def _settle(
    current: DatasetResult,
    withheld: frozenset[str],
    line: int,
    without: Callable[[frozenset[str]], DatasetResult],
) -> tuple[DatasetResult, frozenset[str]]:
    """Re-apply the line after people were taken out (fewer may remain)."""
    for _ in range(_ROUNDS):
        carriers = current.contributors
        if not carriers or len(carriers) >= line:
            break
        withheld |= carriers
        current = without(withheld)
    return current, withheld


__all__ = ["Narrowed", "fingerprint", "narrow", "question_key"]
