"""Beacon v2 response envelopes: boolean, count, result sets, and the error body.

The response kind follows the granularity the gate actually returned (never what was asked):

* boolean -> `beaconBooleanResponse` (`responseSummary.exists`);
* count -> `beaconCountResponse` (`numTotalResults` = sum of the disclosed per-dataset counts,
  ignoring pagination); if every existing count was suppressed the answer degrades to boolean
  and says so;
* record -> `beaconResultsetsResponse`, one result set per dataset answered at record level
  (`resultsCount` = the dataset's total, `results` = the requested page), plus one per dataset
  answered at count level (`resultsCount`, no results); each set's `info.granularity` says which.

Per-dataset detail that has no place in the spec (granularity per dataset, suppressed counts,
refused or unanswered datasets and why) goes into the top-level `info` object, which every
Beacon response allows:

    "info": {"datasets": [{"id", "exists", "granularity", "count"?, "countSuppressed",
                           "suppression"?, "notes"?}],
             "refused": [{"id", "reason", "code"}], "disclosure": "<why answers may be narrowed>",
             "auditId": 17}

`suppression` ("small_count" | "differencing") only ever accompanies `countSuppressed`: an
answer narrowed for a rare allele or a spent budget is a true absence and says nothing.
Each `info.datasets[]` item also has `reasons: [{code, message}]` (genomesh.beacon.reasons): why
the answer is narrower than asked, and the disclosure rules that apply to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from genomesh.beacon.reasons import dataset_reasons, refusal_code
from genomesh.beacon.request import BeaconRequest
from genomesh.core.beacon_model import API_VERSION, returned_schemas
from genomesh.core.settings import Granularity, NodeSettings
from genomesh.gate.contract import DisclosedResult, GateResponse


def response_meta(
    settings: NodeSettings,
    req: BeaconRequest | None,
    *,
    granularity: Granularity,
    entry: str | None = None,
) -> dict[str, Any]:
    """`meta` of a non-informational response (also used in error bodies)."""
    summary = (
        req.summary()
        if req is not None
        else {
            "apiVersion": API_VERSION,
            "requestedSchemas": [],
            "pagination": {"skip": 0, "limit": 10},
            "requestedGranularity": "boolean",
        }
    )
    return {
        "beaconId": settings.beacon_id,
        "apiVersion": API_VERSION,
        "returnedSchemas": returned_schemas(entry or (req.returned_entry if req else "")),
        "returnedGranularity": granularity,
        "receivedRequestSummary": summary,
        "testMode": bool(req.test_mode) if req else False,
    }


def error_body(
    settings: NodeSettings,
    status: int,
    message: str,
    *,
    req: BeaconRequest | None = None,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A `beaconErrorResponse`."""
    body: dict[str, Any] = {
        "meta": response_meta(settings, req, granularity="boolean"),
        "error": {"errorCode": int(status), "errorMessage": message},
    }
    if details:
        body["info"] = {"details": dict(details)}
    return body


# Why answers may be narrowed: one general statement per response kind, given with every
# answer of that kind and never per allele, so it says nothing about the question asked
# (a hidden answer and a true absence are the same bytes; docs/disclosure-control.md).
DISCLOSURE_NOTES: dict[str, str] = {
    "boolean": "exists=false means not present, or present in too few people to disclose "
    "(rare alleles, and people whose disclosure or scrutiny budget is spent, are answered as "
    "absent)",
    "count": "a count of 0 means none, or too few people to disclose; a count below the "
    "dataset's threshold is not given (countSuppressed), nor one that would single out a "
    "person against an earlier answer",
    "record": "records are given for datasets you are granted; elsewhere counts follow the "
    "count rules, and rare alleles and people whose disclosure budget is spent are answered "
    "as absent",
}


def _refused(dataset_id: str, reason: str) -> dict[str, Any]:
    return {"id": dataset_id, "reason": reason, "code": refusal_code(reason)}


def _dataset_info(r: DisclosedResult) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": r.dataset_id,
        "exists": r.exists,
        "granularity": r.granularity,
        "countSuppressed": r.count_suppressed,
    }
    if r.count is not None:
        item["count"] = r.count
    if r.suppression:
        item["suppression"] = r.suppression
    return item


def _overall(results: Sequence[DisclosedResult]) -> Granularity:
    """The most detailed granularity actually present in the body.

    Datasets answered at different granularities (e.g. a grant for one dataset only) are
    reported together: record if any dataset gave records (count-level datasets then appear as
    result sets with `resultsCount` and no results), count if any exact count was disclosed,
    else boolean. Each dataset's own granularity is in `info.datasets` and the result set.
    """
    if any(r.granularity == "record" for r in results):
        return "record"
    if any(r.count is not None for r in results):
        return "count"
    return "boolean"


