"""Node side of the logistic rounds (null model Newton steps, per-variant fits)."""

from __future__ import annotations

from typing import Any

from genomesh.analysis.gwas.params import GwasParams
from genomesh.analysis.protocol import LocalReply, RoundRequest
from genomesh.core.errors import InvalidInputError


def local(
    data: Any, request: RoundRequest, params: GwasParams, datasets: list[str], sites: list[str]
) -> LocalReply:
    raise InvalidInputError("logistic rounds are not available yet", field="model")
