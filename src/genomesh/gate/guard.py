"""The access guard: for each requested dataset, the granularity and the individuals allowed.

Per dataset, in this order:
1. tier: `controlled` only with a ControlledAccessGrants visa for this dataset AND a research
   purpose (without a purpose the participants' consent cannot be checked, so the grant is not
   used); otherwise `registered` for researchers (ResearcherStatus visa), else `anonymous`;
2. granularity = min(requested, the policy's cap for that tier); `aggregates_only` caps at count;
   a dataset with no recorded consent terms gets the anonymous cap only;
3. jurisdiction rules (`genomesh.access.jurisdiction.apply_jurisdiction`) may lower or refuse;
4. individuals = everyone in the dataset minus the withdrawn; at the controlled tier only those
   whose own consent approves the identity's purpose (`match_purpose(...).decision == "approve"`);
   an aggregate-only purpose (`purpose.aggregates_only`) caps the granularity at count;
5. minus the community-governed participants the caller has no community approval for, or
   whose Biocultural Labels' conditions the purpose breaks (genomesh.gate.communities).

A Matchmaker Exchange peer (identity from `matchmaker_identity`, surface `matchmaker`) gets
record granularity over the non-withdrawn individuals; the matchmaker narrows that to the
patients the custodian enrolled with consent to matchmaking and contact.

A participant using the participant API (identity issued by `participant_identity`) may see
only their own data, at record granularity, withdrawn or not (right of access, GDPR Art. 15).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from genomesh.access.identity import Identity
from genomesh.access.jurisdiction import Profiles, apply_jurisdiction, load_profiles
from genomesh.access.purpose_match import match_purpose
from genomesh.audit.state import NodeState
from genomesh.core.consent import DataUseTerm
from genomesh.core.errors import NotFoundError
from genomesh.core.settings import DatasetPolicy, Granularity, NodeSettings
from genomesh.gate.communities import community_exclusions
from genomesh.gate.contract import DatasetAccess, GateRequest, min_granularity

if TYPE_CHECKING:
    from genomesh.store import DatasetStore, NodeStore

PARTICIPANT_ISSUER = "urn:genomesh:participant"
PARTICIPANT_SURFACE = "participants"
MATCHMAKER_ISSUER = "urn:genomesh:matchmaker"
MATCHMAKER_SURFACE = "matchmaker"
COMPELLED_ISSUER = "urn:genomesh:compelled"
COMPELLED_SURFACE = "compelled"


def participant_identity(individual_id: str, *, client_address: str | None = None) -> Identity:
    """The identity of a participant authenticated by their node-issued token."""
    return Identity(
        tier="anonymous",
        subject=individual_id,
        issuer=PARTICIPANT_ISSUER,
        client_address=client_address,
    )


def matchmaker_identity(peer: str, *, client_address: str | None = None) -> Identity:
    """The identity of a Matchmaker Exchange peer authenticated by its X-Auth-Token."""
    return Identity(
        tier="registered", subject=peer, issuer=MATCHMAKER_ISSUER, client_address=client_address
    )


def compelled_identity(request_id: str) -> Identity:
    """The recipient of a disclosure the custodian decided on under a compelled-disclosure
    request (genomesh.participants.compelled); built only from the custodian's register."""
    return Identity(tier="anonymous", subject=f"compelled:{request_id}", issuer=COMPELLED_ISSUER)


def is_compelled(request: GateRequest) -> bool:
    return (
        request.surface == COMPELLED_SURFACE
        and request.identity.issuer == COMPELLED_ISSUER
        and request.identity.subject is not None
    )


def is_matchmaking(request: GateRequest) -> bool:
    return (
        request.surface == MATCHMAKER_SURFACE
        and request.identity.issuer == MATCHMAKER_ISSUER
        and request.identity.subject is not None
    )


def is_self_service(request: GateRequest) -> bool:
    return (
        request.surface == PARTICIPANT_SURFACE
        and request.identity.issuer == PARTICIPANT_ISSUER
        and request.identity.subject is not None
    )


