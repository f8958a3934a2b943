"""One /match at the hub: every node and every external MME peer at once, one ranked answer.

Nodes are reached through the hub's signed node exchange (`NodeClient`: push over HTTP,
dial-out through the broker), each with an `mme-match` message signed by the hub's key
(`genomesh.node.match_routes`). External peers get the MME request over HTTP with the
token they issued to the hub. Every source answers within `timeout` or is reported as
`timeout`; a dead, slow or refusing source is a status in `_genomesh.sources`, never an
error of the whole answer, and the peer that asked is never asked back.

The answer is an MME v1.1 response: `results` from all sources ranked by `score.patient`
(ties by source, then patient id), at most `max_results`, each tagged with where it came
from (`_source`: kind, name, country). Each result that is a real match (not a test query)
is recorded as a pair, and both submitters are notified once per pair
(`genomesh.hub.matchmaker.store`).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from genomesh.core.errors import InvalidInputError
from genomesh.hub.client import NodeClient, NodeReply, NodeRequest, error_message
from genomesh.hub.matchmaker.store import MatchmakerStore, Peer, Side
from genomesh.hub.registry import NodePublic
from genomesh.hub.signing import sign_message
from genomesh.matchmaker.schema import MatchRequestError, validate_request, validate_response
from genomesh.matchmaker.wire import RESPONSE_TYPE, is_mme_type
from genomesh.ontology.hpo import HPO_ACKNOWLEDGEMENT

MATCH_PATH = "/match/hub"
MATCH_MESSAGE = "mme-match"
HUB = "hub"
MAX_RESULTS = 20
DISCLAIMER = (
    "Matches come from the matchmakers named in each result's _source; they are for research "
    "and clinical follow-up between the contacts named. Confirm any finding clinically."
)
NOTICE = (
    "Possible Matchmaker Exchange match for your patient {{own}} (via {{own_source}}): patient "
    "{{other}} (via {{other_source}}), score {score}{genes}. Contact: {{other_contact}}."
)


@dataclass
class SourceReply:
    """One node's or peer's answer, classified as the Beacon network classifies nodes."""

    kind: str  # "node" | "peer"
    name: str
    status: str  # ok | refused | error | timeout
    results: list[dict[str, Any]]
    reason: str | None = None
    http_status: int | None = None
    elapsed_ms: float = 0.0
    country: str | None = None
    hpo_version: str | None = None

    @property
    def source(self) -> str:
        return f"{self.kind}:{self.name}"

    def report(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "name": self.name,
            "country": self.country,
            "status": self.status,
            "reason": self.reason,
            "httpStatus": self.http_status,
            "elapsedMs": self.elapsed_ms,
            "results": len(self.results),
        }


def _checked(reply: SourceReply, body: Any) -> SourceReply:
    """An `ok` reply keeps its results only if the body is a valid MME response."""
    try:
        validate_response(body)
    except MatchRequestError as exc:
        reply.status = "error"
        reply.reason = f"not a valid MME response ({exc.field}: {exc.message})"
        return reply
    reply.results = [r for r in body.get("results") or [] if isinstance(r, dict)]
    extra = body.get("_genomesh")
    if isinstance(extra, dict) and isinstance(extra.get("hpoVersion"), str):
        reply.hpo_version = extra["hpoVersion"]
    return reply


def _from_node(node: NodePublic, reply: NodeReply) -> SourceReply:
    out = SourceReply(
        "node", node.name, reply.status, [], reply.reason, reply.http_status,
        reply.elapsed_ms, node.country,
    )  # fmt: skip
    if reply.status == "ok":
        return _checked(out, reply.body)
    if reply.http_status == 404 and out.status == "error":
        out.reason = "node has no hub matchmaker endpoint (an older genomesh?)"
    return out


async def ask_peer(
    peer: Peer, token: str, request: dict[str, Any], *, timeout: float
) -> SourceReply:
    """POST the request to an external matchmaker's /match; a status, never an exception."""
    started = time.perf_counter()
    out = SourceReply("peer", peer.name, "error", [])
    headers = {
        "Content-Type": RESPONSE_TYPE,
        "Accept": RESPONSE_TYPE,
        "X-Auth-Token": token,
    }
    try:
        async with asyncio.timeout(timeout), httpx.AsyncClient(timeout=timeout + 1) as client:
            response = await client.post(
                f"{peer.base_url}/match", content=json.dumps(request), headers=headers
            )
    except (TimeoutError, httpx.TimeoutException):
        out.status, out.reason = "timeout", f"no answer within {timeout:g} s"
    except httpx.ConnectError:
        out.reason = f"peer not reachable at {peer.base_url}"
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        out.reason = f"{type(exc).__name__}: {exc}".strip()
    else:
        out.http_status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 200 and isinstance(body, dict):
            if not is_mme_type(response.headers.get("content-type", "")):
                out.reason = f"peer answered with {response.headers.get('content-type')!r}"
            else:
                out.status = "ok"
                out = _checked(out, body)
        else:
            out.reason = error_message(body) or f"HTTP {response.status_code}"
            if response.status_code in (401, 403, 429):
                out.status = "refused"
    out.elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    return out


