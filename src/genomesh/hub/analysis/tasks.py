"""Analysis tasks in the hub's database (SQLAlchemy; the hub's SQLite or PostgreSQL).

One row per task: what was asked (type, params, datasets per node), by whom (the
researcher's verified passport claims: the hub derives each round's per-node passports from
them, so a task resumes after a hub restart without keeping the bearer token), where it is
(state, rounds done and expected, per-node status) and the analysis' own state after the
last completed round. A hub that restarts resumes every queued or running task from that
state: the round in flight is simply asked again.

States: queued -> running -> done | failed | refused | cancelled.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import numpy as np
import orjson
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine

from genomesh.analysis.wire import decode_array, encode_array
from genomesh.core.errors import NotFoundError

STATES = ("queued", "running", "done", "failed", "refused", "cancelled")
ACTIVE = ("queued", "running")
FINAL = ("done", "failed", "refused", "cancelled")

metadata = MetaData()
tasks_table = Table(
    "hub_analysis_tasks",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("analysis", String(64), nullable=False),
    Column("params", JSON, nullable=False),
    Column("nodes", JSON, nullable=False),  # node name -> its dataset ids
    Column("submitter", String(512), nullable=False),  # issuer|subject
    Column("claims", JSON, nullable=False),  # the researcher's verified passport claims
    Column("state", String(16), nullable=False),
    Column("reason", Text, nullable=True),
    Column("rounds_done", Integer, nullable=False, default=0),
    Column("rounds_expected", Integer, nullable=False, default=1),
    Column("node_status", JSON, nullable=False),
    Column("hub_state", Text, nullable=True),  # the analysis' state (JSON, arrays encoded)
    Column("result", Text, nullable=True),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("updated", DateTime(timezone=True), nullable=False),
    # which hub worker drives the task, until when (renewed while it runs): with several
    # workers exactly one drives each task, and a dead worker's tasks are taken over
    Column("runner", String(128), nullable=True),
    Column("lease_until", Float, nullable=True),
)


def _default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {"__ndarray__": encode_array(value)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} in an analysis state")


def _hook(value: dict[str, Any]) -> Any:
    if set(value) == {"__ndarray__"}:
        return decode_array(value["__ndarray__"], field="state")
    return value


def dump_state(state: Any) -> str:
    """An analysis state as JSON; NumPy arrays exactly (dtype, shape, bytes). orjson first
    (a GWAS state or result is tens of thousands of values, written after every round; NaN,
    which states never hold and results show as null anyway, becomes null); the standard
    library for anything orjson refuses (e.g. integers beyond 64 bits)."""
    try:
        return orjson.dumps(state, default=_default, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, OverflowError, orjson.JSONEncodeError):
        return json.dumps(state, default=_default, allow_nan=True)


RESULT_EXTRAS = ("stale", "rerun_of")  # keys the result route adds when it serves a result


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} in an analysis result")


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def dump_result(result: Mapping[str, Any]) -> bytes:
    """A result as the JSON the result route serves (arrays as lists, NaN as null; the keys
    the route adds left out), so it is served as stored, never parsed and encoded again."""
    doc = {k: v for k, v in result.items() if k not in RESULT_EXTRAS}
    try:
        return orjson.dumps(
            doc, default=_plain, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
        )
    except (TypeError, OverflowError, orjson.JSONEncodeError):  # e.g. integers beyond 64 bits
        return json.dumps(_finite(doc), default=_plain, allow_nan=False).encode()


def load_state(text: str | None) -> Any:
    if text is None:
        return None
    if '"__ndarray__"' not in text:  # no arrays: no hook on every dict (a GWAS result has
        try:  # one dict per variant); NaN written by older versions needs the standard library
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return json.loads(text)
    return json.loads(text, object_hook=_hook)


def _utc(value: Any) -> datetime:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass
class Task:
    """One analysis task as stored.

    The analysis' state and the result (a GWAS result is a row per variant) are read from the
    database and parsed only when used: status polls, listings and lease checks need neither.
    """

    id: str
    analysis: str
    params: dict[str, Any]
    nodes: dict[str, list[str]]
    submitter: str
    claims: dict[str, Any]
    state: str
    reason: str | None
    rounds_done: int
    rounds_expected: int
    node_status: dict[str, dict[str, Any]]
    created: datetime
    updated: datetime
    extra: dict[str, Any] = field(default_factory=dict)
    # reads a stored text column of this task ("hub_state" / "result"), when first used
    fetch: Callable[[str], str | None] | None = field(default=None, repr=False, compare=False)

    def _text(self, column: str) -> str | None:
        return self.fetch(column) if self.fetch is not None else None

    @cached_property
    def hub_state(self) -> Any:
        """The analysis' state after the last completed round (None before the first)."""
        return load_state(self._text("hub_state"))

    @cached_property
    def result_text(self) -> str | None:
        """The result as stored: JSON text (None until the task is done)."""
        return self._text("result")

    @cached_property
    def result(self) -> Any:
        return load_state(self.result_text)

    def public(self) -> dict[str, Any]:
        """What `GET /analysis/tasks/{id}` shows (never the passport claims)."""
        expected = max(self.rounds_expected, self.rounds_done, 1)
        return {
            "id": self.id,
            "analysis": self.analysis,
            "params": self.params,
            "datasets": [f"{n}/{d}" for n, ds in sorted(self.nodes.items()) for d in ds],
            "state": self.state,
            "reason": self.reason,
            "progress": {
                "rounds_done": self.rounds_done,
                "rounds_expected": expected,
                "fraction": 1.0 if self.state == "done" else round(self.rounds_done / expected, 4),
            },
            "nodes": self.node_status,
            "created": self.created.isoformat(),
            "updated": self.updated.isoformat(),
            "result_ready": self.state == "done",
        }