def _include(r: DisclosedResult, mode: str) -> bool:
    return mode == "ALL" or (mode == "HIT" and r.exists) or (mode == "MISS" and not r.exists)


def result_response(
    settings: NodeSettings,
    req: BeaconRequest,
    gate: GateResponse | None,
    *,
    not_answered: Mapping[str, str] | None = None,
    handovers: Mapping[str, Sequence[dict[str, Any]]] | None = None,
    notes: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """The Beacon response for a query answered (or refused) by the gate.

    `notes` adds the surface's own per-dataset remarks (e.g. the assembly compared on) to
    the guard's notes in `info.datasets[].notes`.
    """
    results = list(gate.results) if gate else []
    refused = {**(dict(gate.refused) if gate else {}), **dict(not_answered or {})}
    handovers = handovers or {}
    exists = any(r.exists for r in results)
    granularity = _overall(results)
    accesses = {a.dataset_id: a for a in (gate.accesses if gate else ())}
    all_notes = {a.dataset_id: list(a.notes) for a in accesses.values()}
    for dataset_id, extra in (notes or {}).items():
        all_notes.setdefault(dataset_id, []).extend(extra)
    datasets = [_dataset_info(r) for r in results]
    for item, r in zip(datasets, results, strict=True):
        if all_notes.get(item["id"]):
            item["notes"] = all_notes[item["id"]]
        # why the answer is what it is: codes + words (genomesh.beacon.reasons)
        item["reasons"] = dataset_reasons(
            r,
            requested=req.granularity,
            access=accesses.get(r.dataset_id),
            policy=settings.policy_for(r.dataset_id),
            notes=all_notes.get(r.dataset_id, ()),
        )
    info: dict[str, Any] = {
        "datasets": datasets,
        "refused": [_refused(k, v) for k, v in sorted(refused.items())],
        "disclosure": DISCLOSURE_NOTES[granularity],
    }
    if gate is not None and gate.audit_id is not None:
        info["auditId"] = gate.audit_id
    if req.limit_capped() is not None:
        info["pagination"] = req.limit_capped()
    body: dict[str, Any] = {
        "meta": response_meta(settings, req, granularity=granularity),
        "responseSummary": {"exists": exists},
        "info": info,
    }
    answered_handovers = [h for r in results if r.exists for h in handovers.get(r.dataset_id, ())]
    if answered_handovers:
        body["beaconHandovers"] = answered_handovers
    if granularity in ("count", "record"):
        body["responseSummary"]["numTotalResults"] = sum(r.count or 0 for r in results)
    if granularity == "record":
        sets: list[dict[str, Any]] = []
        for r in results:
            shown = r.granularity == "record" or r.count is not None
            if not shown or not _include(r, req.include_resultsets):
                continue  # boolean-only datasets have no count to state; see info.datasets
            rs: dict[str, Any] = {
                "id": r.dataset_id,
                "setType": "dataset",
                "exists": r.exists,
                "resultsCount": r.count if r.count is not None else len(r.records),
                "results": list(r.records),
                "info": {"granularity": r.granularity},
            }
            if handovers.get(r.dataset_id):
                rs["resultsHandovers"] = list(handovers[r.dataset_id])
            sets.append(rs)
        body["response"] = {"resultSets": sets}
    return body


def collections_response(
    settings: NodeSettings,
    req: BeaconRequest,
    gate: GateResponse | None,
    *,
    not_answered: Mapping[str, str] | None = None,
    handovers: Mapping[str, Sequence[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """`beaconCollectionsResponse` for an unconstrained /datasets or /cohorts query.

    Dataset and cohort descriptions (name, description, DUO data-use conditions, assembly,
    size, attribution) are public metadata, shown to every tier; the gate still decides which
    datasets may be named at all (refused ones are listed in `info.refused`).
    """
    results = list(gate.results) if gate else []
    refused = {**(dict(gate.refused) if gate else {}), **dict(not_answered or {})}
    docs = [dict(r.info["collection"]) for r in results if "collection" in r.info]
    page = docs[req.skip : req.skip + req.limit]
    body: dict[str, Any] = {
        "meta": response_meta(settings, req, granularity="record"),
        "responseSummary": {"exists": bool(docs), "numTotalResults": len(docs)},
        "response": {"collections": page},
        "info": {
            "note": "dataset and cohort descriptions are public metadata (no individual-level data)",
            "refused": [_refused(k, v) for k, v in sorted(refused.items())],
        },
    }
    if gate is not None and gate.audit_id is not None:
        body["info"]["auditId"] = gate.audit_id
    offered = [h for r in results for h in (handovers or {}).get(r.dataset_id, ())]
    if offered:
        body["beaconHandovers"] = offered
    return body


__all__ = [
    "DISCLOSURE_NOTES",
    "collections_response",
    "error_body",
    "response_meta",
    "result_response",
    "returned_schemas",
]
