"""Dial-out across hub workers: requests, answers and presence in the hub database.

A dial-out node holds one long-poll at a time, at whichever hub worker the load balancer
gave it. A network query may arrive at another worker. The `DialoutBroker` keeps its fast
path in memory (the query's worker holds the node's poll: the request goes into that
poll's queue, as with one worker) and uses these tables for the rest:

* `hub_dialout_presence` — which node polls now (`polling_until`) or polled lately
  (`last_seen`), so every worker can tell whether a node is connected;
* `hub_dialout_requests` — a signed request for a node whose poll another worker holds;
  that worker claims it (compare-and-set on `claimed_by`) and hands it to the node;
* `hub_dialout_answers` — a node's answer that reached a worker other than the one waiting
  for it; the waiting worker collects it.

Each worker runs one `pump` while it has something to look for (a poll it holds, a query
waiting for a remote answer); a tick reads the `dialout` change counter (one row,
genomesh.hub.shared) and queries the tables only when it moved.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from genomesh.hub.shared import bump_version, read_version

COUNTER = "dialout"
ANSWER_KEEP_SECONDS = 300.0  # answers nobody collected (their caller gave up) are dropped

metadata = MetaData()
presence_table = Table(
    "hub_dialout_presence",
    metadata,
    Column("node", String(64), primary_key=True),
    Column("worker", String(128), nullable=False),
    Column("polling_until", Float, nullable=False),  # 0: not polling now
    Column("last_seen", Float, nullable=False),  # 0: hung up
)
requests_table = Table(
    "hub_dialout_requests",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("node", String(64), nullable=False, index=True),
    Column("message", JSON, nullable=False),  # the hub-signed request
    Column("expires", Float, nullable=False),
    Column("claimed_by", String(128), nullable=True),
)
answers_table = Table(
    "hub_dialout_answers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("node", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", JSON, nullable=True),
    Column("received", Float, nullable=False),
)


class DialoutRelay:
    """The database side of `DialoutBroker` for one worker (`worker` names it)."""

    def __init__(self, engine: Engine, worker: str) -> None:
        self.engine = engine
        self.worker = worker
        self._seen_version = -1

    # -- presence ----------------------------------------------------------------------
    def polling(self, node: str, *, until: float) -> bool:
        """Record that `node` polls here until `until`; True if it was connected before."""
        now = time.time()
        with self.engine.begin() as conn:
            row = conn.execute(select(presence_table).where(presence_table.c.node == node)).first()
            values = {"worker": self.worker, "polling_until": until, "last_seen": now}
            if row is None:
                conn.execute(insert(presence_table).values(node=node, **values))
            else:
                conn.execute(
                    update(presence_table).where(presence_table.c.node == node).values(**values)
                )
        return row is not None and _live(row, now, self._grace)

    def poll_ended(self, node: str, *, hung_up: bool) -> None:
        """The poll at this worker ended (`hung_up`: the node went away, say so at once)."""
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(
                update(presence_table)
                .where(presence_table.c.node == node, presence_table.c.worker == self.worker)
                .values(polling_until=0.0, last_seen=0.0 if hung_up else now)
            )

    _grace = 5.0  # set by the broker: poll_seconds + 5

    def connected(self, node: str) -> bool:
        with self.engine.connect() as conn:
            row = conn.execute(select(presence_table).where(presence_table.c.node == node)).first()
        return row is not None and _live(row, time.time(), self._grace)

    # -- requests and answers ------------------------------------------------------------
    def put_request(
        self, node: str, request_id: str, message: dict[str, Any], *, ttl: float
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(requests_table).values(
                    id=request_id, node=node, message=message, expires=time.time() + ttl
                )
            )
            bump_version(conn, COUNTER)

    def drop_request(self, request_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(requests_table).where(requests_table.c.id == request_id))

    def put_answer(self, request_id: str, node: str, status: int, body: Any) -> None:
        now = time.time()
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(answers_table).values(
                        id=request_id, node=node, status=status, body=body, received=now
                    )
                )
                old = answers_table.c.received < now - ANSWER_KEEP_SECONDS
                conn.execute(delete(answers_table).where(old))
                bump_version(conn, COUNTER)
        except IntegrityError:
            pass  # a second answer to the same request: the first one counts

    def changed(self) -> bool:
        """Did any worker queue a request or post an answer since the last look?"""
        with self.engine.connect() as conn:
            version = read_version(conn, COUNTER)
        moved = version != self._seen_version
        self._seen_version = version
        return moved

    def claim(self, nodes: list[str]) -> list[tuple[str, dict[str, Any]]]:
        """Unclaimed, unexpired requests for `nodes` (polling here), claimed for this worker."""
        if not nodes:
            return []
        now = time.time()
        claimed = []
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(requests_table.c.id, requests_table.c.node, requests_table.c.message).where(
                    requests_table.c.node.in_(nodes),
                    requests_table.c.claimed_by.is_(None),
                    requests_table.c.expires > now,
                )
            ).all()
            for request_id, node, message in rows:
                won = conn.execute(
                    update(requests_table)
                    .where(requests_table.c.id == request_id, requests_table.c.claimed_by.is_(None))
                    .values(claimed_by=self.worker)
                ).rowcount
                if won:
                    claimed.append((node, message))
        return claimed

    def collect(self, request_ids: list[str]) -> list[tuple[str, str, int, Any]]:
        """Answers posted for `request_ids` (id, node, status, body), removed once read."""
        if not request_ids:
            return []
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(
                    answers_table.c.id, answers_table.c.node, answers_table.c.status,
                    answers_table.c.body,
                ).where(answers_table.c.id.in_(request_ids))
            ).all()  # fmt: skip
            if rows:
                conn.execute(
                    delete(answers_table).where(answers_table.c.id.in_([r[0] for r in rows]))
                )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def collect_parts(self, request_ids: list[str]) -> list[tuple[str, str, int, Any]]:
        """Answer parts other workers received for `request_ids` (their ids carry the
        request id, ":part:" and the index), removed once read."""
        if not request_ids:
            return []
        with self.engine.begin() as conn:
            return _collect_where(
                conn, or_(*(answers_table.c.id.startswith(f"{rid}:part:") for rid in request_ids))
            )


def _collect_where(conn: Any, where: Any) -> list[tuple[str, str, int, Any]]:
    rows = conn.execute(
        select(
            answers_table.c.id, answers_table.c.node, answers_table.c.status, answers_table.c.body
        ).where(where)
    ).all()
    if rows:
        conn.execute(delete(answers_table).where(answers_table.c.id.in_([r[0] for r in rows])))
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def _live(row: Any, now: float, grace: float) -> bool:
    return bool(row.polling_until > now or (row.last_seen and now - row.last_seen < grace))


__all__ = ["DialoutRelay", "answers_table", "metadata", "presence_table", "requests_table"]
