"""The Beacon network: one query to every (or the chosen) node at once, one merged answer.

Each node answers by its own rules. The caller's passport is not passed on: each node gets a
passport the hub derived for that node alone (genomesh.hub.audiences, QA F23). The
merged answer has one result set per node dataset, each tagged with the node's `beaconId`,
and a per-node report in `info.network` (the spec's place for attributes outside the
Beacon specification):

    "info": {"network": {"timeoutSeconds": 5.0, "queried": 3, "answered": 2,
             "nodes": [{"node": "nl-umc", "beaconId": "...", "country": "NL",
                        "status": "ok" | "refused" | "error" | "timeout" | "absent",
                        "reason": null | "...", "httpStatus": 200, "elapsedMs": 12.3,
                        "returnedGranularity": "count", "exists": true,
                        "numTotalResults": 42}]}}

The merged `returnedGranularity` is the lowest any node that answered for at least one
dataset returned (boolean < count < record), so the summary never claims more than every
node gave; nodes that answered for no dataset (all refused or not applicable) are left out
of it. Every result set says its own granularity in `info.granularity`. A node that is slow, dead
or refusing is reported, never an error of the whole answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from genomesh.core.errors import InvalidInputError
from genomesh.core.settings import HubSettings
from genomesh.hub.client import NodeClient, NodeReply, NodeRequest
from genomesh.hub.registry import NodePublic
from genomesh.hub.wire import API_VERSION, ENTRY_TYPES, GRANULARITIES, response_meta


async def fan_out(
    request: NodeRequest,
    nodes: list[NodePublic],
    *,
    client: NodeClient,
    timeout: float,
    authorize: Callable[[NodePublic], str | None] | None = None,
    caller: Callable[[NodePublic], str | None] | None = None,
) -> list[NodeReply]:
    """Send `request` to all `nodes` concurrently; every reply arrives within `timeout`.

    `authorize(node)` gives each node its own Authorization header (the hub's per-node
    passports, genomesh.hub.audiences); without it every node gets `request.authorization`.
    `caller(node)` gives each node the signed assertion of who the caller is."""

    def for_node(node: NodePublic) -> NodeRequest:
        if authorize is None and caller is None:
            return request
        # one copy per node, built directly (dataclasses.replace costs several times more)
        return NodeRequest(
            method=request.method,
            path=request.path,
            params=request.params,
            body=request.body,
            authorization=authorize(node) if authorize is not None else request.authorization,
            forwarded_for=request.forwarded_for,
            caller=caller(node) if caller is not None else request.caller,
        )

    return await client.send_all([(node, for_node(node)) for node in nodes], timeout=timeout)


def is_id_lookup(path: str) -> bool:
    """True for `/{entry}/{id}` and its sub-paths (`/datasets/{id}/individuals` ...)."""
    parts = [p for p in path.split("/") if p]
    return len(parts) >= 2 and parts[0] in ENTRY_TYPES and parts[1] != "filtering_terms"


def mark_absent(replies: list[NodeReply], *, path: str) -> list[NodeReply]:
    """For an id lookup, a node's 404 means "I do not hold that id": report it as `absent`
    (an answer), not as `error` (an outage). QA F24: `GET /datasets/<id>` at the hub showed
    every node but the holder as failed."""
    if not is_id_lookup(path):
        return replies
    for reply in replies:
        if reply.status == "error" and reply.http_status == 404:
            reply.status = "absent"
    return replies


def _meta(body: Any) -> dict[str, Any]:
    meta = body.get("meta") if isinstance(body, dict) else None
    return meta if isinstance(meta, dict) else {}


def _summary(body: Any) -> dict[str, Any]:
    summary = body.get("responseSummary") if isinstance(body, dict) else None
    return summary if isinstance(summary, dict) else {}


def _response(body: Any) -> dict[str, Any]:
    response = body.get("response") if isinstance(body, dict) else None
    return response if isinstance(response, dict) else {}


def reason_code(reply: NodeReply) -> str | None:
    """A machine-readable code for a node that gave no answer (None when it answered)."""
    if reply.status == "timeout":
        return "node_timeout"
    if reply.status == "refused":
        return "node_refused"
    if reply.status == "absent":
        return "not_held"
    if reply.status == "error":
        return "node_unreachable" if reply.http_status is None else "node_error"
    return None


def node_report(reply: NodeReply, node: NodePublic) -> dict[str, Any]:
    """One node's line in `info.network.nodes`."""
    meta, summary = _meta(reply.body), _summary(reply.body)
    report: dict[str, Any] = {
        "node": node.name,
        "beaconId": meta.get("beaconId") if reply.status == "ok" else None,
        "country": node.country,
        "dialOut": node.dial_out,
        "status": reply.status,
        "reason": reply.reason,
        "reasonCode": reason_code(reply),
        "httpStatus": reply.http_status,
        "elapsedMs": reply.elapsed_ms,
    }
    if reply.status == "ok":
        report["returnedGranularity"] = meta.get("returnedGranularity")
        report["exists"] = summary.get("exists")
        if "numTotalResults" in summary:
            report["numTotalResults"] = summary["numTotalResults"]
        info = reply.body.get("info") if isinstance(reply.body.get("info"), dict) else {}
        datasets = [d for d in info.get("datasets") or [] if isinstance(d, dict)]
        refused = [d for d in info.get("refused") or [] if isinstance(d, dict)]
        if datasets:
            report["datasets"] = datasets
        if refused:  # datasets the node did not answer for, with its reasons (e.g. no visa)
            report["refusedDatasets"] = refused
        if not datasets and refused:  # replied, but answered for none of its datasets
            report["reason"] = "answered for none of its datasets: " + "; ".join(
                str(d.get("reason")) for d in refused
            )
            report["reasonCode"] = "no_dataset_answered"
    return report


