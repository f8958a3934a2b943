"""A node's matchmaker: score enrolled patients against a query patient, through the gate.

Every /match is one gate run (surface `matchmaker`): the guard gives the peer record
granularity over the non-withdrawn individuals of each dataset with enrolled patients; the
matchmaker scores only enrolled patients of those individuals (test patients for `test: true`
queries, real ones otherwise), keeps those above the score threshold, and returns the best
`max_results`. The returned patients are the disclosure: the audit log records the answer and
the ledger lists each returned individual, so a later withdrawal notifies the peer. A result
carries the enrolled MME record as the custodian submitted it (contact included); no genotype
beyond what that record already names ever leaves.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import numpy as np

from genomesh.gate import DatasetAccess, DatasetResult, Gate, GateRequest, matchmaker_identity
from genomesh.matchmaker.registry import EnrolledPatient, MatchmakerRegistry
from genomesh.matchmaker.schema import validate_request
from genomesh.matchmaker.scoring import (
    CandidatePool,
    PhenotypeMethod,
    PreparedQuery,
    Weighting,
    genomic_keys,
    prepare,
    score_pool,
)
from genomesh.matchmaker.termspace import ICKind
from genomesh.matchmaker.wire import ACCEPTED_TYPES, MME_VERSION, RESPONSE_TYPE


@dataclass
class MatchOptions:
    max_results: int = 10
    min_score: float = 0.0  # results must score above this
    phenotype_method: PhenotypeMethod = "query-resnik-jc"
    weighting: Weighting = "genomesh"
    ic: ICKind = "omim"  # the annotation corpus information content comes from


def hpo_version() -> str:
    """The release of the HPO the scores were computed with (shown with every answer)."""
    from genomesh.ontology.hpo import get_hpo

    return get_hpo().version


@dataclass
class _Pool:
    """One dataset's enrolled patients, their scoring pool, and each individual's positions."""

    enrolled: list[EnrolledPatient]
    scoring: CandidatePool
    individuals: dict[str, list[int]]

    def allowed(self, individuals: AbstractSet[str]) -> np.ndarray:
        """Mask of the patients whose individual the gate allows (usually all but a few)."""
        mask = np.ones(len(self.enrolled), dtype=bool)
        for individual in self.individuals.keys() - individuals:
            mask[self.individuals[individual]] = False
        return mask


class Matchmaker:
    """Matches for one node; thread-safe. Each dataset's enrolled patients are laid out for
    batch scoring once (`CandidatePool`) and reused until its enrolment changes."""

    def __init__(
        self, *, gate: Gate, registry: MatchmakerRegistry, options: MatchOptions | None = None
    ) -> None:
        self.gate, self.registry = gate, registry
        settings = gate.settings
        self.options = options or MatchOptions(
            phenotype_method=getattr(settings, "match_phenotype_method", "query-resnik-jc"),
            weighting=getattr(settings, "match_weighting", "genomesh"),
            ic=getattr(settings, "match_ic", "omim"),
        )
        self._prepared: dict[tuple[str, str], PreparedQuery] = {}
        self._pools: dict[tuple[str, bool], _Pool] = {}
        self._grouped: (
            tuple[list[EnrolledPatient], dict[bool, dict[str, list[EnrolledPatient]]]] | None
        ) = None
        self._lock = threading.Lock()
        self.requests_received = 0
        self.matches_sent = 0
        self.genes_matched: set[str] = set()

    def _candidate(self, enrolled: EnrolledPatient) -> PreparedQuery:
        key = (enrolled.id, enrolled.enrolled_at)
        hit = self._prepared.get(key)
        if hit is None:
            hit = prepare(enrolled.patient)
            with self._lock:
                if len(self._prepared) > 100_000:
                    self._prepared.clear()
                self._prepared[key] = hit
        return hit

    def _pool(self, dataset_id: str, test: bool, enrolled: list[EnrolledPatient]) -> _Pool:
        """The dataset's candidates as a pool, rebuilt only when its enrolment changed (the
        registry hands out the same `EnrolledPatient` objects until its file changes; the
        cache keeps them alive, so identity is a safe and cheap test)."""
        hit = self._pools.get((dataset_id, test))
        if (
            hit is not None
            and len(hit.enrolled) == len(enrolled)
            and all(a is b for a, b in zip(hit.enrolled, enrolled, strict=True))
        ):
            return hit
        individuals: dict[str, list[int]] = {}
        for i, p in enumerate(enrolled):
            individuals.setdefault(p.individual_id, []).append(i)
        pool = _Pool(
            list(enrolled), CandidatePool.build([self._candidate(p) for p in enrolled]), individuals
        )
        with self._lock:
            self._pools[(dataset_id, test)] = pool
        return pool

    def _by_dataset(self, test: bool) -> dict[str, list[EnrolledPatient]]:
        """Enrolled test (or real) patients per dataset, regrouped only when the registry
        re-read its file (it hands out the same objects until then)."""
        patients = self.registry.patients()
        cached = self._grouped
        if not (
            cached is not None
            and len(cached[0]) == len(patients)
            and all(a is b for a, b in zip(cached[0], patients, strict=True))
        ):
            groups: dict[bool, dict[str, list[EnrolledPatient]]] = {True: {}, False: {}}
            for p in patients:
                groups[p.test].setdefault(p.dataset_id, []).append(p)
            cached = self._grouped = (patients, groups)
        return cached[1][test]

    def warm(self) -> None:
        """Lay out every dataset's candidates and compile the scoring kernel now (call at
        start-up), so the first peer's /match is not the one that waits for it (several seconds
        for 10,000 patients, longer than the hub's per-node timeout)."""
        probe = prepare({"features": [{"id": "HP:0000118"}]})
        for test in (False, True):
            for dataset_id, enrolled in self._by_dataset(test).items():
                pool = self._pool(dataset_id, test, enrolled)
                score_pool(probe, pool.scoring, phenotype_method=self.options.phenotype_method,
                           weighting=self.options.weighting, ic=self.options.ic)  # fmt: skip

    def match(
        self,
        body: Any,
        *,
        peer: str,
        client_address: str | None = None,
        on_behalf_of: str | None = None,
    ) -> tuple[dict[str, Any], int | None]:
        """The MME response for one request, and the audit entry of the answer.
        `on_behalf_of` names who the peer relays for (the hub: its requesting peer), audited."""
        request = validate_request(body)
        query_patient = request["patient"]
        is_test = bool(query_patient.get("test") or request.get("test"))
        by_dataset = self._by_dataset(is_test)
        query = prepare(query_patient)
        options = self.options
        scored: list[tuple[float, dict[str, Any]]] = []

        def execute(accesses: Sequence[DatasetAccess]) -> list[DatasetResult]:
            results = []
            for access in accesses:
                candidates = by_dataset.get(access.dataset_id, [])
                if not candidates:
                    results.append(DatasetResult(access.dataset_id, count=0, records=[]))
                    continue
                pool = self._pool(access.dataset_id, is_test, candidates)
                scores = score_pool(
                    query,
                    pool.scoring,
                    phenotype_method=options.phenotype_method,
                    weighting=options.weighting,
                    ic=options.ic,
                )
                allowed = pool.allowed(access.allowed_individuals)
                keep = np.flatnonzero(allowed & (scores.patient > options.min_score))
                best = keep[np.argsort(-scores.patient[keep], kind="stable")][: options.max_results]
                rows = [
                    (
                        candidates[i].individual_id,
                        {
                            "score": scores.explain(int(i)).to_mme(),
                            "patient": candidates[i].patient,
                        },
                    )
                    for i in best
                ]
                results.append(
                    DatasetResult(
                        access.dataset_id,
                        count=len(rows),
                        records=[r[1] for r in rows],
                        contributors={r[0] for r in rows},
                    )
                )
            return results

        parameters = {
            "patient_id": query_patient.get("id"),
            "features": [f.get("id") for f in query_patient.get("features") or []],
            "genes": [k.gene_label for k in genomic_keys(query_patient)],
            "test": is_test,
        }
        if on_behalf_of:
            parameters["on_behalf_of"] = on_behalf_of
        # Always one gate run, even with nothing enrolled: every answer has its audit entry.
        answer = self.gate.run(
            GateRequest(
                identity=matchmaker_identity(peer, client_address=client_address),
                surface="matchmaker",
                operation="match",
                parameters=parameters,
                dataset_ids=sorted(by_dataset),
                requested_granularity="record",
            ),
            execute,
        )
        for disclosed in answer.results:
            for record in disclosed.records:
                scored.append((float(record["score"]["patient"]), dict(record)))
        scored.sort(key=lambda r: -r[0])
        results = [r[1] for r in scored[: options.max_results]]
        with self._lock:
            self.requests_received += 1
            self.matches_sent += len(results)
            for r in results:
                self.genes_matched.update(r["score"].get("_sharedGenes", []))
        audit_id = answer.audit_id
        response = {
            "results": results,
            "disclaimer": (
                "Matches are for research and clinical follow-up between the contacts named; "
                "confirm any finding clinically before acting on it."
            ),
            "_genomesh": {
                "node": self.gate.settings.name,
                "auditId": audit_id,
                "hpoVersion": hpo_version(),
            },
        }
        return response, audit_id

    def metrics(self) -> dict[str, Any]:
        """The MME /metrics counts for this node's real (non-test) enrolled patients."""
        patients = [p.patient for p in self.registry.patients() if not p.test]
        genes = [g.gene for p in patients for g in genomic_keys(p)]
        variants = [g.variant for p in patients for g in genomic_keys(p) if g.variant is not None]
        features = [f.get("id") for p in patients for f in p.get("features") or []]
        feature_sets = [
            tuple(sorted(str(f.get("id")) for f in p.get("features") or [])) for p in patients
        ]
        submitters = {
            (p.get("contact") or {}).get("href") or (p.get("contact") or {}).get("name")
            for p in patients
        }
        return {
            "metrics": {
                "numberOfCases": len(patients),
                "numberOfSubmitters": len(submitters),
                "numberOfGenes": len(genes),
                "numberOfUniqueGenes": len(set(genes)),
                "numberOfVariants": len(variants),
                "numberOfUniqueVariants": len(set(variants)),
                "numberOfFeatures": len(features),
                "numberOfUniqueFeatures": len(set(features)),
                "numberOfFeatureSets": len(feature_sets),
                "numberOfUniqueGenesMatched": len(self.genes_matched),
                "numberOfCasesWithDiagnosis": sum(1 for p in patients if p.get("disorders")),
                "numberOfRequestsReceived": self.requests_received,
                "numberOfPotentialMatchesSent": self.matches_sent,
                "dateGenerated": time.strftime("%Y-%m-%d", time.gmtime()),
            }
        }


__all__ = ["ACCEPTED_TYPES", "MME_VERSION", "RESPONSE_TYPE", "MatchOptions", "Matchmaker"]
