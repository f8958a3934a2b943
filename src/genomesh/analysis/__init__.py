"""Registered federated analyses (configure / local / aggregate)."""
