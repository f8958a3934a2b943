"""Registered federated analyses (configure / local / aggregate).

Importing this package registers the built-in analysis types (`BUILTIN`; a module not
installed yet is skipped). The hub imports it and `genomesh.analysis.wire` only: the
node-side runner (`genomesh.analysis.runner`) and its store view
(`genomesh.analysis.localdata`) are imported by the node alone, so the hub never pulls in
the store or the gate.
"""

import importlib

from genomesh.analysis.protocol import (
    Analysis,
    LocalData,
    LocalReply,
    RoundRequest,
    get_analysis,
    register,
    registered,
)

# modules whose import registers an analysis type (the GWAS module registers "gwas")
BUILTIN = (
    "genomesh.analysis.cohort_summary",
    "genomesh.analysis.allele_frequency",
    "genomesh.analysis.gwas",
    "genomesh.analysis.case_search",
)

for _name in BUILTIN:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as _exc:
        if _exc.name != _name:  # a real missing dependency, not a module not written yet
            raise

__all__ = [
    "BUILTIN",
    "Analysis",
    "LocalData",
    "LocalReply",
    "RoundRequest",
    "get_analysis",
    "register",
    "registered",
]
