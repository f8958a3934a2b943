"""Ontologies: HPO, DUO and disease hierarchies (loading, descendants, similarity).

Everything is packaged and works offline; each ontology loads lazily, once per process.

    from genomesh.ontology import get_hpo, get_duo, get_icd10, registry

See docs/consent-and-purpose.md ("Ontologies and what hierarchy each has").
"""

from __future__ import annotations

from genomesh.ontology import registry
from genomesh.ontology.duo import get_duo
from genomesh.ontology.hpo import get_hpo
from genomesh.ontology.icd10 import get_icd10

__all__ = ["get_duo", "get_hpo", "get_icd10", "registry"]
