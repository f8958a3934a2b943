"""The parameters of a GWAS, validated once at the hub (and again at each node).

A GWAS is defined by its trait, model, covariates, mode and disclosure thresholds. The hub
validates the researcher's parameters with `parse_params` (each problem names its field) and
forwards them, as plain JSON, to the nodes in every round.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from genomesh.core.errors import InvalidInputError

MODES = ("pooled", "secure", "meta")
MODELS = ("linear", "logistic")
STANDARD_COVARIATES = ("sex", "age")

# secure aggregation capacity (see genomesh.analysis.gwas.secure)
DEFAULT_MAX_PARTICIPANTS = 500_000
DEFAULT_COVARIATE_BOUND = 1_000.0  # |age|, |PC| and any extra covariate must stay below
DEFAULT_TRAIT_BOUND = 10_000.0  # |trait| must stay below


@dataclass(frozen=True)
class GwasParams:
    """One GWAS definition (JSON round-trip: `GwasParams.from_json(p.to_json())`)."""

    trait: str
    model: str = "linear"  # linear (quantitative trait) | logistic (binary trait, 0/1)
    mode: str = "pooled"  # pooled | secure | meta
    covariates: tuple[str, ...] = ("sex", "age")  # besides site intercepts and PCs
    n_pcs: int = 0  # principal components from the hub's reference loadings
    min_individuals: int | None = None  # per dataset and per case/control group; None: node's
    min_mac: int = 5  # minor-allele count per variant per dataset before anything leaves
    chunk_variants: int | None = None  # dask chunk size along variants (None: the store's)
    # logistic: which variants get per-variant Wald/Firth fits after the score test
    top_p: float = 1e-5
    top_max: int = 50
    max_iter: int = 25
    firth: str = "fallback"  # fallback (plink2's default) | always | never
    tolerance: float = 1e-8
    # secure aggregation bounds (declared up front so overflow is refused before it happens)
    max_participants: int = DEFAULT_MAX_PARTICIPANTS
    covariate_bound: float = DEFAULT_COVARIATE_BOUND
    trait_bound: float = DEFAULT_TRAIT_BOUND
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["covariates"] = list(self.covariates)
        out.pop("extra")
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> GwasParams:
        return parse_params(raw)

    def definition_key(self) -> str:
        """A hash of what makes two runs comparable (for the node-set ledger): everything
        except the mode and performance knobs."""
        core = {
            k: v
            for k, v in self.to_json().items()
            if k not in ("mode", "chunk_variants", "top_p", "top_max", "max_iter", "tolerance")
        }
        text = json.dumps(core, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def _int(raw: Mapping[str, Any], name: str, default: int | None, *, low: int) -> int | None:
    value = raw.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidInputError(f"{name} must be an integer ≥ {low}, got {value!r}", field=name)
    return value


def _float(raw: Mapping[str, Any], name: str, default: float, *, positive: bool = True) -> float:
    value = raw.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise InvalidInputError(f"{name} must be a number, got {value!r}", field=name)
    if positive and value <= 0:
        raise InvalidInputError(f"{name} must be positive, got {value!r}", field=name)
    return float(value)


KNOWN = {
    "trait", "model", "mode", "covariates", "n_pcs", "min_individuals", "min_mac",
    "chunk_variants", "top_p", "top_max", "max_iter", "tolerance", "max_participants",
    "covariate_bound", "trait_bound", "firth",
}  # fmt: skip


def parse_params(raw: Mapping[str, Any]) -> GwasParams:
    """Validate a GWAS definition; unknown or malformed fields are refused by name.

    Keys outside `KNOWN` that the hub adds per round (phase, sites, variants, peers, ...) are
    kept in `extra` untouched.
    """
    if not isinstance(raw, Mapping):
        raise InvalidInputError("GWAS parameters must be an object", field="params")
    trait = raw.get("trait")
    if not isinstance(trait, str) or not trait.strip():
        raise InvalidInputError("name the trait column to analyse", field="trait")
    model = raw.get("model", "linear")
    if model not in MODELS:
        raise InvalidInputError(f"model must be one of {', '.join(MODELS)}", field="model")
    mode = raw.get("mode", "pooled")
    if mode not in MODES:
        raise InvalidInputError(f"mode must be one of {', '.join(MODES)}", field="mode")
    covariates = raw.get("covariates", list(STANDARD_COVARIATES))
    if not isinstance(covariates, list | tuple) or not all(
        isinstance(c, str) and c for c in covariates
    ):
        raise InvalidInputError("covariates must be a list of column names", field="covariates")
    if len(set(covariates)) != len(covariates) or trait in covariates:
        raise InvalidInputError(
            "covariates must be distinct and must not include the trait", field="covariates"
        )
    if any(c.startswith(("PC", "site:")) for c in covariates):
        raise InvalidInputError(
            "PCs and site intercepts are added by the analysis (use n_pcs)", field="covariates"
        )
    n_pcs = _int(raw, "n_pcs", 0, low=0)
    min_mac = _int(raw, "min_mac", 5, low=0)
    max_participants = _int(raw, "max_participants", DEFAULT_MAX_PARTICIPANTS, low=1)
    top_p = _float(raw, "top_p", 1e-5)
    if top_p > 1:
        raise InvalidInputError("top_p must be a p-value threshold in (0, 1]", field="top_p")
    firth = raw.get("firth", "fallback")
    if firth not in ("fallback", "always", "never"):
        raise InvalidInputError("firth must be fallback, always or never", field="firth")
    return GwasParams(
        trait=trait,
        firth=firth,
        model=model,
        mode=mode,
        covariates=tuple(covariates),
        n_pcs=n_pcs or 0,
        min_individuals=_int(raw, "min_individuals", None, low=1),
        min_mac=min_mac or 0,
        chunk_variants=_int(raw, "chunk_variants", None, low=1),
        top_p=top_p,
        top_max=_int(raw, "top_max", 50, low=0) or 0,
        max_iter=_int(raw, "max_iter", 25, low=1) or 25,
        tolerance=_float(raw, "tolerance", 1e-8),
        max_participants=max_participants or DEFAULT_MAX_PARTICIPANTS,
        covariate_bound=_float(raw, "covariate_bound", DEFAULT_COVARIATE_BOUND),
        trait_bound=_float(raw, "trait_bound", DEFAULT_TRAIT_BOUND),
        extra={k: v for k, v in raw.items() if k not in KNOWN},
    )
