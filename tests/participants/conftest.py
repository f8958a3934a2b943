"""Reuse the gate's tiny real node and gate fixtures."""

from tests.gate.conftest import gate, make_gate, node_dir

__all__ = ["gate", "make_gate", "node_dir"]