class HubMatchmaker:
    """Fans one MME request out, merges, ranks, records and notifies."""

    def __init__(
        self,
        store: MatchmakerStore,
        *,
        client: NodeClient,
        key: Ed25519PrivateKey,
        nodes: Any,
        hub_name: str,
        timeout: float,
        max_results: int = MAX_RESULTS,
    ) -> None:
        self.store, self.client, self.key = store, client, key
        self.nodes = nodes  # () -> list[NodePublic]
        self.hub_name, self.timeout, self.max_results = hub_name, timeout, max_results

    async def _ask_node(self, node: NodePublic, request: dict[str, Any], requester: str) -> Any:
        message = sign_message(
            {"type": MATCH_MESSAGE, "request": request, "requester": requester},
            self.key,
            iss=HUB,
            aud=node.name,
        )
        reply = await self.client.send(
            node, NodeRequest("POST", MATCH_PATH, body=message), timeout=self.timeout
        )
        return _from_node(node, reply)

    async def match(self, body: Any, *, requester: str) -> dict[str, Any]:
        """The merged MME response to `body` from peer `requester` (MatchRequestError: 422)."""
        request = validate_request(body)
        asks = [self._ask_node(n, request, requester) for n in self.nodes()]
        asks += [
            ask_peer(peer, token, request, timeout=self.timeout)
            for peer, token in self.store.outbound()
            if peer.name != requester  # never ask the asking peer back
        ]
        replies: list[SourceReply] = list(await asyncio.gather(*asks))
        ranked = []
        for reply in replies:
            for result in reply.results if reply.status == "ok" else []:
                tagged = dict(result)
                tagged["_source"] = {
                    "kind": reply.kind, "name": reply.name, "country": reply.country,
                }  # fmt: skip
                ranked.append(tagged)
        ranked.sort(
            key=lambda r: (
                -float(r["score"]["patient"]),
                r["_source"]["kind"] + ":" + r["_source"]["name"],
                str(r["patient"].get("id")),
            )
        )
        ranked = ranked[: self.max_results]
        patient = request["patient"]
        is_test = bool(patient.get("test") or request.get("test"))
        # one transaction, off the event loop (a database write must not hold other requests)
        new = 0 if is_test else await asyncio.to_thread(self._record, patient, requester, ranked)
        versions = sorted({r.hpo_version for r in replies if r.hpo_version})
        answered = sum(r.status == "ok" for r in replies)
        extra: dict[str, Any] = {
            "hub": self.hub_name,
            "queried": len(replies),
            "answered": answered,
            "sources": [r.report() for r in replies],
            "newPairs": new,
        }
        if versions:
            extra["hpoVersion"] = ", ".join(versions)
            extra["hpoAcknowledgement"] = HPO_ACKNOWLEDGEMENT.format(version=extra["hpoVersion"])
        return {"results": ranked, "disclaimer": DISCLAIMER, "_genomesh": extra}

    def _record(self, patient: dict[str, Any], requester: str, ranked: list[dict]) -> int:
        query = Side(f"peer:{requester}", str(patient["id"]), dict(patient.get("contact") or {}))
        pairs = []
        for result in ranked:
            found = result["patient"]
            source = result["_source"]
            match = Side(
                f"{source['kind']}:{source['name']}",
                str(found.get("id")),
                dict(found.get("contact") or {}),
            )
            score = float(result["score"]["patient"])
            genes = result["score"].get("_sharedGenes") or []
            shared = f"; shared genes {', '.join(map(str, genes))}" if genes else ""
            shared = shared.replace("{", "{{").replace("}", "}}")
            pairs.append((match, score, NOTICE.format(score=f"{score:.3f}", genes=shared)))
        return self.store.record_many(query, pairs)


def parse_body(raw: bytes) -> Any:
    """The request body as JSON (InvalidInputError naming the problem otherwise)."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"request body is not JSON: {exc}") from None


__all__ = ["MATCH_MESSAGE", "MATCH_PATH", "HubMatchmaker", "SourceReply", "ask_peer"]
