"""A circuit breaker per node: a hung node costs one timeout a few times, not on every query.

Without it, a node that accepts connections but never answers holds every network query for
the full `node_timeout_seconds`. With it, the hub counts consecutive *unreachable* replies
from each node (timeouts, and connection failures of a push node: refused, reset, dropped);
any HTTP answer, even an error status, means the node responds and resets the count.
Requests that were already under way when a failure was counted do not count again, so one
burst (a catalogue sync asks three things at once) is one failure, not three. After
`failures` in a row the circuit opens:

* every request to that node is answered at once, without contacting it, with status `error`
  and reason `node not responding (circuit open): ...` in the network's per-node report;
* a background probe (`GET /info`, the Beacon info endpoint, through the same client and
  time limit) runs every `probe_seconds` until the node answers; then the circuit closes and
  queries reach the node again. Closed after a probe, one more unreachable reply reopens it
  at once (the "half-open" step), so a node that answers `/info` but still hangs on queries
  costs one timeout per probe interval, not `failures` of them.

One breaker serves all nodes; its state lives in the hub process's event loop (no locks).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from genomesh.hub.registry import NodePublic

log = logging.getLogger(__name__)

CircuitState = Literal["closed", "open"]
#: what the probe sends: the Beacon info endpoint every node serves, cheap and side-effect free
PROBE_PATH = "/info"
Probe = Callable[[NodePublic], Awaitable[bool]]


@dataclass
class NodeCircuit:
    """One node's circuit: consecutive unreachable replies, and since when it is open."""

    failures: int = 0
    state: CircuitState = "closed"
    counted_at: float = float("-inf")  # when the last failure was counted
    opened_at: float | None = None
    last_reason: str | None = None
    probes: int = 0
    probe_task: asyncio.Task[None] | None = field(default=None, repr=False)


class CircuitBreaker:
    """Per-node circuits for the hub's NodeClient (see the module docstring)."""

    def __init__(
        self,
        *,
        failures: int = 3,
        probe_seconds: float = 2.0,
    ) -> None:
        if failures < 1:
            raise ValueError("a circuit breaker needs failures >= 1")
        if probe_seconds <= 0:
            raise ValueError("probe_seconds must be positive")
        self.failures = failures
        self.probe_seconds = probe_seconds
        self.clock = time.perf_counter  # the clock of NodeClient's `started`
        self._circuits: dict[str, NodeCircuit] = {}

    @staticmethod
    def _key(node: NodePublic) -> str:
        return node.name

    def circuit(self, node: NodePublic | str) -> NodeCircuit:
        """The node's circuit (a closed one if nothing was recorded yet)."""
        name = node if isinstance(node, str) else self._key(node)
        return self._circuits.get(name) or NodeCircuit()

    def state(self, node: NodePublic | str) -> CircuitState:
        return self.circuit(node).state

    def refusal(self, node: NodePublic) -> str | None:
        """Why `node` is not contacted now (its circuit is open), else None."""
        circuit = self._circuits.get(self._key(node))
        if circuit is None or circuit.state == "closed":
            return None
        since = self.clock() - (circuit.opened_at or self.clock())
        return (
            f"node not responding (circuit open): {circuit.failures} consecutive failures, the "
            f"last {circuit.last_reason or 'unknown'}; not contacted for {since:.0f} s, probed "
            f"every {self.probe_seconds:g} s until it answers"
        )

    @staticmethod
    def unreachable(node: NodePublic, status: str, http_status: int | None) -> bool:
        """A reply that says the node did not answer at all (not: answered with an error).

        Timeouts count for every node; for a push node also an error without an HTTP status
        (connection refused, reset, dropped). A dial-out node that is not connected is
        already reported at once by the dial-out broker, so that does not count.
        """
        if status == "timeout":
            return True
        return status == "error" and http_status is None and not node.dial_out

    def record(
        self,
        node: NodePublic,
        *,
        status: str,
        http_status: int | None,
        reason: str | None,
        started: float,
        probe: Probe,
    ) -> None:
        """Count one reply from `node` to a request sent at `started` (time.perf_counter);
        opens its circuit after `failures` unreachable ones."""
        key = self._key(node)
        if not self.unreachable(node, status, http_status):
            circuit = self._circuits.get(key)
            if circuit is not None and circuit.state == "closed":
                circuit.failures = 0
            return
        circuit = self._circuits.setdefault(key, NodeCircuit())
        circuit.last_reason = reason
        if started <= circuit.counted_at:
            return  # under way when the last failure was counted: the same outage
        circuit.failures += 1
        circuit.counted_at = self.clock()
        if circuit.state == "closed" and circuit.failures >= self.failures:
            circuit.state = "open"
            circuit.opened_at = self.clock()
            log.warning(
                "node %s not responding (%d consecutive failures, last: %s): circuit open, "
                "probing every %g s",
                key, circuit.failures, reason, self.probe_seconds,
            )  # fmt: skip
            circuit.probe_task = asyncio.get_running_loop().create_task(
                self._probe_until_back(node, circuit, probe), name=f"probe-{key}"
            )

    async def _probe_until_back(self, node: NodePublic, circuit: NodeCircuit, probe: Probe) -> None:
        while circuit.state == "open":
            await asyncio.sleep(self.probe_seconds)
            circuit.probes += 1
            try:
                back = await probe(node)
            except Exception:  # a probe never ends the probing
                log.exception("probe of node %s failed", node.name)
                back = False
            if back:
                circuit.state = "closed"
                circuit.opened_at = None
                circuit.failures = self.failures - 1  # half-open: one more failure reopens
                circuit.probe_task = None
                log.warning("node %s answers again: circuit closed", node.name)

    def forget(self, name: str) -> None:
        """Drop a node's circuit (e.g. when it is re-registered), stopping its probe."""
        circuit = self._circuits.pop(name, None)
        if circuit is not None and circuit.probe_task is not None:
            circuit.probe_task.cancel()

    async def aclose(self) -> None:
        """Stop every probe (the hub is shutting down)."""
        tasks = [c.probe_task for c in self._circuits.values() if c.probe_task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def report(self) -> dict[str, dict[str, Any]]:
        """Every node with a non-zero count or an open circuit: state, failures, probes."""
        return {
            name: {"state": c.state, "failures": c.failures, "probes": c.probes,
                   "lastReason": c.last_reason}
            for name, c in self._circuits.items()
            if c.state == "open" or c.failures
        }  # fmt: skip


__all__ = ["PROBE_PATH", "CircuitBreaker", "CircuitState", "NodeCircuit"]
