"""The analysis form: from what a researcher typed to the hub API's submission body.

The form checks only what it must to build the body (a type, at least one dataset, numbers
that are numbers); everything else is the hub's to judge (`genomesh.analysis` validates the
params, the coordinator the visas), and its answer comes back with the field it names.
`FIELD_OF` maps the API's field names to the form's, so every error lands next to its field.

A GWAS can be run as `compare`: the same definition in meta and in pooled mode, then the
comparison of the two (`genomesh.analysis.gwas.compare`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

TYPES = (("gwas", "GWAS (genome-wide association)"), ("allele-frequency", "Allele frequencies"))
MODELS = (("linear", "linear (quantitative trait)"), ("logistic", "logistic (binary trait, 0/1)"))
MODES = (
    ("pooled", "pooled: exact, from sufficient statistics"),
    ("meta", "meta-analysis (inverse-variance, per node)"),
    ("secure", "secure: pooled, with secure aggregation"),
    ("compare", "compare meta with pooled (runs both)"),
)
FIELDS = ("type", "datasets", "trait", "model", "mode", "covariates", "min_mac", "region",
          "variants", "application")  # fmt: skip
# the API's field names -> the form's (anything else is shown above the form)
FIELD_OF = {
    "type": "type", "datasets": "datasets", "nodes": "datasets", "trait": "trait",
    "model": "model", "mode": "mode", "covariates": "covariates", "min_mac": "min_mac",
    "region": "region", "variants": "variants", "application": "application",
}  # fmt: skip


@dataclass
class Parsed:
    """Submission bodies to send (two for compare), or the form's own errors."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    application: int | None = None
    compare: bool = False


def parse_form(form: Mapping[str, str], datasets: Sequence[str]) -> Parsed:
    """`form`: the single-valued fields; `datasets`: every ticked NODE/DATASET."""
    out = Parsed()
    kind = form.get("type", "").strip()
    if kind not in {k for k, _ in TYPES}:
        out.errors["type"] = "choose an analysis type"
    chosen = [d.strip() for d in datasets if d.strip()]
    if not chosen:
        out.errors["datasets"] = "tick at least one dataset"
    application = form.get("application", "").strip()
    if application:
        if not application.isdigit():
            out.errors["application"] = "choose one of your approved applications"
        else:
            out.application = int(application)
    params: dict[str, Any] = {}
    if kind == "gwas":
        trait = form.get("trait", "").strip()
        if not trait:
            out.errors["trait"] = "name the trait (a column of the individuals, e.g. bmi)"
        params["trait"] = trait
        params["model"] = form.get("model", "linear").strip() or "linear"
        mode = form.get("mode", "pooled").strip() or "pooled"
        covariates = [c.strip() for c in form.get("covariates", "").split(",") if c.strip()]
        params["covariates"] = covariates
        min_mac = form.get("min_mac", "").strip()
        if min_mac:
            if not min_mac.isdigit():
                out.errors["min_mac"] = "a whole number of alleles (e.g. 5)"
            else:
                params["min_mac"] = int(min_mac)
        if mode == "compare":
            out.compare = True
            modes = ["meta", "pooled"]
        else:
            modes = [mode]
        out.bodies = [
            {"type": "gwas", "params": {**params, "mode": m}, "datasets": chosen} for m in modes
        ]
    elif kind == "allele-frequency":
        region = form.get("region", "").strip()
        variants = [v for v in form.get("variants", "").replace(",", " ").split() if v]
        if region and variants:
            out.errors["region"] = "give a region or a list of variants, not both"
        elif region:
            params["region"] = region
        elif variants:
            params["variants"] = variants
        else:
            out.errors["region"] = "give a region (e.g. 22:16000000-17000000) or variants"
        out.bodies = [{"type": kind, "params": params, "datasets": chosen}]
    if out.errors:
        out.bodies = []
    return out


def form_field(api_field: str | None) -> str:
    """The form field an API error belongs to ('form' when none fits)."""
    return FIELD_OF.get(api_field or "", "form")


__all__ = ["FIELDS", "MODELS", "MODES", "TYPES", "Parsed", "form_field", "parse_form"]
