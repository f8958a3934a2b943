"""The analysis coordinator: checks a submission, then drives its rounds to a result.

Submission (`submit`): the researcher's passport must verify at the hub (as for a network
query), name every dataset asked for in a ControlledAccessGrants visa and carry a research
purpose; the type must be registered; its `configure` must accept the params. Otherwise the
submission is refused with the reason and nothing is queued.

Running (`drive`): per round, `Analysis.next_round` gives each node's params; the hub signs
one `analysis-round` message per node (its dial-out Ed25519 key, `aud` = the node) and sends
it with a passport derived for that node alone, by push or dial-out (`NodeClient`). Each
node's reply is decoded and `Analysis.aggregate` folds the round in; the state is persisted
after every round, so a hub restart resumes at the round in flight. A node that fails or
times out is asked again (`analysis_retries`, with back-off: a restarting node), a node
that refuses (no consent, visa, jurisdiction) ends the task as `refused` with its reason.
A node that still gives no answer ends the task as `failed`, unless the analysis tolerates
dropouts at that point (`tolerates_dropout(state)`, e.g. a secure linear GWAS after its key
exchange): then `aggregate` gets the other nodes' replies and decides.
The result lists every contributing dataset and node with its citation from the catalogue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from genomesh.access.passports import TokenError, unverified_parts
from genomesh.access.visas import CONTROLLED_ACCESS_GRANTS, RESEARCH_PURPOSE
from genomesh.analysis import get_analysis
from genomesh.analysis.gwas import nodesets
from genomesh.analysis.protocol import LocalReply
from genomesh.analysis.wire import decode_reply
from genomesh.core.errors import (
    AccessDeniedError,
    AuthenticationError,
    GenomeshError,
    InvalidInputError,
    NotFoundError,
)
from genomesh.hub.analysis.ledger import SqlNodeSetLedger
from genomesh.hub.analysis.tasks import ACTIVE, Task, TaskStore, dump_result
from genomesh.hub.audiences import node_audience
from genomesh.hub.catalogue import population_datasets
from genomesh.hub.client import NodeRequest
from genomesh.hub.dialout import worker_id
from genomesh.hub.registry import NodePublic
from genomesh.hub.signing import sign_message

log = logging.getLogger(__name__)
LEASE_SECONDS = 30.0  # a worker that stops renewing loses its tasks to another this soon
RESULTS_KEPT = 4  # results kept in memory for the result route (each read from the database else)
WATCH_RECHECK = 1.0  # a long poll re-reads a task another worker drives this often
ROUND_PATH = "/analysis/rounds"
ROUND_MESSAGE = "analysis-round"
HUB = "hub"


def visa_jti(visa: object) -> str | None:
    """A visa JWT's `jti` (unverified: only to drop visas the hub itself revoked)."""
    try:
        jti = unverified_parts(visa)[1].get("jti") if isinstance(visa, str) else None
    except TokenError:
        return None
    return jti if isinstance(jti, str) else None


class _Stop(Exception):
    """Ends a task: state and reason."""

    def __init__(self, state: str, reason: str) -> None:
        super().__init__(reason)
        self.state, self.reason = state, reason


class _NoAnswer(_Stop):
    """A node gave no answer after every retry (not a refusal): a dropout."""


def parse_datasets(items: Any, catalogue: list[dict[str, Any]]) -> dict[str, list[str]]:
    """`["node/dataset", ...]` (or a dataset id held by one node only) -> node -> ids."""
    if not isinstance(items, list) or not items:
        raise InvalidInputError("name at least one dataset as NODE/DATASET", field="datasets")
    held: dict[str, list[str]] = {}
    for entry in catalogue:
        held.setdefault(str(entry["datasetId"]), []).append(str(entry["node"]))
    nodes: dict[str, list[str]] = {}
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise InvalidInputError(f"dataset {item!r} is not NODE/DATASET", field="datasets")
        node, _, dataset = item.strip().rpartition("/")
        if not node:
            holders = held.get(dataset, [])
            if len(holders) != 1:
                where = "no node" if not holders else f"nodes {', '.join(sorted(holders))}"
                raise NotFoundError(
                    f"dataset {dataset!r} is held by {where} in the catalogue; name it as "
                    "NODE/DATASET",
                    field="datasets",
                )
            node = holders[0]
        elif node not in held.get(dataset, []):
            raise NotFoundError(
                f"dataset {node}/{dataset} is not in the hub's catalogue", field="datasets"
            )
        if dataset not in nodes.setdefault(node, []):
            nodes[node].append(dataset)
    return nodes