def _task(row: Any, fetch: Callable[[str], str | None]) -> Task:
    return Task(
        id=row["id"],
        analysis=row["analysis"],
        params=row["params"],
        nodes=row["nodes"],
        submitter=row["submitter"],
        claims=row["claims"],
        state=row["state"],
        reason=row["reason"],
        rounds_done=row["rounds_done"],
        rounds_expected=row["rounds_expected"],
        node_status=row["node_status"],
        created=_utc(row["created"]),
        updated=_utc(row["updated"]),
        fetch=fetch,
    )


# every column but the two large texts, which a Task reads when first used
_LISTED = [c for c in tasks_table.c if c.name not in ("hub_state", "result")]


class TaskStore:
    """Analysis tasks in the hub's database (the registry's engine)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self,
        *,
        analysis: str,
        params: Mapping[str, Any],
        nodes: Mapping[str, list[str]],
        submitter: str,
        claims: Mapping[str, Any],
        hub_state: Any = None,
        rounds_expected: int = 1,
    ) -> Task:
        """A queued task (with the analysis' initial state when the submission configured it:
        the task then starts from it without configuring again). Returned as stored, without
        reading it back."""
        now = datetime.now(UTC)
        task_id = secrets.token_hex(8)
        values: dict[str, Any] = {
            "id": task_id,
            "analysis": analysis,
            "params": dict(params),
            "nodes": {k: list(v) for k, v in nodes.items()},
            "submitter": submitter,
            "claims": dict(claims),
            "state": "queued",
            "reason": None,
            "rounds_done": 0,
            "rounds_expected": rounds_expected,
            "node_status": {n: {"status": "queued"} for n in nodes},
            "created": now,
            "updated": now,
        }
        text = dump_state(hub_state) if hub_state is not None else None
        with self.engine.begin() as conn:
            conn.execute(insert(tasks_table).values(**values, hub_state=text, result=None))
        task = _task(values, self._fetcher(task_id))
        task.__dict__["hub_state"] = hub_state  # cached_property: no read back
        task.__dict__["result_text"] = None
        return task

    def get(self, task_id: str) -> Task:
        with self.engine.connect() as conn:
            row = conn.execute(select(*_LISTED).where(tasks_table.c.id == task_id)).mappings()
            found = row.first()
        if found is None:
            raise NotFoundError(f"no analysis {task_id!r}", field="id")
        return _task(found, self._fetcher(task_id))

    def list(self, *, submitter: str | None = None, states: tuple[str, ...] = ()) -> list[Task]:
        query = select(*_LISTED).order_by(tasks_table.c.created)
        if submitter is not None:
            query = query.where(tasks_table.c.submitter == submitter)
        if states:
            query = query.where(tasks_table.c.state.in_(states))
        with self.engine.connect() as conn:
            return [_task(r, self._fetcher(r["id"])) for r in conn.execute(query).mappings()]

    def _fetcher(self, task_id: str) -> Callable[[str], str | None]:
        def fetch(column: str) -> str | None:
            with self.engine.connect() as conn:
                return conn.execute(
                    select(tasks_table.c[column]).where(tasks_table.c.id == task_id)
                ).scalar()

        return fetch

    def update(self, task_id: str, *, only_if_active: bool = True, **values: Any) -> bool:
        """Change a task; with `only_if_active` (default) a task already finished (e.g.
        cancelled meanwhile) is left alone and False is returned: a compare-and-set."""
        if "hub_state" in values:
            values["hub_state"] = dump_state(values["hub_state"])
        if isinstance(values.get("result"), bytes):  # dump_result's JSON
            values["result"] = values["result"].decode()
        elif "result" in values:
            values["result"] = dump_result(values["result"]).decode()
        values["updated"] = datetime.now(UTC)
        query = update(tasks_table).where(tasks_table.c.id == task_id)
        if only_if_active:
            query = query.where(tasks_table.c.state.in_(ACTIVE))
        with self.engine.begin() as conn:
            return conn.execute(query.values(**values)).rowcount == 1

    def claim(self, task_id: str, worker: str, *, seconds: float) -> bool:
        """Make `worker` the task's runner for `seconds` if it is active and nobody else
        holds a live lease on it (compare-and-set); True if `worker` may drive it now."""
        now = time.time()
        t = tasks_table
        query = (
            update(t)
            .where(
                t.c.id == task_id,
                t.c.state.in_(ACTIVE),
                or_(t.c.runner.is_(None), t.c.runner == worker, t.c.lease_until < now),
            )
            .values(runner=worker, lease_until=now + seconds)
        )
        with self.engine.begin() as conn:
            return conn.execute(query).rowcount == 1

    def renew(self, worker: str, task_ids: Sequence[str], *, seconds: float) -> None:
        """Extend `worker`'s leases on `task_ids` (it is still driving them)."""
        if not task_ids:
            return
        t = tasks_table
        with self.engine.begin() as conn:
            conn.execute(
                update(t)
                .where(t.c.id.in_(task_ids), t.c.runner == worker)
                .values(lease_until=time.time() + seconds)
            )

    def release(self, worker: str) -> None:
        """Give up `worker`'s leases (it stops): another worker, or the next start, resumes
        its tasks at once instead of after the lease ran out."""
        t = tasks_table
        with self.engine.begin() as conn:
            conn.execute(
                update(t).where(t.c.runner == worker).values(runner=None, lease_until=None)
            )

    def set_node_statuses(self, task_id: str, statuses: Mapping[str, Any]) -> None:
        """Replace the task's node statuses (the worker driving it keeps them)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(tasks_table)
                .where(tasks_table.c.id == task_id)
                .values(node_status=dict(statuses), updated=datetime.now(UTC))
            )

    def set_node_status(self, task_id: str, node: str, status: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            row = conn.execute(
                select(tasks_table.c.node_status).where(tasks_table.c.id == task_id)
            ).first()
            if row is None:
                return
            merged = {**(row[0] or {}), node: status}
            conn.execute(
                update(tasks_table)
                .where(tasks_table.c.id == task_id)
                .values(node_status=merged, updated=datetime.now(UTC))
            )


__all__ = [
    "ACTIVE", "FINAL", "RESULT_EXTRAS", "STATES", "Task", "TaskStore", "dump_result",
    "dump_state", "load_state",
]  # fmt: skip
