"""Differentially private Beacon answers: counts and membership (Cho et al. 2020).

Cho, Simmons, Kim & Berger, "Privacy-preserving biomedical database queries with optimal
privacy-utility trade-offs", Cell Systems 10:408-416 (2020), doi:10.1016/j.cels.2020.03.006.
Their mechanisms are the truncated alpha-geometric mechanism of Ghosh, Roughgarden &
Sundararajan (2012) on the underlying count, followed by a Bayes-optimal *remap* of the noisy
count under a prior over true counts and the user's loss; they prove this pair optimal among
all epsilon-DP mechanisms for asymmetric losses too (counts in cohort discovery, and
membership: "is the allele present?" with different costs for a false "no" and a false "yes").

* Count `c` in {0..n}, n = individuals in the dataset. Output `z = clip(c + D, 0, n)` with
  P(D = d) = (1 - a) / (1 + a) * a^|d|, a = exp(-epsilon) (a two-sided geometric). Adding or
  removing one person changes c by at most 1, and every output probability by a factor of at
  most e^epsilon: epsilon-DP per answer.
* Membership: the remap of z to yes/no that minimises the expected loss
  `fn_cost * P(c >= 1 | z) [answer no]` versus `fp_cost * P(c = 0 | z) [answer yes]` under a
  public prior over c. A function of z only, so still epsilon-DP (post-processing).
  `sfs_prior` gives a prior shaped like the neutral site-frequency spectrum (Watterson):
  P(0) = p_absent, P(c) proportional to 1/c.
* Count remap: the same for a count loss (`asymmetric_count_loss`: over- and
  under-estimates weighted differently); identity when no loss is given.

Consistency: noise that is drawn afresh on every request averages out when a caller asks the
same question again. `answer_rng(key, dataset_version, query)` derives the generator from an
HMAC of the query under a node secret, so the same query about the same dataset version gets
the same noise, and asking again reveals nothing new. The `query` string must name what was
*matched* (the dataset's variant key), not the request text, or rephrasing the question (with
or without referenceBases, another assembly spelling) would draw new noise.

Epsilon is per answer; the per-participant ledger (issue 13) is where answers add up. These
are pure functions: nothing here is wired into the gate.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from genomesh.core.errors import InvalidInputError

CountLoss = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (true, answer) -> loss, broadcast


def _check(n: int, epsilon: float) -> None:
    if not isinstance(n, int | np.integer) or n < 1:
        raise InvalidInputError(f"n (individuals in the dataset) must be >= 1, got {n!r}")
    if not np.isfinite(epsilon) or epsilon <= 0:
        raise InvalidInputError(f"epsilon must be a positive number, got {epsilon!r}")


def _check_count(count: int, n: int) -> None:
    if not 0 <= count <= n:
        raise InvalidInputError(f"count must be within 0..{n}, got {count}")


def geometric_matrix(n: int, epsilon: float) -> np.ndarray:
    """P[c, z]: probability of output z for true count c (truncated geometric), (n+1)^2."""
    _check(n, epsilon)
    a = float(np.exp(-epsilon))
    idx = np.arange(n + 1)
    p = (1 - a) / (1 + a) * a ** np.abs(idx[:, None] - idx[None, :])
    p[:, 0] = a**idx / (1 + a)  # all of D <= -c lands on 0
    p[:, n] = a ** (n - idx) / (1 + a)  # all of D >= n - c lands on n
    if n == 0:  # pragma: no cover - n >= 1 is enforced
        p[:, 0] = 1.0
    return p


def two_sided_geometric(
    epsilon: float, rng: np.random.Generator, size: int | None = None
) -> np.ndarray:
    """D with P(D = d) proportional to exp(-epsilon |d|): the difference of two geometrics."""
    q = -np.expm1(-epsilon)  # 1 - a
    return rng.geometric(q, size=size) - rng.geometric(q, size=size)


def noisy_count(count: int, *, n: int, epsilon: float, rng: np.random.Generator) -> int:
    """The truncated geometric mechanism: clip(count + D, 0, n)."""
    _check(n, epsilon)
    _check_count(count, n)
    return int(np.clip(count + int(two_sided_geometric(epsilon, rng)), 0, n))


def sfs_prior(n: int, *, p_absent: float = 0.5) -> np.ndarray:
    """A public prior over carrier counts 0..n: P(0) = p_absent, P(c) ~ 1/c for c >= 1."""
    if not 0 < p_absent < 1:
        raise InvalidInputError(f"p_absent must be within (0, 1), got {p_absent}")
    w = 1.0 / np.arange(1, n + 1)
    return np.concatenate([[p_absent], (1 - p_absent) * w / w.sum()])


def _prior(prior: np.ndarray | None, n: int) -> np.ndarray:
    if prior is None:
        return sfs_prior(n)
    prior = np.asarray(prior, dtype=float)
    if prior.shape != (n + 1,) or np.any(prior < 0) or not np.isclose(prior.sum(), 1.0):
        raise InvalidInputError(f"prior must be {n + 1} non-negative numbers summing to 1")
    return prior


@dataclass(frozen=True)
class MembershipMechanism:
    """Geometric noise on the carrier count, then "yes" when the noisy count >= `cutoff`."""

    n: int
    epsilon: float
    cutoff: int  # the Bayes-optimal remap: answer yes iff z >= cutoff (n + 1 = never)

    def _tails(self) -> tuple[np.ndarray, np.ndarray]:
        """(P(yes | c), P(no | c)) for c = 0..n in closed form (no 1 - x cancellation):
        P(D >= m) = P(D <= -m) = a^m / (1 + a) for m >= 1."""
        a = np.exp(-self.epsilon)
        c = np.arange(self.n + 1)
        k = self.cutoff
        if k <= 0:
            return np.ones(self.n + 1), np.zeros(self.n + 1)
        if k > self.n:
            return np.zeros(self.n + 1), np.ones(self.n + 1)
        below = a ** np.abs(c - k + 1) / (1 + a)  # P(z < k) when k <= c
        above = a ** np.abs(k - c) / (1 + a)  # P(z >= k) when k > c
        yes = np.where(k <= c, 1 - below, above)
        no = np.where(k <= c, below, 1 - above)
        return yes, no

    def probability_yes(self) -> np.ndarray:
        """P(yes | c) for c = 0..n."""
        return self._tails()[0]

    def probability_no(self) -> np.ndarray:
        """P(no | c) for c = 0..n (computed directly, accurate where it is tiny)."""
        return self._tails()[1]

    def expected_loss(self, prior: np.ndarray, *, fn_cost: float, fp_cost: float) -> float:
        yes, no = self._tails()
        return float(prior[0] * fp_cost * yes[0] + (prior[1:] * fn_cost * no[1:]).sum())

    def answer(self, count: int, *, rng: np.random.Generator) -> bool:
        """One private answer to "does any of the n individuals carry it?"."""
        return noisy_count(count, n=self.n, epsilon=self.epsilon, rng=rng) >= self.cutoff


@lru_cache(maxsize=256)
def _membership(
    n: int, epsilon: float, fn_cost: float, fp_cost: float, prior: bytes | None
) -> MembershipMechanism:
    pri = _prior(None if prior is None else np.frombuffer(prior), n)
    p = geometric_matrix(n, epsilon)
    loss_no = fn_cost * (pri[1:, None] * p[1:, :]).sum(axis=0)  # per z: E[loss | answer no]
    loss_yes = fp_cost * pri[0] * p[0, :]
    yes = loss_yes < loss_no
    # the posterior odds of presence rise with z, so the yes-set is {z >= cutoff}
    cutoff = int(np.argmax(yes)) if yes.any() else n + 1
    return MembershipMechanism(n, float(epsilon), cutoff)


def membership_mechanism(
    n: int,
    *,
    epsilon: float,
    fn_cost: float = 1.0,
    fp_cost: float = 1.0,
    prior: np.ndarray | None = None,
) -> MembershipMechanism:
    """The optimal epsilon-DP membership answer for a dataset of n individuals.

    `fn_cost` / `fp_cost`: the loss of a false "no" / a false "yes" (asymmetric utility: a
    researcher looking for carriers may weigh a missed carrier above a wasted request).
    `prior`: public prior over carrier counts (default `sfs_prior(n)`).
    """
    _check(n, epsilon)
    if fn_cost <= 0 or fp_cost <= 0:
        raise InvalidInputError("fn_cost and fp_cost must be positive")
    key = None if prior is None else _prior(prior, n).tobytes()
    return _membership(int(n), float(epsilon), float(fn_cost), float(fp_cost), key)


def asymmetric_count_loss(*, over: float = 1.0, under: float = 1.0) -> CountLoss:
    """Linear loss: `over` per unit reported above the truth, `under` per unit below."""

    def loss(true: np.ndarray, answer: np.ndarray) -> np.ndarray:
        d = answer - true
        return np.where(d > 0, over * d, -under * d)

    return loss


def count_remap(
    n: int, *, epsilon: float, loss: CountLoss, prior: np.ndarray | None = None
) -> np.ndarray:
    """remap[z]: the count to report for noisy count z that minimises the expected loss."""
    pri = _prior(prior, n) if prior is not None else np.full(n + 1, 1.0 / (n + 1))
    p = geometric_matrix(n, epsilon)
    idx = np.arange(n + 1)
    cost = loss(idx[:, None], idx[None, :])  # cost[c, a]
    posterior = pri[:, None] * p  # joint (c, z)
    expected = posterior.T @ cost  # expected[z, a]
    return np.argmin(expected, axis=1)


def answer_rng(key: bytes, *, dataset_version: str, query: str) -> np.random.Generator:
    """A generator seeded by HMAC-SHA256(key, dataset_version, query): same query, same noise."""
    if len(key) < 16:
        raise InvalidInputError("the noise key must be at least 16 bytes (keep it secret)")
    digest = hmac.new(key, f"{dataset_version}\x1f{query}".encode(), hashlib.sha256).digest()
    return np.random.default_rng(int.from_bytes(digest, "big"))


__all__ = [
    "MembershipMechanism",
    "answer_rng",
    "asymmetric_count_loss",
    "count_remap",
    "geometric_matrix",
    "membership_mechanism",
    "noisy_count",
    "sfs_prior",
    "two_sided_geometric",
]