@dataclass(frozen=True)
class DatasetFacts:
    """What the guard needs from one dataset version (cached per version)."""

    dataset_id: str
    version: str
    has_consent_terms: bool
    individuals: frozenset[str]
    consents: Mapping[str, Sequence[DataUseTerm]]
    roster: tuple[str, ...] = ()  # the individuals, sorted (what ledger bitmaps refer to)


def _granted(identity: Identity, dataset_id: str, settings: NodeSettings) -> bool:
    """Does a ControlledAccessGrants visa name this dataset (by id or by this node's URL)?"""
    named = identity.controlled_datasets
    if dataset_id in named:
        return True
    prefixes = [f"{settings.base_url.rstrip('/')}/datasets/", *settings.dataset_url_prefixes]
    for value in named:
        for prefix in prefixes:
            if value.startswith(prefix) and value[len(prefix) :].strip("/") == dataset_id:
                return True
    return False


def _is_researcher(identity: Identity) -> bool:
    if identity.tier == "registered":
        return True
    return identity.tier == "controlled" and any(
        v.type == "ResearcherStatus" for v in identity.visas
    )


def _cap(policy: DatasetPolicy, tier: str) -> Granularity:
    caps: Granularity = getattr(policy.tiers, tier)
    return caps


def _approved(
    purpose: Any, consents: Mapping[str, Sequence[DataUseTerm]], individuals: frozenset[str]
) -> frozenset[str]:
    """Individuals whose own consent approves the purpose (`needs_review` is not approval)."""
    today = date.today()
    return frozenset(
        i
        for i in individuals
        if match_purpose(purpose, list(consents.get(i, ())), today=today).decision == "approve"
    )


