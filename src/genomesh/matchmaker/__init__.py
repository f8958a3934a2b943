"""Matchmaker Exchange /match."""
