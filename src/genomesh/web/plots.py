"""Interactive Manhattan and QQ plots of a GWAS result, as plotly.js figure JSON.

The portal serves these figures from an endpoint and draws them with plotly.js (served from
the installed `plotly` wheel, `genomesh.web.vendor`) and a static script; no figure data is
ever written into the page itself (the content-security policy forbids inline scripts).

Every Manhattan point carries its variant in `customdata` = [ID, CHROM, POS, P, BETA]: the
hover label shows it and a click looks the row up in the results table.

Large results are thinned for drawing, never for the table or the TSV: every variant with
P < `keep_below` is kept, and of the rest an evenly spaced subset in genome order (Manhattan)
or in P order (QQ) up to `max_points`, which keeps the shape of the cloud and every peak.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

GENOME_WIDE = 5e-8
SUGGESTIVE = 1e-5
MAX_POINTS = 20_000
KEEP_BELOW = 1e-3
COLOURS = ("#1f4e79", "#6b8fb5")  # alternate chromosomes; contrast ≥ 3:1 on white
LINE = "#b03a2e"


def chrom_order(chrom: str) -> tuple[int, str]:
    """1..22 numerically, then X, Y, MT and anything else by name."""
    bare = str(chrom).removeprefix("chr")
    if bare.isdigit():
        return (int(bare), "")
    return ({"X": 23, "Y": 24, "MT": 25, "M": 25}.get(bare.upper(), 100), bare)


def usable(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Rows with a finite P in (0, 1] (an untestable variant has P = None)."""
    out = []
    for row in rows:
        p = row.get("P")
        if isinstance(p, int | float) and math.isfinite(p) and 0 < p <= 1:
            out.append(row)
    return out


def _thin(order: np.ndarray, keep: np.ndarray, max_points: int) -> np.ndarray:
    """Indices to draw: all `keep` ones, and of the others (in `order`) an even subset."""
    kept = order[keep[order]]
    rest = order[~keep[order]]
    room = max(max_points - len(kept), 0)
    if len(rest) > room:
        even = np.linspace(0, len(rest) - 1, num=room).round().astype(np.int64)
        rest = rest[even]
    return np.sort(np.concatenate([kept, rest]))


def lambda_gc(p: np.ndarray) -> float | None:
    """Genomic inflation: median of the 1-df chi-square statistics over its null median."""
    if len(p) == 0:
        return None
    return float(np.median(stats.chi2.isf(p, 1)) / stats.chi2.ppf(0.5, 1))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def manhattan_figure(
    rows: Sequence[Mapping[str, Any]],
    *,
    threshold: float = GENOME_WIDE,
    max_points: int = MAX_POINTS,
    keep_below: float = KEEP_BELOW,
) -> dict[str, Any]:
    """-log10 P by genome position, one trace per chromosome, the threshold as a line."""
    good = usable(rows)
    by_chrom: dict[str, list[Mapping[str, Any]]] = {}
    for row in good:
        by_chrom.setdefault(str(row["CHROM"]), []).append(row)
    chroms = sorted(by_chrom, key=chrom_order)
    data: list[dict[str, Any]] = []
    ticks: list[tuple[float, str]] = []
    offset = 0.0
    for i, chrom in enumerate(chroms):
        sub = sorted(by_chrom[chrom], key=lambda r: int(r["POS"]))
        pos = np.array([r["POS"] for r in sub], dtype=np.float64)
        p = np.array([r["P"] for r in sub], dtype=np.float64)
        share = max(1, round(max_points * len(sub) / max(len(good), 1)))
        pick = _thin(np.arange(len(sub)), p < keep_below, share)
        start, span = float(pos.min()), float(pos.max() - pos.min())
        x = offset + pos[pick] - start
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"chr{chrom.removeprefix('chr')}",
                "x": x.tolist(),
                "y": (-np.log10(p[pick])).tolist(),
                "customdata": [
                    [
                        str(sub[j]["ID"]),
                        chrom,
                        int(sub[j]["POS"]),
                        float(sub[j]["P"]),
                        _number(sub[j].get("BETA")),
                    ]
                    for j in pick.tolist()
                ],
                "marker": {"color": COLOURS[i % 2], "size": 6},
                "hovertemplate": (
                    "<b>%{customdata[0]}</b><br>chr%{customdata[1]}:%{customdata[2]}"
                    "<br>P = %{customdata[3]:.3g}<br>beta = %{customdata[4]:.4g}<extra></extra>"
                ),
                "showlegend": False,
            }
        )
        ticks.append((offset + span / 2, chrom.removeprefix("chr")))
        offset += span + max(1.0, 0.02 * (span + 1))
    top = max((max(t["y"]) for t in data if t["y"]), default=0.0)
    line = -math.log10(threshold)
    layout = {
        "xaxis": {
            "title": {"text": "chromosome"},
            "tickvals": [t for t, _ in ticks],
            "ticktext": [c for _, c in ticks],
            "showgrid": False,
            "zeroline": False,
        },
        "yaxis": {
            "title": {"text": "-log10 P"},
            "rangemode": "tozero",
            "range": [0, max(top, line) * 1.08 + 0.5],
        },
        "shapes": [
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "y0": line,
                "y1": line,
                "line": {"color": LINE, "dash": "dash", "width": 1},
            },
        ],
        "hovermode": "closest",
        "clickmode": "event",
        "margin": {"l": 56, "r": 12, "t": 12, "b": 48},
        "autosize": True,
    }
    return {"data": data, "layout": layout}