def check_visas(
    claims_visas: list[Any], nodes: Mapping[str, list[str]], registry: Mapping[str, NodePublic],
    *, hub_url: str,
) -> None:  # fmt: skip
    """AccessDeniedError unless a ControlledAccessGrants visa names each dataset (by id or by
    its URL at its node) and a research purpose is stated."""
    grants = {v.visa.value for v in claims_visas if v.visa.type == CONTROLLED_ACCESS_GRANTS}
    if not any(v.visa.type == RESEARCH_PURPOSE for v in claims_visas):
        raise AccessDeniedError(
            "the passport states no research purpose; analyses need an approved purpose (apply "
            "to the data access committee)"
        )
    for node, datasets in nodes.items():
        entry = registry[node]
        prefixes = {node_audience(entry, hub_url).rstrip("/")}
        if entry.base_url and not entry.dial_out:
            prefixes.add(entry.base_url.rstrip("/"))
        for dataset in datasets:
            names = {dataset, *(f"{p}/datasets/{dataset}" for p in prefixes)}
            if not grants & names and not any(g.rstrip("/") in names for g in grants):
                raise AccessDeniedError(
                    f"no ControlledAccessGrants visa for dataset {node}/{dataset}: apply to the "
                    "data access committee for it",
                    field="datasets",
                )


def _catalogue_population(store: Any, nodes: Mapping[str, Sequence[str]]) -> list[str]:
    """A case search named no population: the submitted datasets the catalogue marks as
    population or control cohorts (their custodians' `cohort_role`), or a clear error."""
    marked = population_datasets(store.catalogue(), nodes)
    if not marked:
        raise InvalidInputError(
            "no population named and none of the submitted datasets is marked as a "
            "population or control cohort in the catalogue (a custodian sets cohort_role in "
            "the node's dataset policy): name one with population NODE/DATASET",
            field="population",
        )
    return marked


