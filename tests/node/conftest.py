"""The node tests reuse the Beacon tests' CINECA node fixtures."""

from tests.beacon.conftest import cineca, cineca_node, client  # noqa: F401
