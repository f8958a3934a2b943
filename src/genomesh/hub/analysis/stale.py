"""Analysis results made stale by a withdrawal, and their re-runs (issue 14 part 3).

When a participant withdraws, their node finds in its audit log and disclosure ledger every
analysis task whose rounds used their data and names those task ids in the withdrawal
notice it sends the hub (`stale_tasks`, beside the recipients it already names). The hub
records each (task, node, dataset, participant pseudonym) here - only for tasks that really
asked that node about that dataset - and from then on shows the task as stale wherever it is
shown: `GET /analysis/tasks[/{id}[/result]]` and `genomesh analysis status/result`.

`POST /analysis/tasks/{id}/rerun` submits the same analysis (type, parameters, datasets)
again with the researcher's current passport; the nodes leave the withdrawn participants
out, as they do of every answer after a withdrawal. Once both are done, the re-run shows how
much the result changed (`result_change`): for association results the largest
|Δbeta| / SE and how many of the top hits changed, for allele frequencies the largest |ΔAF|.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    insert,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from genomesh.analysis.results import result_rows
from genomesh.core.errors import NotFoundError

TOP_HITS = 10
metadata = MetaData()
stale_table = Table(
    "hub_analysis_stale",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("task_id", String(32), nullable=False, index=True),
    Column("node", String(128), nullable=False),
    Column("dataset_id", String(128), nullable=False),
    Column("individual_pseudonym", String(128), nullable=False),
    Column("withdrawn_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("task_id", "node", "dataset_id", "individual_pseudonym", name="uq_stale"),
)
reruns_table = Table(
    "hub_analysis_reruns",
    metadata,
    Column("task_id", String(32), primary_key=True),
    Column("rerun_of", String(32), nullable=False, index=True),
    Column("created", DateTime(timezone=True), nullable=False),
)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class StaleStore:
    """Stale marks and re-run links in the hub's database (the registry's engine)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    def mark(
        self,
        task_ids: list[str],
        *,
        node: str,
        dataset_id: str,
        individual_pseudonym: str,
        withdrawn_at: datetime,
        tasks: Any,
    ) -> list[str]:
        """Mark the tasks that asked `node` about `dataset_id`; returns the ids marked."""
        marked = []
        for task_id in dict.fromkeys(task_ids):
            try:
                task = tasks.get(task_id)
            except NotFoundError:  # an unknown id: nothing to mark
                continue
            if dataset_id not in (task.nodes.get(node) or []):
                continue  # a node can only mark tasks that used its own dataset
            row = {
                "task_id": task_id, "node": node, "dataset_id": dataset_id,
                "individual_pseudonym": individual_pseudonym,
                "withdrawn_at": _utc(withdrawn_at), "received_at": datetime.now(UTC),
            }  # fmt: skip
            try:
                with self.engine.begin() as con:
                    con.execute(insert(stale_table).values(**row))
            except IntegrityError:
                pass  # the same withdrawal reported again
            marked.append(task_id)
        return marked

    def stale(self, task_id: str) -> dict[str, Any] | None:
        """Why a task's result is stale (None if it is not)."""
        t = stale_table
        with self.engine.connect() as con:
            rows = con.execute(
                select(t.c.node, t.c.dataset_id, t.c.withdrawn_at).where(t.c.task_id == task_id)
            ).all()
        if not rows:
            return None
        return {
            "stale": True,
            "reason": f"{len(rows)} participant(s) whose data it used have since withdrawn",
            "withdrawals": len(rows),
            "since": min(_utc(r[2]) for r in rows).isoformat(),
            "datasets": sorted({f"{r[0]}/{r[1]}" for r in rows}),
            "reruns": self.reruns(task_id),
        }

    def link(self, task_id: str, rerun_of: str) -> None:
        with self.engine.begin() as con:
            con.execute(
                insert(reruns_table).values(
                    task_id=task_id, rerun_of=rerun_of, created=datetime.now(UTC)
                )
            )

    def rerun_of(self, task_id: str) -> str | None:
        q = select(reruns_table.c.rerun_of).where(reruns_table.c.task_id == task_id)
        with self.engine.connect() as con:
            return con.execute(q).scalar()

    def reruns(self, task_id: str) -> list[str]:
        q = select(reruns_table.c.task_id).where(reruns_table.c.rerun_of == task_id)
        with self.engine.connect() as con:
            return list(con.execute(q.order_by(reruns_table.c.created)).scalars())


def stale_store(app: Any) -> StaleStore:
    """The app's one StaleStore (on the registry's engine), made on first use."""
    found = getattr(app.state, "stale_analyses", None)
    if found is None:
        found = app.state.stale_analyses = StaleStore(app.state.store.engine)
    return found


