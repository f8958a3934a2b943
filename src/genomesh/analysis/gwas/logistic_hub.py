"""Hub side of the logistic rounds (null model by Newton steps, score test, top-hit fits)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from genomesh.analysis.protocol import LocalReply
from genomesh.core.errors import InvalidInputError


def start(state: dict) -> None:
    raise InvalidInputError("logistic GWAS is not available yet", field="model")


def round_params(state: dict) -> dict[str, Any]:
    return {}


def aggregate(state: dict, replies: Mapping[str, LocalReply]) -> None:
    raise InvalidInputError("logistic GWAS is not available yet", field="model")
