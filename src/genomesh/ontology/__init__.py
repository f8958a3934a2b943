"""Ontologies: HPO, DUO and disease hierarchies (loading, descendants, similarity)."""
