"""The `meta` vs `pooled` comparison (the All of Us + UK Biobank pilot's question).

Given the rows of two GWAS results on the same variants: the correlation of their betas and
of their -log10 P, and the loci significant in one mode but not the other. A locus is a
significant variant; significant variants within `window` bp of each other are one locus.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1]) if len(a) > 2 else float("nan")


def _by_id(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["ID"]: row for row in rows}


def _loci(rows: list[dict[str, Any]], threshold: float, window: int) -> list[dict[str, Any]]:
    hits = sorted(
        (r for r in rows if r.get("P") is not None and r["P"] < threshold),
        key=lambda r: (r["CHROM"], r["POS"]),
    )
    loci: list[dict[str, Any]] = []
    for row in hits:
        last = loci[-1] if loci else None
        if last and last["CHROM"] == row["CHROM"] and row["POS"] - last["end"] <= window:
            last["end"] = row["POS"]
            if row["P"] < last["P"]:
                last.update(lead=row["ID"], P=row["P"])
        else:
            loci.append({"CHROM": row["CHROM"], "start": row["POS"], "end": row["POS"],
                         "lead": row["ID"], "P": row["P"]})  # fmt: skip
    return loci


def _overlaps(locus: dict[str, Any], others: list[dict[str, Any]], window: int) -> bool:
    return any(
        o["CHROM"] == locus["CHROM"]
        and o["start"] - window <= locus["end"]
        and locus["start"] <= o["end"] + window
        for o in others
    )


def compare_modes(
    meta_rows: Sequence[dict[str, Any]],
    pooled_rows: Sequence[dict[str, Any]],
    *,
    threshold: float = 5e-8,
    window: int = 250_000,
) -> dict[str, Any]:
    """Correlations of beta and -log10 P over shared variants, and loci found by one only."""
    meta, pooled = _by_id(meta_rows), _by_id(pooled_rows)
    shared = [
        i
        for i in meta
        if i in pooled
        and None
        not in (meta[i].get("BETA"), pooled[i].get("BETA"), meta[i].get("P"), pooled[i].get("P"))
    ]
    b_meta = np.array([meta[i]["BETA"] for i in shared])
    b_pool = np.array([pooled[i]["BETA"] for i in shared])
    lp_meta = -np.log10(np.maximum([meta[i]["P"] for i in shared], 1e-300))
    lp_pool = -np.log10(np.maximum([pooled[i]["P"] for i in shared], 1e-300))
    loci_meta = _loci([meta[i] for i in shared], threshold, window)
    loci_pool = _loci([pooled[i] for i in shared], threshold, window)
    return {
        "variants": len(shared),
        "beta_correlation": _corr(b_meta, b_pool),
        "log10p_correlation": _corr(lp_meta, lp_pool),
        "threshold": threshold,
        "loci_meta": len(loci_meta),
        "loci_pooled": len(loci_pool),
        "only_meta": [loc for loc in loci_meta if not _overlaps(loc, loci_pool, 0)],
        "only_pooled": [loc for loc in loci_pool if not _overlaps(loc, loci_meta, 0)],
    }
