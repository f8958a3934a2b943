"""The gate: guard -> execute -> disclose -> audit, the only way an answer leaves a node.

Surfaces build a `GateRequest` and pass the callable that computes their answer; they never
read the store for a caller any other way. The gate:

1. guards (per dataset: tier, granularity, allowed individuals; see `genomesh.gate.guard`),
2. charges the identity's query budget (anonymous/registered tiers; `BudgetExhaustedError`),
3. executes the surface's callable on the allowed datasets only,
4. checks that the surface kept to the allowed individuals (else nothing leaves),
5. narrows: rare hits and participants past their exposure or scrutiny budget are taken out by
   computing the answer again without them (genomesh.gate.narrowing: a true absence, byte for byte),
6. applies disclosure control (optional ε-DP noise, small counts, anti-differencing, records
   only at `record`),
7. writes one hash-chained audit entry, its ledger rows, the budget charge and the
   participants' exposure charges in one transaction (the budget and the exposure are read
   before, and re-checked in that transaction; a changed exposure means deciding again).

Refusals and errors are audited too. If the audit cannot be written, the answer is not returned.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from genomesh.audit.exposure import ExposureChanged
from genomesh.audit.records import Contribution
from genomesh.audit.state import BudgetCharge, NodeState
from genomesh.core.errors import BudgetExhaustedError, ConflictError, GenomeshError, StoreError
from genomesh.core.settings import Granularity, NodeSettings
from genomesh.disclosure import disclose_count, is_charged, isolates, isolating_split
from genomesh.gate import noise
from genomesh.gate.contract import (
    GRANULARITY_ORDER,
    DatasetAccess,
    DatasetResult,
    DisclosedResult,
    Execute,
    GateRequest,
    GateResponse,
)
from genomesh.gate.guard import DatasetFacts, Guard, is_compelled, is_self_service
from genomesh.gate.narrowing import Narrowed, narrow

if TYPE_CHECKING:
    from genomesh.store import NodeStore


def _version() -> str:
    try:
        from genomesh import __version__

        return str(__version__)
    except ImportError:  # pragma: no cover
        return "unknown"


_NOT_CHARGED: dict[str, Any] = {"charged": False}
_ATTEMPTS = 20  # decisions retried when concurrent answers changed participants' exposure


def _jsonable(value: Any) -> Any:
    """Parameters as JSON (anything unusual becomes its string form)."""
    return json.loads(json.dumps(value, default=str), parse_constant=str)  # NaN -> "NaN"


class Gate:
    """The node's single outflow. One instance per node app; thread-safe."""

    def __init__(self, *, settings: NodeSettings, node: NodeStore, state: NodeState) -> None:
        self.settings, self.node, self.state = settings, node, state
        self.guard = Guard(settings=settings, node=node, state=state)
        # identity key -> queries used, as of this process's last charge for it. Only a hint
        # to skip the pre-execution budget read while clearly under the limit: the charge in
        # the audit transaction re-checks against the database (other workers included).
        self._used_hint: dict[str, int] = {}

    # ------------------------------------------------------------------ run
    def run(self, request: GateRequest, execute: Execute) -> GateResponse:
        """Answer one request through guard -> execute -> disclose -> audit."""
        now = time.time()
        accesses, facts = self.guard.decide_with_facts(request)
        allowed = [a for a in accesses if a.refusal is None]
        refused = {a.dataset_id: str(a.refusal) for a in accesses if a.refusal is not None}
        charge = self._budget(request, allowed, facts, now)
        if not allowed:
            entry = self._audit(
                request, accesses, facts, [], outcome="refused", budget=_NOT_CHARGED, now=now
            )
            return GateResponse((), refused, entry, "boolean", tuple(accesses))
        for attempt in range(_ATTEMPTS):
            try:
                raw = list(execute(allowed))
                self._check(raw, allowed)
                by_id = {a.dataset_id: a for a in allowed}
                narrowed = [
                    self._narrow(r, by_id[r.dataset_id], facts, request, execute) for r in raw
                ]
                raw = [n.result for n in narrowed]
                disclosed = [self._disclose(r, by_id[r.dataset_id], facts, request) for r in raw]
                ledger = self._ledger(raw, disclosed, facts, request)
            except Exception as exc:
                error = exc.describe() if isinstance(exc, GenomeshError) else type(exc).__name__
                self._audit_error(request, accesses, facts, charge, now, error)
                raise
            try:
                # One transaction: budget charge, exposure charges, audit entry, ledger rows.
                entry = self._audit(
                    request,
                    accesses,
                    facts,
                    list(zip(raw, disclosed, strict=True)),
                    outcome="answered",
                    budget=_NOT_CHARGED,
                    now=now,
                    ledger=ledger,
                    charge=charge,
                    narrowed={n.result.dataset_id: n for n in narrowed},
                )
                break
            except BudgetExhaustedError:
                # Spent by this identity's concurrent requests since the check: nothing leaves.
                self._audit_spent(request, allowed, facts, now)
                raise
            except ExposureChanged:
                # Another answer charged these participants (or gave this answer) meanwhile:
                # decide again on what is now recorded.
                if attempt + 1 == _ATTEMPTS:
                    raise ConflictError(
                        "too many concurrent answers about the same participants; try again"
                    ) from None
        overall = min((a.granularity for a in allowed), key=GRANULARITY_ORDER.index)
        return GateResponse(tuple(disclosed), refused, entry, overall, tuple(accesses))

    # ------------------------------------------------------------------ steps
    def _budget(
        self,
        request: GateRequest,
        allowed: Sequence[DatasetAccess],
        facts: Mapping[str, DatasetFacts],
        now: float,
    ) -> BudgetCharge | None:
        """The charge this answer will carry (None if not charged). Only read here; the charge
        is written, and re-checked, in the transaction that writes the audit entry."""
        tiers = {str(a.tier) for a in allowed}
        if not allowed or not is_charged(tiers, self_service=is_self_service(request)):
            return None
        limit, window = self.settings.query_budget, self.settings.budget_window_seconds
        charge = BudgetCharge(request.identity.key, limit, window)
        hint = self._used_hint.get(charge.identity_key)
        if hint is not None and hint + 1 < limit:
            return charge  # far from the limit; the audit transaction checks exactly
        if self.state.budget_used(charge.identity_key, since=now - window) >= limit:
            self._audit_spent(request, allowed, facts, now)
            raise self._spent_error()
        return charge

    def _spent_error(self) -> BudgetExhaustedError:
        limit, window = self.settings.query_budget, self.settings.budget_window_seconds
        return BudgetExhaustedError(
            f"query budget spent: {limit} queries per {window} s for this identity; try again later",
            details={"limit": limit, "window_seconds": window},
        )

    def _audit_spent(
        self,
        request: GateRequest,
        allowed: Sequence[DatasetAccess],
        facts: Mapping[str, DatasetFacts],
        now: float,
    ) -> None:
        limit, window = self.settings.query_budget, self.settings.budget_window_seconds
        budget = {"charged": False, "used": limit, "limit": limit, "window_seconds": window}
        self._audit(
            request, list(allowed), facts, [], outcome="budget_exhausted", budget=budget, now=now
        )

    def _audit_error(
        self,
        request: GateRequest,
        accesses: Sequence[DatasetAccess],
        facts: Mapping[str, DatasetFacts],
        charge: BudgetCharge | None,
        now: float,
        error: str,
    ) -> None:
        """Audit a failed answer; it still uses budget (it reached the datasets)."""
        try:
            self._audit(
                request, accesses, facts, [], outcome="error", budget=_NOT_CHARGED, now=now,
                error=error, charge=charge,
            )  # fmt: skip
        except BudgetExhaustedError:
            self._audit(
                request, accesses, facts, [], outcome="error", budget=_NOT_CHARGED, now=now,
                error=error,
            )  # fmt: skip

    @staticmethod
    def _check(raw: Sequence[DatasetResult], allowed: Sequence[DatasetAccess]) -> None:
        """Fail closed if a surface answered for a dataset or individuals it was not given."""
        by_id = {a.dataset_id: a for a in allowed}
        for r in raw:
            access = by_id.get(r.dataset_id)
            if access is None:
                raise StoreError(
                    f"surface returned a result for dataset {r.dataset_id!r} that the guard did not allow"
                )
            if not r.contributors <= access.allowed_individuals:
                raise StoreError(
                    f"surface used individuals of dataset {r.dataset_id!r} outside the guard's decision"
                )
            if r.count < 0:
                raise StoreError(f"surface returned a negative count for dataset {r.dataset_id!r}")

    def _disclose(
        self,
        result: DatasetResult,
        access: DatasetAccess,
        facts: Mapping[str, DatasetFacts],
        request: GateRequest,
    ) -> DisclosedResult:
        policy = self.settings.policy_for(access.dataset_id)
        raw_count = result.count
        if noise.applies(access, policy, self_service=is_self_service(request)):
            raw_count = noise.noised(
                result,
                access=access,
                facts=facts[access.dataset_id],
                policy=policy,
                key=self.state.noise_key,
                operation=request.operation,
                parameters=request.parameters,
            ).count
        shown = disclose_count(
            raw_count, granularity=access.granularity, min_count=policy.min_count
        )
        count, suppressed, why = (
            shown.count,
            shown.suppressed,
            "small_count" if shown.suppressed else None,
        )
        if (
            count is not None
            and count > 0
            and access.granularity == "count"
            and access.tier != "controlled"
            and not is_self_service(request)
        ) and self._isolates(result, facts[access.dataset_id], request, policy.min_count):
            count, suppressed, why = None, True, "differencing"
        # Rare hits (boolean_min_count) and withheld participants were taken out before this
        # (genomesh.gate.narrowing): such an answer is computed as a true absence, at every
        # granularity, so nothing here can tell the two apart.
        exists = shown.exists
        records = tuple(result.records) if access.granularity == "record" else ()
        return DisclosedResult(
            dataset_id=access.dataset_id,
            granularity=access.granularity,
            exists=exists,
            count=count,
            count_suppressed=suppressed,
            records=records,
            info=dict(result.info),
            suppression=why,
        )

    def _narrow(
        self,
        result: DatasetResult,
        access: DatasetAccess,
        facts: Mapping[str, DatasetFacts],
        request: GateRequest,
        execute: Execute,
    ) -> Narrowed:
        if is_self_service(request):
            return Narrowed(result)  # a participant's own data, going back to them
        if is_compelled(request):
            return Narrowed(result)  # exactly what the custodian decided to disclose, or nothing

        def without(withheld: frozenset[str]) -> DatasetResult:
            smaller = replace(access, allowed_individuals=access.allowed_individuals - withheld)
            out = [r for r in execute([smaller]) if r.dataset_id == access.dataset_id]
            self._check(out, [smaller])
            return out[0] if out else DatasetResult(access.dataset_id, count=0)

        return narrow(
            result,
            access=access,
            facts=facts[access.dataset_id],
            policy=self.settings.policy_for(access.dataset_id),
            exposure=self.state.exposure,
            without=without,
            line_key=self.state.noise_key,
            question=_question(request),
        )

    def _isolates(
        self, result: DatasetResult, facts: DatasetFacts, request: GateRequest, min_count: int
    ) -> bool:
        """Anti-differencing, for counts of individuals (count == number of contributors)."""
        answers = self.settings.anti_differencing_answers
        if answers <= 0 or result.count != len(result.contributors):
            return False
        mine = Contribution(
            facts.dataset_id,
            frozenset(result.contributors),
            "aggregate",
            roster=facts.roster,
            roster_key=f"{facts.dataset_id}@{facts.version}",
        )
        differences, bits, earlier = self.state.recent_overlaps(
            mine, recipient_key=request.identity.key, answers=answers
        )
        if isolates(differences, min_count=min_count) is not None:
            return True
        return isolating_split(bits, earlier, min_count=min_count) is not None

    def _ledger(
        self,
        raw: Sequence[DatasetResult],
        shown: Sequence[DisclosedResult],
        facts_by_id: Mapping[str, DatasetFacts],
        request: GateRequest,
    ) -> list[Contribution]:
        """One ledger contribution per answered dataset: who shaped it, and how it left."""
        if is_self_service(request):
            return []  # a participant's own data going back to them is not a disclosure to others
        rows: list[Contribution] = []
        for r, d in zip(raw, shown, strict=True):
            if not r.contributors:
                continue
            facts = facts_by_id[r.dataset_id]
            rows.append(
                Contribution(
                    dataset_id=r.dataset_id,
                    members=frozenset(r.contributors),
                    kind="record" if d.granularity == "record" and d.records else "aggregate",
                    exact=d.count is not None,
                    roster=facts.roster,
                    roster_key=f"{facts.dataset_id}@{facts.version}",
                )
            )
        return rows

    def _audit(
        self,
        request: GateRequest,
        accesses: Sequence[DatasetAccess],
        facts_by_id: Mapping[str, DatasetFacts],
        answered: Sequence[tuple[DatasetResult, DisclosedResult]],
        *,
        outcome: str,
        budget: dict[str, Any],
        now: float,
        error: str | None = None,
        ledger: Sequence[Contribution] = (),
        charge: BudgetCharge | None = None,
        narrowed: Mapping[str, Narrowed] | None = None,
    ) -> int:
        identity = request.identity
        narrowed = narrowed or {}
        results = {raw.dataset_id: (raw, shown) for raw, shown in answered}
        datasets: list[dict[str, Any]] = []
        versions: dict[str, str] = {}
        n_individuals = 0  # (dataset, individual) pairs: datasets never share a pair
        for a in accesses:
            item: dict[str, Any] = {
                "id": a.dataset_id,
                "tier": a.tier,
                "granularity": a.granularity,
            }
            if a.refusal is not None:
                item["refusal"] = a.refusal
            if a.notes:
                item["notes"] = list(a.notes)
            if a.dataset_id in facts_by_id:
                versions[a.dataset_id] = facts_by_id[a.dataset_id].version
            if a.dataset_id in results:
                raw, shown = results[a.dataset_id]
                n_individuals += len(raw.contributors)
                item.update(
                    n_individuals=len(raw.contributors),
                    exists=shown.exists,
                    count=shown.count,
                    count_suppressed=shown.count_suppressed,
                    suppression=shown.suppression,
                    n_records=len(shown.records),
                )
            if a.dataset_id in narrowed and narrowed[a.dataset_id].audit:
                item["exposure"] = narrowed[a.dataset_id].audit_body(self.state.pseudonym)
            datasets.append(item)
        returned: Granularity | None = None
        if results:
            returned = min(
                (a.granularity for a in accesses if a.dataset_id in results),
                key=GRANULARITY_ORDER.index,
            )
        key, subject = identity.key, identity.subject
        parameters = _jsonable(dict(request.parameters))
        if is_self_service(request) and identity.subject:
            # A participant's own request: the audit log names them by a keyed pseudonym,
            # never by their individual id (which stays in the ledger, docs/audit.md).
            subject = "participant:" + self.state.pseudonym("", identity.subject)
            key = f"{identity.issuer}|{subject}"
            parameters = {k: subject if v == identity.subject else v for k, v in parameters.items()}
        body: dict[str, Any] = {
            "time": datetime.fromtimestamp(now, UTC).isoformat(),
            "who": {
                "identity_key": key,
                "tier": identity.tier,
                "subject": subject,
                "issuer": identity.issuer,
                # which passport: a hub-derived one names the researcher's original too, so an
                # answer can be traced to the passport the DAC issued (and its revocation)
                **({"passport_jti": identity.passport_jti} if identity.passport_jti else {}),
                **({"orig_jti": identity.orig_jti} if identity.orig_jti else {}),
            },
            "what": {
                "surface": request.surface,
                "operation": request.operation,
                "parameters": parameters,
                "requested_granularity": request.requested_granularity,
            },
            "datasets": datasets,
            "granularity": returned,
            "n_individuals": n_individuals,
            "refused": {a.dataset_id: a.refusal for a in accesses if a.refusal is not None},
            "outcome": outcome,
            "budget": budget,
            "provenance": {
                "genomesh_version": _version(),
                "node": self.settings.name,
                "dataset_versions": versions,
            },
        }
        if error is not None:
            body["error"] = error
        entry = self.state.append_audit(
            body,
            disclosures=ledger,
            recipient_key=key,
            recipient_subject=subject,
            now=now,
            charge=charge,
            exposure=[n.charge for n in narrowed.values() if n.charge is not None],
        )
        if charge is not None:
            used = entry.body.get("budget", {}).get("used")
            if isinstance(used, int):
                if len(self._used_hint) > 10_000:
                    self._used_hint.clear()
                self._used_hint[charge.identity_key] = used
        return entry.seq


_NOT_THE_QUESTION = ("skip", "limit")  # paging: the same question, another page


def _question(request: GateRequest) -> str:
    """What was asked, canonical, for the scrutiny accounts (the wording as the surface
    parsed it; paging and the requested granularity do not make another question)."""
    parameters = {k: v for k, v in request.parameters.items() if k not in _NOT_THE_QUESTION}
    return json.dumps(
        [request.surface, request.operation, parameters],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )


__all__ = ["Gate"]