def answered_nothing(report: dict[str, Any]) -> bool:
    """True if a node's report shows no dataset answered and at least one refused."""
    return not report.get("datasets") and bool(report.get("refusedDatasets"))


def _tag(item: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    tagged = dict(item)
    tagged["beaconId"] = report["beaconId"]
    info = dict(tagged.get("info") or {}) if isinstance(tagged.get("info"), dict) else {}
    info.update(
        {"beaconId": report["beaconId"], "node": report["node"], "country": report["country"]}
    )
    tagged["info"] = info
    return tagged


INCLUDE_RESULTSETS = ("ALL", "HIT", "MISS", "NONE")


def include_resultset(result_set: dict[str, Any], mode: str) -> bool:
    """Whether a result set belongs in the answer under Beacon `includeResultsetResponses`:
    ALL every set, HIT (the default) sets with hits, MISS sets without, NONE no set."""
    exists = bool(result_set.get("exists"))
    return mode == "ALL" or (mode == "HIT" and exists) or (mode == "MISS" and not exists)


def _applied_limit(
    summary: dict[str, Any], answering: list[tuple[NodeReply, dict[str, Any]]]
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The request summary with the limit the nodes applied (each caps its own page size),
    and `info.pagination` saying so when that is less than the limit asked."""
    raw = summary.get("pagination")
    pagination: dict[str, Any] = raw if isinstance(raw, dict) else {}
    asked = pagination.get("limit")
    applied = []
    for reply, _ in answering:
        received = _meta(reply.body).get("receivedRequestSummary")
        page = received.get("pagination") if isinstance(received, dict) else None
        if isinstance(page, dict) and isinstance(page.get("limit"), int):
            applied.append(page["limit"])
    if not isinstance(asked, int) or not applied or (asked != 0 and max(applied) >= asked):
        return summary, None
    most = max(applied)
    wanted = "no limit (0)" if asked == 0 else f"limit {asked}"
    capped = {
        "requestedLimit": asked,
        "appliedLimit": most,
        "reason": {
            "code": "limit_capped",
            "message": f"{wanted} asked; the nodes return at most {most} records per dataset "
            "per page: page on with skip",
        },
    }
    return {**summary, "pagination": {**pagination, "limit": most}}, capped


def merge_results(
    replies: list[NodeReply],
    nodes: list[NodePublic],
    *,
    settings: HubSettings,
    entry: str,
    request_summary: dict[str, Any],
    timeout: float,
) -> tuple[int, dict[str, Any]]:
    """Merge node answers to one entry-type query into one Beacon response (status, body)."""
    by_name = {n.name: n for n in nodes}
    reports = [node_report(r, by_name[r.node]) for r in replies]
    ok = [(r, rep) for r, rep in zip(replies, reports, strict=True) if r.status == "ok"]
    if not ok and replies and all(r.http_status == 400 for r in replies):
        # every node rejected the query itself: that is the caller's input, not the network
        raise InvalidInputError(replies[0].reason or "the nodes rejected the query")

    # a node that answered for none of its datasets (every one refused or not applicable,
    # e.g. `datasetIds` named another node's dataset) gave nothing: it must not lower the
    # merged granularity nor hold back the total
    answering = [(r, rep) for r, rep in ok if not answered_nothing(rep)]
    levels = [
        GRANULARITIES.index(rep["returnedGranularity"])
        for _, rep in answering
        if rep.get("returnedGranularity") in GRANULARITIES
    ]
    granularity = GRANULARITIES[min(levels)] if levels else "boolean"
    exists = any(bool(rep.get("exists")) for _, rep in ok)

    # the caller's includeResultsetResponses governs the merged sets as it does a node's: a
    # set the node left out on purpose (MISS, NONE) must not come back from its per-dataset
    # detail (QA F30)
    mode = str(request_summary.get("includeResultsetResponses") or "HIT")
    result_sets: list[dict[str, Any]] = []
    collections: list[dict[str, Any]] = []
    schemas: list[dict[str, Any]] = []
    for reply, rep in ok:
        response = _response(reply.body)
        given = [rs for rs in response.get("resultSets") or [] if isinstance(rs, dict)]
        per_dataset = {d.get("id"): d.get("granularity") for d in rep.get("datasets", [])}
        for item in given:  # each set says at which granularity it was answered
            if not include_resultset(item, mode):
                continue
            tagged = _tag(item, rep)
            tagged["info"].setdefault(
                "granularity", per_dataset.get(item.get("id")) or rep.get("returnedGranularity")
            )
            result_sets.append(tagged)
        # datasets the node answered at count level without a result set: one set each
        have = {rs.get("id") for rs in given}
        for d in rep.get("datasets", []):
            if d.get("id") not in have and isinstance(d.get("count"), int):
                counted = {
                    "id": d["id"],
                    "setType": "dataset",
                    "exists": bool(d.get("exists")),
                    "resultsCount": d["count"],
                    "results": [],
                    "info": {"granularity": d.get("granularity", "count")},
                }
                if include_resultset(counted, mode):
                    result_sets.append(_tag(counted, rep))
        for item in response.get("collections") or []:
            if isinstance(item, dict):
                collections.append(_tag(item, rep))
        for schema in _meta(reply.body).get("returnedSchemas") or []:
            if schema not in schemas:
                schemas.append(schema)

    summary: dict[str, Any] = {"exists": exists}
    if granularity != "boolean":
        counts = [rep.get("numTotalResults") for _, rep in answering]
        if all(isinstance(c, int) for c in counts):
            summary["numTotalResults"] = sum(c for c in counts if isinstance(c, int))
        else:
            granularity = "boolean"

    request_summary, capped = _applied_limit(request_summary, answering)
    body: dict[str, Any] = {
        "meta": response_meta(
            settings, entry=entry, granularity=granularity, summary=request_summary, schemas=schemas
        ),
        "responseSummary": summary,
        "info": {
            "network": {
                "timeoutSeconds": timeout,
                "queried": len(replies),
                # a node that does not hold the id looked up has answered too; one that
                # answered for none of its datasets (other assembly, no such dataset) has not
                "answered": len(answering) + sum(r.status == "absent" for r in replies),
                "nodes": reports,
            }
        },
        "beaconHandovers": [],
    }
    if capped is not None:
        body["info"]["pagination"] = capped
    if collections or (
        granularity == "record" and entry in ("datasets", "cohorts") and not result_sets
    ):
        body["response"] = {"collections": collections}
    elif result_sets or granularity == "record":
        body["response"] = {"resultSets": result_sets}
    return 200, body


def merge_filtering_terms(
    replies: list[NodeReply], nodes: list[NodePublic], *, settings: HubSettings, timeout: float
) -> dict[str, Any]:
    """Union of the nodes' filtering terms (by id) and ontology resources (by id)."""
    by_name = {n.name: n for n in nodes}
    terms: dict[str, dict[str, Any]] = {}
    resources: dict[str, dict[str, Any]] = {}
    for reply in replies:
        if reply.status != "ok":
            continue
        response = _response(reply.body)
        for term in response.get("filteringTerms") or []:
            if isinstance(term, dict) and isinstance(term.get("id"), str):
                terms.setdefault(term["id"], term)
        for resource in response.get("resources") or []:
            if isinstance(resource, dict) and isinstance(resource.get("id"), str):
                resources.setdefault(resource["id"], resource)
    return {
        "meta": {"beaconId": settings.beacon_id, "apiVersion": API_VERSION, "returnedSchemas": []},
        "response": {
            "filteringTerms": [terms[k] for k in sorted(terms)],
            "resources": [resources[k] for k in sorted(resources)],
        },
        "info": {
            "network": {
                "timeoutSeconds": timeout,
                "queried": len(replies),
                "answered": sum(r.status in ("ok", "absent") for r in replies),
                "nodes": [node_report(r, by_name[r.node]) for r in replies],
            }
        },
    }


__all__ = [
    "INCLUDE_RESULTSETS",
    "answered_nothing",
    "fan_out",
    "include_resultset",
    "is_id_lookup",
    "mark_absent",
    "merge_filtering_terms",
    "merge_results",
    "node_report",
]
