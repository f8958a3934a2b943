"""Optional differential privacy on open-tier answers, per dataset policy (Cho et al. 2020).

With `DatasetPolicy.dp_epsilon = ε`, anonymous and registered answers from that dataset are
ε-differentially private (genomesh.disclosure.dp, the mechanisms of Cho, Simmons, Kim &
Berger, Cell Systems 2020):

* boolean: the optimal ε-DP membership answer - truncated geometric noise on the number of
  carriers among the dataset's n people, then the Bayes-optimal yes/no cut-off under the
  public site-frequency prior and the dataset's costs of a false "no" / a false "yes"
  (`dp_false_negative_cost`, `dp_false_positive_cost`);
* count of individuals: the truncated geometric mechanism, clip(c + D, 0, n); the small-count
  rule then applies to the noisy count;
* other counts (e.g. variants in a range): existence as for boolean; a "no" gives count 0.

The noise is drawn from a generator keyed (HMAC, a node secret) on the dataset version and on
*who and how much* made the answer (the same fingerprint as the exposure memo), so the same
answer asked again, in any words, gets the same noise: repeating does not average it away.
Answers nobody contributes to are keyed on the question instead (there is nobody to protect).

This runs after narrowing (rare hits, spent budgets): DP adds to the exposure account, it
does not replace it. Each contributor is charged min(its charge, ε) - ε-DP bounds what one
answer reveals about anyone by ε nats. Controlled-tier and record answers are not noised.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from genomesh.core.settings import DatasetPolicy
from genomesh.disclosure.budget import BUDGETED_TIERS
from genomesh.disclosure.dp import answer_rng, membership_mechanism, noisy_count
from genomesh.gate.contract import DatasetAccess, DatasetResult
from genomesh.gate.guard import DatasetFacts
from genomesh.gate.narrowing import fingerprint

# how /info and the hub's catalogue name the mechanism (with the dataset's ε)
MECHANISM = "truncated geometric + Bayes-optimal remap (Cho et al. 2020)"


@dataclass(frozen=True)
class Noised:
    """The count to disclose in place of the true one (its sign is the answer's existence)."""

    count: int


def applies(access: DatasetAccess, policy: DatasetPolicy, *, self_service: bool) -> bool:
    return (
        policy.dp_epsilon is not None
        and access.tier in BUDGETED_TIERS
        and access.granularity in ("boolean", "count")
        and not self_service
    )


def noised(
    result: DatasetResult,
    *,
    access: DatasetAccess,
    facts: DatasetFacts,
    policy: DatasetPolicy,
    key: bytes,
    operation: str,
    parameters: Mapping[str, Any],
) -> Noised:
    """The ε-DP stand-in for `result.count` (see module)."""
    epsilon = float(policy.dp_epsilon or 0.0)
    n = max(len(facts.individuals), 1)
    k = min(len(result.contributors), n)
    if k:
        query = "answer:" + fingerprint(result, access, facts)
    else:
        question = json.dumps([operation, parameters], sort_keys=True, default=str)
        query = f"question:{facts.dataset_id}:{question}"
    rng = answer_rng(key, dataset_version=facts.version, query=query)
    if access.granularity == "count" and result.count == len(result.contributors):
        return Noised(noisy_count(k, n=n, epsilon=epsilon, rng=rng))
    mechanism = membership_mechanism(
        n,
        epsilon=epsilon,
        fn_cost=policy.dp_false_negative_cost,
        fp_cost=policy.dp_false_positive_cost,
    )
    return Noised(max(result.count, 1) if mechanism.answer(k, rng=rng) else 0)


__all__ = ["MECHANISM", "Noised", "applies", "noised"]