def qq_figure(
    rows: Sequence[Mapping[str, Any]],
    *,
    max_points: int = MAX_POINTS,
    keep_below: float = KEEP_BELOW,
) -> dict[str, Any]:
    """Observed against expected -log10 P under the null, the diagonal, and λGC."""
    good = usable(rows)
    ordered = sorted(good, key=lambda r: float(r["P"]))
    p = np.array([r["P"] for r in ordered], dtype=np.float64)
    n = len(p)
    expected = -np.log10((np.arange(1, n + 1) - 0.5) / n) if n else np.zeros(0)
    pick = _thin(np.arange(n), p < keep_below, max_points)
    top = float(max(expected.max(), -np.log10(p.min()))) if n else 1.0
    lam = lambda_gc(p)
    data = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": "variants",
            "x": expected[pick].tolist(),
            "y": (-np.log10(p[pick])).tolist(),
            "customdata": [[str(ordered[j]["ID"]), float(ordered[j]["P"])] for j in pick.tolist()],
            "marker": {"color": COLOURS[0], "size": 5},
            "hovertemplate": "<b>%{customdata[0]}</b><br>P = %{customdata[1]:.3g}<extra></extra>",
            "showlegend": False,
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "expected under the null",
            "x": [0, top],
            "y": [0, top],
            "line": {"color": LINE, "width": 1},
            "hoverinfo": "skip",
            "showlegend": False,
        },
    ]
    layout = {
        "xaxis": {"title": {"text": "expected -log10 P"}, "rangemode": "tozero"},
        "yaxis": {"title": {"text": "observed -log10 P"}, "rangemode": "tozero"},
        "annotations": [
            {
                "xref": "paper",
                "yref": "paper",
                "x": 0.98,
                "y": 0.02,
                "showarrow": False,
                "xanchor": "right",
                "yanchor": "bottom",
                "text": "λGC = n/a" if lam is None else f"λGC = {lam:.3f}",
            },
        ],
        "hovermode": "closest",
        "margin": {"l": 56, "r": 12, "t": 12, "b": 48},
        "autosize": True,
    }
    return {"data": data, "layout": layout}


def plot_payload(
    rows: Sequence[Mapping[str, Any]], *, threshold: float = GENOME_WIDE
) -> dict[str, Any]:
    """What the portal's figure endpoint returns: both figures and the numbers beside them."""
    good = usable(rows)
    p = np.array([r["P"] for r in good], dtype=np.float64)
    manhattan = manhattan_figure(rows, threshold=threshold)
    drawn = sum(len(t["x"]) for t in manhattan["data"])
    return {
        "manhattan": manhattan,
        "qq": qq_figure(rows),
        "summary": {
            "variants": len(rows),
            "tested": len(good),
            "untested": len(rows) - len(good),
            "drawn": drawn,
            "significant": int((p < threshold).sum()),
            "threshold": threshold,
            "lambda_gc": lambda_gc(p),
        },
    }


def top_rows(rows: Sequence[Mapping[str, Any]], *, limit: int = 50) -> list[Mapping[str, Any]]:
    """The `limit` rows with the smallest P (the results table under the plot)."""
    return sorted(usable(rows), key=lambda r: float(r["P"]))[:limit]


def find_row(rows: Sequence[Mapping[str, Any]], variant_id: str) -> Mapping[str, Any] | None:
    """The row of one variant (by its ID), or None."""
    return next((r for r in rows if str(r.get("ID")) == variant_id), None)


__all__ = [
    "GENOME_WIDE",
    "chrom_order",
    "find_row",
    "lambda_gc",
    "manhattan_figure",
    "plot_payload",
    "qq_figure",
    "top_rows",
    "usable",
]