def mark_from_notice(app: Any, body: Any) -> list[str]:
    """Record the stale tasks a node's (already authenticated) withdrawal notice names."""
    payload = body.get("payload") if isinstance(body, dict) and "sig" in body else body
    if not isinstance(payload, dict):
        return []
    ids = payload.get("stale_tasks") or []
    if not isinstance(ids, list) or not ids:
        return []
    from genomesh.hub.analysis.routes import coordinator_of

    try:
        at = datetime.fromisoformat(str(payload["withdrawn_at"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return []
    return stale_store(app).mark(
        [str(i) for i in ids[:10_000]],
        node=str(payload.get("node")),
        dataset_id=str(payload.get("dataset_id")),
        individual_pseudonym=str(payload.get("individual_pseudonym")),
        withdrawn_at=at,
        tasks=coordinator_of(app).tasks,
    )


def notify_rerun_finished(app: Any, task: Any) -> bool:
    """When a re-run is done, put a notice in its submitter's hub inbox (dac_notifications):
    which analysis, how many withdrawn participants it left out, and how much the result
    moved. False (nothing stored) when the task is no re-run or the hub has no DAC."""
    store = stale_store(app)
    original_id = store.rerun_of(task.id)
    if original_id is None:
        return False
    from genomesh.core.errors import StoreError
    from genomesh.hub.analysis.routes import coordinator_of
    from genomesh.hub.dac.models import Notification
    from genomesh.hub.dac.routes import _ensure_service

    try:
        dac = _ensure_service(app.state)
    except StoreError:  # a hub without its data access committee keeps no inboxes
        return False

    original = coordinator_of(app).tasks.get(original_id)
    if original.state != "done" or task.state != "done":
        return False
    change = result_change(original.result, task.result)
    withdrawn = (store.stale(original_id) or {}).get("withdrawals", 0)
    words = [f"the re-run {task.id} of analysis {original_id} ({task.analysis}) without "
             f"{withdrawn} withdrawn participant(s) finished"]  # fmt: skip
    if "n_individuals_before" in change:
        words.append(
            f"individuals {change['n_individuals_before']} -> {change['n_individuals_after']}"
        )
    if "max_abs_delta_beta_over_se" in change:
        words.append(f"max |Δbeta|/SE = {change['max_abs_delta_beta_over_se']:.3g}")
        words.append(f"{change['top_hits_changed']} of the top {change['top_hits']} hits changed")
    if "max_abs_delta_af" in change:
        words.append(f"max |ΔAF| = {change['max_abs_delta_af']:.3g}")
    nodes = sorted(task.nodes)
    now = datetime.now(UTC)
    with dac.database.transaction() as session:
        session.add(
            Notification(
                recipient=task.submitter.split("|", 1)[-1],
                kind="rerun",
                node=",".join(nodes)[:128] or "hub",
                dataset_id=f"analysis {original_id}"[:128],
                individual_pseudonym=f"rerun {task.id}"[:128],  # no participant: a re-run
                withdrawn_at=now,
                message=": ".join([words[0], ", ".join(words[1:])]) if words[1:] else words[0],
                received_at=now,
            )
        )
    return True


def _key(row: dict[str, Any]) -> str:
    if "ID" in row:
        return str(row["ID"])
    base = row.get("variant_id") or "-".join(
        str(row.get(k)) for k in ("chrom", "pos", "ref", "alt")
    )
    return f"{base}|{row.get('group', '')}"


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _top(rows: dict[str, dict[str, Any]]) -> list[str]:
    ranked = [(p, k) for k, r in rows.items() if (p := _number(r.get("P"))) is not None]
    return [k for _, k in sorted(ranked)[:TOP_HITS]]


def result_change(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """How much a result changed between two runs of the same analysis.

    Association rows (BETA, SE, P by ID): the largest |Δbeta| / SE (the SE of the first
    run), where it is, and how many of the first run's top hits (smallest P) are no longer
    among the re-run's. Frequency rows (AF): the largest |ΔAF|. Always: row counts, rows
    only in one run, and the change in the number of individuals when both report it."""
    a = {_key(r): r for r in result_rows(before)}
    b = {_key(r): r for r in result_rows(after)}
    common = [k for k in a if k in b]
    out: dict[str, Any] = {
        "rows_before": len(a), "rows_after": len(b),
        "rows_only_before": len(a) - len(common), "rows_only_after": len(b) - len(common),
    }  # fmt: skip
    n0, n1 = _number(before.get("n_individuals")), _number(after.get("n_individuals"))
    if n0 is not None and n1 is not None:
        out["n_individuals_before"], out["n_individuals_after"] = int(n0), int(n1)
    shifts = []
    for k in common:
        b0, se0, b1 = (
            _number(a[k].get("BETA")),
            _number(a[k].get("SE")),
            _number(b[k].get("BETA")),
        )
        if b0 is not None and b1 is not None and se0:
            shifts.append((abs(b1 - b0) / se0, k))
    if shifts:
        worst = max(shifts)
        out["max_abs_delta_beta_over_se"] = worst[0]
        out["max_shift_at"] = worst[1]
        top0, top1 = _top(a), _top(b)
        out["top_hits"] = len(top0)
        out["top_hits_changed"] = len(set(top0) - set(top1))
        out["top_hits_left"] = [k for k in top0 if k not in top1]
    afs = [
        (abs(f1 - f0), k)
        for k in common
        if (f0 := _number(a[k].get("AF"))) is not None
        and (f1 := _number(b[k].get("AF"))) is not None
    ]
    if afs:
        worst_af = max(afs)
        out["max_abs_delta_af"], out["max_af_shift_at"] = worst_af
    return out


def describe_change(change: dict[str, Any]) -> str:
    """The change in one sentence (for notices and the CLI)."""
    parts = []
    if "n_individuals_before" in change:
        parts.append(
            f"individuals {change['n_individuals_before']} -> {change['n_individuals_after']}"
        )
    if "max_abs_delta_beta_over_se" in change:
        parts.append(
            f"max |Δbeta|/SE {change['max_abs_delta_beta_over_se']:.3g} "
            f"(at {change['max_shift_at']})"
        )
        parts.append(f"top hits changed {change['top_hits_changed']} of {change['top_hits']}")
    if "max_abs_delta_af" in change:
        parts.append(f"max |ΔAF| {change['max_abs_delta_af']:.3g}")
    parts.append(f"rows {change['rows_before']} -> {change['rows_after']}")
    return "; ".join(parts)


__all__ = [
    "StaleStore",
    "describe_change",
    "mark_from_notice",
    "notify_rerun_finished",
    "reruns_table",
    "result_change",
    "stale_store",
    "stale_table",
]