class Coordinator:
    """Submits, drives, resumes and cancels analysis tasks for one hub app."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.tasks = TaskStore(app.state.store.engine)
        # secure GWAS reruns are checked against every earlier run, across hub restarts
        nodesets.set_ledger(SqlNodeSetLedger(app.state.store.engine))
        self._running: dict[str, asyncio.Task[None]] = {}
        # with several hub workers each task is driven by one: the worker holding its lease
        self.worker = worker_id()
        self._keeper: asyncio.Task[None] | None = None
        # set (and dropped) when a task driven here finishes a round or ends: wakes status
        # requests waiting for it (`watch`) at once instead of after a polling interval
        self._events: dict[str, asyncio.Event] = {}
        self._statuses: dict[str, dict[str, Any]] = {}  # node statuses of tasks driven here
        # the latest results finished here, as stored: a result is usually fetched at once
        self._results: dict[str, bytes] = {}

    # ------------------------------------------------------------------ submission
    def submit(self, body: Mapping[str, Any], authorization: str | None) -> Task:
        state = self.app.state
        deriver = getattr(state, "deriver", None)
        if deriver is None:
            raise AccessDeniedError("this hub issues no passports, so it runs no analyses")
        verified = deriver.verify(authorization)
        if verified is None:
            raise AuthenticationError(
                "submitting an analysis needs a passport (Authorization: Bearer <passport>)"
            )
        passport, _revoked = verified
        kind = body.get("type")
        if not isinstance(kind, str):
            raise InvalidInputError("name the analysis type", field="type")
        analysis = get_analysis(kind)
        params = body.get("params") or {}
        if not isinstance(params, dict):
            raise InvalidInputError("params must be an object", field="params")
        nodes = parse_datasets(body.get("datasets"), state.store.catalogue())
        registry = {n.name: n for n in state.store.nodes()}
        check_visas(passport.visas, nodes, registry, hub_url=state.settings.base_url)
        if analysis.name == "case-search" and "population" not in params:
            params = {**params, "population": _catalogue_population(state.store, nodes)}
        # configured now: bad params are the caller's to fix; the task starts from this state
        initial = analysis.configure(params, nodes)
        task = self.tasks.create(
            analysis=analysis.name,
            params=params,
            nodes=nodes,
            submitter=f"{passport.issuer}|{passport.subject}",
            claims=passport.claims,
            hub_state=initial,
            rounds_expected=max(1, analysis.expected_rounds(initial)),
        )
        self.start(task.id, task)
        return task

    def owned(self, task_id: str, authorization: str | None) -> Task:
        """The task, if the caller's passport is its submitter's (else 401/404)."""
        deriver = getattr(self.app.state, "deriver", None)
        verified = deriver.verify(authorization) if deriver is not None else None
        if verified is None:
            raise AuthenticationError("analyses are shown to their submitter: send your passport")
        passport = verified[0]
        task = self.tasks.get(task_id)
        if task.submitter != f"{passport.issuer}|{passport.subject}":
            raise NotFoundError(f"no analysis {task_id!r}", field="id")
        return task

    def mine(self, authorization: str | None) -> list[Task]:
        deriver = getattr(self.app.state, "deriver", None)
        verified = deriver.verify(authorization) if deriver is not None else None
        if verified is None:
            raise AuthenticationError("analyses are shown to their submitter: send your passport")
        passport = verified[0]
        return self.tasks.list(submitter=f"{passport.issuer}|{passport.subject}")

    # ------------------------------------------------------------------ lifecycle
    def start(self, task_id: str, task: Task | None = None) -> bool:
        """Drive the task here, unless it runs already (here, or at another worker whose
        lease on it is live); True if this worker now drives it."""
        if task_id in self._running and not self._running[task_id].done():
            return True
        if not self.tasks.claim(task_id, self.worker, seconds=LEASE_SECONDS):
            return False
        job = asyncio.get_running_loop().create_task(self.drive(task_id, task))
        self._running[task_id] = job
        job.add_done_callback(lambda _: self._running.pop(task_id, None))
        if self._keeper is None or self._keeper.done():
            self._keeper = asyncio.get_running_loop().create_task(self._keep_leases())
        return True

    def resume_all(self) -> int:
        """Start every queued or running task nobody drives (after a hub restart, or the
        tasks of a worker that died); how many this worker took."""
        return sum(self.start(task.id) for task in self.tasks.list(states=ACTIVE))

    async def _keep_leases(self) -> None:
        """Renew this worker's leases while it drives tasks, and take over tasks whose
        runner stopped renewing (a worker that died)."""
        while True:
            await asyncio.sleep(LEASE_SECONDS / 3)
            try:
                self.tasks.renew(self.worker, list(self._running), seconds=LEASE_SECONDS)
                self.resume_all()
            except Exception:  # the database was busy: try again next time
                log.exception("renewing analysis leases failed")

    def result_body(self, task_id: str) -> bytes | None:
        """The stored JSON of a result that finished at this worker lately, if kept."""
        return self._results.get(task_id)

    def _changed(self, task_id: str) -> None:
        event = self._events.pop(task_id, None)
        if event is not None:
            event.set()

    async def watch(self, task: Task, seconds: float) -> Task:
        """The task once it has finished a round or ended, or as it is after `seconds` (a
        long poll: the caller learns of progress when it happens, with no request per
        interval). A task driven by another hub worker is re-read every WATCH_RECHECK s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        seen = (task.state, task.rounds_done)
        # no await between reading the task and taking its event: a change made by the drive
        # (in this event loop) cannot fall between them unseen
        while task.state in ACTIVE and (remaining := deadline - loop.time()) > 0:
            event = self._events.setdefault(task.id, asyncio.Event())
            here = task.id in self._running
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining if here else min(remaining, WATCH_RECHECK)):
                    await event.wait()
            task = self.tasks.get(task.id)
            if (task.state, task.rounds_done) != seen:
                break
        return task

    async def cancel(self, task: Task) -> Task:
        if not self.tasks.update(task.id, state="cancelled", reason="cancelled by the submitter"):
            return self.tasks.get(task.id)  # already finished: nothing to cancel
        self._changed(task.id)
        job = self._running.get(task.id)
        if job is not None:
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await job
        return self.tasks.get(task.id)

    async def close(self) -> None:
        jobs = [*self._running.values(), *([self._keeper] if self._keeper else [])]
        for job in jobs:
            job.cancel()
        for job in jobs:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await job
        with contextlib.suppress(Exception):  # a restart resumes them at once
            self.tasks.release(self.worker)

    # ------------------------------------------------------------------ running
    async def drive(self, task_id: str, task: Task | None = None) -> None:
        """Run the task's rounds to its end (`task`: as just created, else read)."""
        task = task if task is not None else self.tasks.get(task_id)
        self._statuses[task_id] = dict(task.node_status)
        try:
            analysis = get_analysis(task.analysis)
            state = task.hub_state
            if state is None:  # queued without a configured state (by an older hub)
                state = analysis.configure(task.params, task.nodes)
                self.tasks.update(
                    task_id,
                    state="running",
                    hub_state=state,
                    rounds_expected=max(1, analysis.expected_rounds(state)),
                )
            elif task.state == "queued":
                self.tasks.update(task_id, state="running")
            round_no = task.rounds_done
            asks = analysis.next_round(state)
            # an analysis that tolerates dropouts (secure linear GWAS) gets the round's
            # replies without the nodes that stopped answering, and says what then
            tolerant = getattr(analysis, "tolerates_dropout", None)
            while asks is not None:
                replies = await self._round(
                    task, round_no, asks, tolerate=bool(tolerant and tolerant(state))
                )
                state = analysis.aggregate(state, replies)
                round_no += 1
                asks = analysis.next_round(state)
                if asks is None:  # the last round: the result is stored, not this state
                    break
                if not self.tasks.update(
                    task_id,
                    hub_state=state,
                    rounds_done=round_no,
                    rounds_expected=max(analysis.expected_rounds(state), round_no),
                ):
                    return  # cancelled meanwhile
                self._changed(task_id)
            result = analysis.result(state)
            dropped = set(result.get("dropped_nodes") or [])  # finished without them
            result["attribution"] = [a for a in self._attribution(task) if a["node"] not in dropped]
            result["task"] = task_id
            body = dump_result(result)  # once: stored, and served as it is
            # a done task is never resumed: its round state (a GWAS' holds the rows too) goes
            if self.tasks.update(
                task_id, state="done", result=body, hub_state=None,
                rounds_done=round_no, rounds_expected=round_no,
            ):  # fmt: skip
                self._results[task_id] = body
                while len(self._results) > RESULTS_KEPT:
                    self._results.pop(next(iter(self._results)))
                self._changed(task_id)
                # after the requests waiting for the result have been answered
                asyncio.get_running_loop().call_soon(self._finished, task_id)
        except asyncio.CancelledError:
            raise
        except _Stop as stop:
            self.tasks.update(task_id, state=stop.state, reason=stop.reason)
        except GenomeshError as exc:
            self.tasks.update(task_id, state="failed", reason=exc.describe())
        except Exception as exc:  # an analysis bug: the task fails, the hub keeps running
            log.exception("analysis %s failed", task_id)
            self.tasks.update(
                task_id, state="failed", reason=f"internal error: {type(exc).__name__}"
            )
        finally:
            self._statuses.pop(task_id, None)
            self._changed(task_id)

    def _finished(self, task_id: str) -> None:
        """A done re-run tells its submitter, in their hub inbox, how much the result moved."""
        from genomesh.hub.analysis.stale import notify_rerun_finished

        try:
            notify_rerun_finished(self.app, self.tasks.get(task_id))
        except Exception:  # the notice is a courtesy: the result stands without it
            log.exception("notice of re-run %s failed", task_id)

    async def _round(
        self,
        task: Task,
        round_no: int,
        asks: Mapping[str, Mapping[str, Any]],
        *,
        tolerate: bool = False,
    ) -> dict[str, LocalReply]:
        registry = {n.name: n for n in self.app.state.store.nodes()}
        unknown = sorted(set(asks) - set(registry))
        if unknown:
            raise _Stop("failed", f"node {unknown[0]!r} is no longer registered")
        # without tolerance the first failure ends the round at once (as it always did)
        revoked = frozenset(self.app.state.broker.revocations.revoked())  # once a round
        for name in asks:
            self._set_status(task.id, name, {"status": "running", "round": round_no}, write=False)
        self.tasks.set_node_statuses(task.id, self._statuses[task.id])  # one write for all
        results = await asyncio.gather(
            *(
                self._ask(task, round_no, registry[name], dict(params), revoked)
                for name, params in asks.items()
            ),
            return_exceptions=tolerate,
        )
        replies: dict[str, LocalReply] = {}
        silent: list[_NoAnswer] = []
        for name, outcome in zip(asks, results, strict=True):
            if isinstance(outcome, _NoAnswer):
                silent.append(outcome)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                replies[name] = outcome
        if silent and not replies:
            raise silent[0]
        return replies

    def _set_status(
        self, task_id: str, node: str, status: dict[str, Any], *, write: bool = True
    ) -> None:
        """A node's status in this task (kept here: only the worker driving a task writes its
        node statuses, so each write is one UPDATE, without reading the others first)."""
        statuses = self._statuses.get(task_id)
        if statuses is None:
            statuses = self._statuses[task_id] = dict(self.tasks.get(task_id).node_status)
        statuses[node] = status
        if write:
            self.tasks.set_node_statuses(task_id, statuses)

    def _bearer(self, task: Task, node: NodePublic, revoked: frozenset[str]) -> str:
        state = self.app.state
        settings = state.settings
        claims = task.claims
        if claims.get("jti") in revoked:
            raise _Stop("refused", "the researcher's passport was revoked")
        if int(claims.get("exp", 0)) <= time.time():
            raise _Stop(
                "failed", "the researcher's passport expired before the analysis finished; resubmit"
            )
        visas = [v for v in claims.get("ga4gh_passport_v1") or [] if visa_jti(v) not in revoked]
        token, _ = state.broker.visa_issuer().derive_passport(
            claims,
            audience=node_audience(node, settings.base_url),
            lifetime=settings.derived_passport_seconds,
            visas=visas,
        )
        return f"Bearer {token}"

    async def _ask(
        self, task: Task, round_no: int, node: NodePublic, params: dict[str, Any],
        revoked: frozenset[str],
    ) -> LocalReply:  # fmt: skip
        state = self.app.state
        settings = state.settings
        round_body = {
            "analysis": task.analysis,
            "task_id": task.id,
            "round": round_no,
            "datasets": task.nodes[node.name],
            "params": params,
        }
        wait = settings.analysis_retry_seconds
        last = "no answer"
        for attempt in range(settings.analysis_retries + 1):
            status = (
                "running"
                if attempt == 0
                else f"retrying ({attempt}/{settings.analysis_retries}): {last}"
            )
            if attempt:  # "running" was written for every node at the start of the round
                self._set_status(task.id, node.name, {"status": status, "round": round_no})
            message = sign_message(
                {"type": ROUND_MESSAGE, "round": round_body},
                state.dialout.key,
                iss=HUB,
                aud=node.name,
            )
            request = NodeRequest(
                "POST", ROUND_PATH, body=message, authorization=self._bearer(task, node, revoked)
            )
            reply = await state.client.send(
                node, request, timeout=settings.analysis_round_timeout_seconds
            )
            if reply.status == "ok":
                try:
                    decoded = decode_reply(reply.body.get("reply"))
                except InvalidInputError as exc:
                    raise _Stop(
                        "failed", f"node {node.name}: bad reply ({exc.describe()})"
                    ) from exc
                refused = reply.body.get("refused") or {}
                if refused:  # part of the node's data is refused: no silently partial result
                    self._set_status(
                        task.id,
                        node.name,
                        {"status": "refused", "round": round_no, "refused": refused},
                    )
                    why = "; ".join(f"{d}: {r}" for d, r in sorted(refused.items()))
                    raise _Stop("refused", f"node {node.name} refused dataset(s): {why}")
                done = {"status": "done", "round": round_no, "datasets": reply.body.get("datasets")}
                self._set_status(task.id, node.name, done)
                return decoded
            if reply.status == "refused":
                self._set_status(
                    task.id,
                    node.name,
                    {"status": "refused", "round": round_no, "reason": reply.reason},
                )
                raise _Stop("refused", f"node {node.name} refused: {reply.reason}")
            if reply.http_status is not None and 400 <= reply.http_status < 500:
                self._set_status(
                    task.id,
                    node.name,
                    {"status": "failed", "round": round_no, "reason": reply.reason},
                )
                raise _Stop("failed", f"node {node.name}: {reply.reason}")
            last = reply.reason or reply.status
            if attempt < settings.analysis_retries:
                await asyncio.sleep(wait)
                wait = min(wait * 2, 30.0)
        self._set_status(
            task.id, node.name, {"status": "failed", "round": round_no, "reason": last}
        )
        raise _NoAnswer("failed", f"node {node.name} did not answer round {round_no}: {last}")

    def _attribution(self, task: Task) -> list[dict[str, Any]]:
        """Every contributing dataset with its node and citation (from the catalogue)."""
        catalogue = {(e["node"], e["datasetId"]): e for e in self.app.state.store.catalogue()}
        out = []
        for node, datasets in sorted(task.nodes.items()):
            for dataset in datasets:
                entry = catalogue.get((node, dataset), {})
                out.append(
                    {
                        "node": node,
                        "dataset": dataset,
                        "name": entry.get("name") or dataset,
                        "organization": entry.get("organization"),
                        "country": entry.get("country"),
                        "citation": entry.get("citation"),
                    }
                )
        return out


__all__ = ["Coordinator", "check_visas", "parse_datasets"]
