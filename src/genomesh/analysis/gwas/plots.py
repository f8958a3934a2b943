"""Manhattan and QQ plots of a GWAS result, as PNG bytes.

Built on matplotlib's object API (`Figure` + Agg canvas), not pyplot, so plots can be made
from several threads of a server without sharing pyplot's global state.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

GENOME_WIDE = 5e-8


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def _chrom_order(chrom: str) -> tuple[int, str]:
    bare = chrom.removeprefix("chr")
    return (int(bare), "") if bare.isdigit() else (100, bare)


def manhattan_png(
    rows: Sequence[Mapping[str, Any]],
    *,
    title: str = "",
    threshold: float = GENOME_WIDE,
    highlight: Sequence[str] = (),
) -> bytes:
    """-log10 P by position, chromosomes side by side; a line at `threshold`; variants in
    `highlight` (IDs, e.g. the planted ones) circled."""
    usable = [r for r in rows if r.get("P") is not None and r["P"] > 0]
    fig = _figure(10, 4)
    ax = fig.add_subplot()
    chroms = sorted({str(r["CHROM"]) for r in usable}, key=_chrom_order)
    offset, ticks, colors = 0.0, [], ("#1f4e79", "#6b8fb5")
    marked = set(highlight)
    for i, chrom in enumerate(chroms):
        sub = [r for r in usable if str(r["CHROM"]) == chrom]
        pos = np.array([r["POS"] for r in sub], dtype=np.float64)
        logp = -np.log10([r["P"] for r in sub])
        ax.scatter(offset + pos - pos.min(), logp, s=4, color=colors[i % 2], linewidths=0)
        hit = np.array([r["ID"] in marked for r in sub])
        if hit.any():
            ax.scatter(offset + pos[hit] - pos.min(), logp[hit], s=40, facecolors="none",
                       edgecolors="#c0392b", linewidths=1.0)  # fmt: skip
        ticks.append((offset + (pos.max() - pos.min()) / 2, chrom))
        offset += pos.max() - pos.min() + max(1.0, 0.02 * (pos.max() - pos.min() + 1))
    ax.axhline(-np.log10(threshold), color="#c0392b", linestyle="--", linewidth=0.8)
    if ticks:
        ax.set_xticks([t for t, _ in ticks], [c for _, c in ticks])
    ax.set_xlabel("chromosome")
    ax.set_ylabel("-log10 P")
    ax.set_title(title or f"Manhattan plot ({len(usable):,} variants)")
    return _png(fig)


def qq_png(rows: Sequence[Mapping[str, Any]], *, title: str = "") -> bytes:
    """Observed vs expected -log10 P under the null, with genomic-control λ."""
    p = np.sort(np.array([r["P"] for r in rows if r.get("P") is not None and r["P"] > 0]))
    fig = _figure(5, 5)
    ax = fig.add_subplot()
    if len(p):
        expected = -np.log10((np.arange(1, len(p) + 1) - 0.5) / len(p))
        ax.scatter(expected, -np.log10(p), s=4, color="#1f4e79", linewidths=0)
        top = float(max(expected.max(), -np.log10(p.min())))
        ax.plot([0, top], [0, top], color="#c0392b", linewidth=0.8)
        lam = float(np.median(stats.chi2.isf(p, 1)) / stats.chi2.ppf(0.5, 1))
        ax.text(0.05, 0.92, f"λ = {lam:.3f}", transform=ax.transAxes)
    ax.set_xlabel("expected -log10 P")
    ax.set_ylabel("observed -log10 P")
    ax.set_title(title or "QQ plot")
    return _png(fig)