class Guard:
    """Decides, per dataset, what one request may see. Caches dataset facts per version."""

    def __init__(self, *, settings: NodeSettings, node: NodeStore, state: NodeState) -> None:
        self.settings, self.node, self.state = settings, node, state
        self._facts: dict[str, DatasetFacts] = {}
        self._approved: dict[tuple[str, str, str, date], frozenset[str]] = {}
        # The allowed individuals per (dataset, version[, purpose]) and withdrawals version:
        # the same frozenset object for every request until a withdrawal is recorded, so the
        # engine's per-set caches hit by identity (no per-request set arithmetic or hashing).
        self._allowed: dict[tuple[Any, ...], frozenset[str]] = {}
        self._lock = threading.Lock()
        self._profiles: Profiles = load_profiles(settings.jurisdiction_profiles)

    def _jurisdiction(
        self, policy: DatasetPolicy, identity: Identity, requested: Granularity, has_terms: bool
    ) -> tuple[Granularity | None, str | None]:
        """The granularity the jurisdiction rules allow, and the rule that lowered it."""
        decision = apply_jurisdiction(
            node_country=self.settings.jurisdiction,
            policy=policy,
            identity=identity,
            requested=requested,
            has_consent_terms=has_terms,
            profiles=self._profiles,
        )
        if decision.rule is None:
            return decision.granularity, None
        return decision.granularity, f"jurisdiction rule {decision.rule}: {decision.reason}"

    def facts(self, dataset: DatasetStore) -> DatasetFacts:
        info = dataset.info
        cached = self._facts.get(info.id)
        if cached is not None and cached.version == info.version:
            return cached
        con = dataset.connect()
        try:
            ids = frozenset(
                r[0] for r in con.execute("SELECT individual_id FROM individuals").fetchall()
            )
        finally:
            con.close()
        facts = DatasetFacts(
            info.id,
            str(info.version),
            bool(info.has_consent_terms),
            ids,
            dataset.consents(),
            tuple(sorted(ids)),
        )
        with self._lock:
            self._facts[info.id] = facts
            self._approved = {
                k: v for k, v in self._approved.items() if k[0] != info.id or k[1] == facts.version
            }
        return facts

    def known(self, dataset_id: str) -> DatasetFacts | None:
        """The facts the guard last used for a dataset (None if it never saw it)."""
        return self._facts.get(dataset_id)

    def decide(self, request: GateRequest) -> list[DatasetAccess]:
        return self.decide_with_facts(request)[0]

    def decide_with_facts(
        self, request: GateRequest
    ) -> tuple[list[DatasetAccess], dict[str, DatasetFacts]]:
        """The decisions, and the dataset facts (versions, rosters) they were taken on."""
        ids = (
            list(request.dataset_ids)
            if request.dataset_ids is not None
            else list(self.node.dataset_ids())
        )
        seen: dict[str, DatasetFacts] = {}
        withdrawals: list[tuple[int, int]] = []  # read once per request, when first needed
        decisions = [self._decide_one(request, d, seen, withdrawals) for d in dict.fromkeys(ids)]
        return decisions, seen

    def _decide_one(
        self,
        request: GateRequest,
        dataset_id: str,
        seen: dict[str, DatasetFacts],
        withdrawals: list[tuple[int, int]],
    ) -> DatasetAccess:
        try:
            dataset = self.node.dataset(dataset_id)
        except NotFoundError:
            return DatasetAccess(dataset_id, "boolean", frozenset(), refusal="no such dataset")
        facts = seen[dataset_id] = self.facts(dataset)
        identity = request.identity
        if is_self_service(request):
            me = identity.subject
            if me not in facts.individuals:
                return DatasetAccess(
                    dataset_id,
                    "boolean",
                    frozenset(),
                    refusal="not a participant of this dataset",
                    tier="participant",
                )
            return DatasetAccess(dataset_id, "record", frozenset({str(me)}), tier="participant")
        if is_compelled(request):
            # A disclosure the custodian decided on under a recorded legal demand: exactly the
            # participants the register names (by pseudonym), at record level, withdrawn or not
            # (a court order reaches data the node still holds); ledgered and audited as usual.
            named = frozenset(request.parameters.get("individual_pseudonyms") or ())
            individuals = frozenset(
                i for i in facts.individuals if self.state.pseudonym(dataset_id, i) in named
            )
            return DatasetAccess(dataset_id, "record", individuals, tier="compelled")
        if is_matchmaking(request):
            # A matchmaking peer sees the MME records of enrolled patients (the custodian's
            # enrolment records their consent to matchmaking and contact); the withdrawn never.
            if not withdrawals:
                withdrawals.append(self.state.withdrawals_version())
            individuals = self._not_withdrawn(facts, withdrawals[0])
            policy = self.settings.policy_for(dataset_id)
            individuals, community_notes = self._communities(
                policy, identity, facts, withdrawals[0], individuals
            )
            return DatasetAccess(
                dataset_id, "record", individuals, tier="matchmaker", notes=community_notes
            )

        policy = self.settings.policy_for(dataset_id)
        notes: list[str] = []
        granted = _granted(identity, dataset_id, self.settings)
        if granted and identity.purpose is None:
            notes.append(
                "access grant not used: the passport carries no research purpose to check consent against"
            )
        if granted and identity.purpose is not None:
            tier = "controlled"
        elif _is_researcher(identity):
            tier = "registered"
        else:
            tier = "anonymous"
        granularity = min_granularity(request.requested_granularity, _cap(policy, tier))
        if policy.aggregates_only:
            granularity = min_granularity(granularity, "count")
        if identity.purpose is not None and identity.purpose.aggregates_only:
            # an aggregate-only approval (e.g. one auto-approved under proportionate review)
            granularity = min_granularity(granularity, "count")
            notes.append("the approved purpose is aggregate-only: at most counts")
        if not facts.has_consent_terms:
            if tier != "anonymous":
                notes.append("no recorded consent terms: anonymous-tier answers only")
            granularity = min_granularity(granularity, _cap(policy, "anonymous"))
            tier = "anonymous"
        allowed_granularity, note = self._jurisdiction(
            policy, identity, granularity, facts.has_consent_terms
        )
        if allowed_granularity is None:
            return DatasetAccess(
                dataset_id, granularity, frozenset(), refusal=note, tier=tier, notes=tuple(notes)
            )
        if note:
            notes.append(note)
        granularity = min_granularity(granularity, allowed_granularity)

        if not withdrawals:
            withdrawals.append(self.state.withdrawals_version())
        individuals = self._not_withdrawn(facts, withdrawals[0])
        if tier == "controlled":
            approved = self._approved_for(facts, identity)
            key = (facts.dataset_id, facts.version, withdrawals[0], approved)
            consenting = self._allowed.get(key)
            if consenting is None:
                consenting = self._remember(key, individuals & approved)
            excluded = len(individuals) - len(consenting)
            if excluded:
                notes.append(
                    f"{excluded} individuals excluded: their consent does not approve the stated purpose"
                )
            individuals = consenting
        individuals, left_out = self._communities(
            policy, identity, facts, withdrawals[0], individuals
        )
        notes.extend(left_out)
        return DatasetAccess(dataset_id, granularity, individuals, tier=tier, notes=tuple(notes))

    def _communities(
        self,
        policy: DatasetPolicy,
        identity: Identity,
        facts: DatasetFacts,
        withdrawals: tuple[int, int],
        individuals: frozenset[str],
    ) -> tuple[frozenset[str], tuple[str, ...]]:
        """`individuals` minus the community-governed participants this caller may not see
        (genomesh.gate.communities), cached so the same set object comes back each time."""
        if not policy.communities:
            return individuals, ()
        out, notes = community_exclusions(policy.communities, identity, facts.individuals)
        if not out & individuals:
            return individuals, notes
        key = (facts.dataset_id, facts.version, withdrawals, "communities", individuals, out)
        kept = self._allowed.get(key)
        if kept is None:
            kept = self._remember(key, individuals - out)
        return kept, notes

    def _not_withdrawn(self, facts: DatasetFacts, withdrawals: tuple[int, int]) -> frozenset[str]:
        """The dataset's individuals minus the withdrawn, as of `withdrawals` (cached)."""
        key = (facts.dataset_id, facts.version, withdrawals)
        hit = self._allowed.get(key)
        if hit is None:
            hit = self._remember(key, facts.individuals - self.state.withdrawn(facts.dataset_id))
        return hit

    def _remember(self, key: tuple[Any, ...], value: frozenset[str]) -> frozenset[str]:
        """Keep `value` for `key` = (dataset, version, withdrawals version, ...); entries of the
        same dataset for an older version or withdrawal state are dropped."""
        with self._lock:
            for old in list(self._allowed):
                if old[0] == key[0] and old[1:3] != key[1:3]:
                    del self._allowed[old]
            if len(self._allowed) >= 1024:  # many purposes at once: start again
                self._allowed.clear()
            return self._allowed.setdefault(key, frozenset(value))

    def _approved_for(self, facts: DatasetFacts, identity: Identity) -> frozenset[str]:
        assert identity.purpose is not None
        key = (facts.dataset_id, facts.version, identity.purpose.model_dump_json(), date.today())
        hit = self._approved.get(key)
        if hit is None:
            hit = _approved(identity.purpose, facts.consents, facts.individuals)
            with self._lock:
                self._approved[key] = hit
        return hit


__all__ = [
    "COMPELLED_ISSUER",
    "COMPELLED_SURFACE",
    "MATCHMAKER_ISSUER",
    "MATCHMAKER_SURFACE",
    "PARTICIPANT_ISSUER",
    "DatasetFacts",
    "Guard",
    "compelled_identity",
    "is_compelled",
    "is_matchmaking",
    "is_self_service",
    "matchmaker_identity",
    "participant_identity",
]
