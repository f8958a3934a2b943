"""Federated GWAS: exact pooled linear/logistic regression from sufficient statistics,
secure aggregation of those sums, and METAL-style meta-analysis (`docs/gwas.md`).

Importing this package registers the `gwas` analysis type.
"""

from __future__ import annotations

from genomesh.analysis.gwas.analysis import GWAS, GwasAnalysis
from genomesh.analysis.gwas.params import GwasParams, parse_params
from genomesh.analysis.gwas.pcs import reference_loadings
from genomesh.analysis.protocol import register

register(GWAS)

__all__ = ["GWAS", "GwasAnalysis", "GwasParams", "parse_params", "reference_loadings"]
