"""The portal's interactive Manhattan and QQ figures (plotly.js JSON) say what the rows say."""

from __future__ import annotations

import itertools
import json

import numpy as np
import plotly.graph_objects as go
import pytest
from scipy import stats

from genomesh.web.plots import (
    find_row,
    lambda_gc,
    manhattan_figure,
    plot_payload,
    qq_figure,
    top_rows,
)


def _rows(n: int, *, seed: int = 7, chroms: tuple[str, ...] = ("2", "10", "1")) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        chrom = chroms[i % len(chroms)]
        pos = 1_000 + 37 * i
        rows.append({"CHROM": chrom, "POS": pos, "ID": f"{chrom}:{pos}:A:G",
                     "P": float(rng.uniform()), "BETA": float(rng.normal())})  # fmt: skip
    rows[5]["P"] = 3e-12  # one hit
    rows[6]["P"] = None  # untestable (plink2 NA)
    return rows


def test_manhattan__valid_plotly_figure_with_the_variant_on_every_point() -> None:
    rows = _rows(300)
    fig = manhattan_figure(rows)
    go.Figure(fig)  # plotly's own validator: an unknown attribute would raise
    json.dumps(fig, allow_nan=False)  # plain JSON, no NaN
    assert [t["name"] for t in fig["data"]] == ["chr1", "chr2", "chr10"]  # genome order
    points = {
        c[0]: (c, y) for t in fig["data"] for c, y in zip(t["customdata"], t["y"], strict=True)
    }
    assert len(points) == 299  # every testable variant, the untestable one left out
    hit, y = points[rows[5]["ID"]]
    assert hit[1:4] == [rows[5]["CHROM"], rows[5]["POS"], 3e-12]
    assert y == pytest.approx(-np.log10(3e-12))
    assert "%{customdata[0]}" in fig["data"][0]["hovertemplate"]
    assert fig["layout"]["shapes"][0]["y0"] == pytest.approx(-np.log10(5e-8))


def test_manhattan__chromosomes_do_not_overlap_on_the_x_axis() -> None:
    fig = manhattan_figure(_rows(300))
    spans = [(min(t["x"]), max(t["x"])) for t in fig["data"]]
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start > end


def test_thinning__keeps_every_small_p_and_bounds_the_rest() -> None:
    rows = _rows(30_000)
    small = {r["ID"] for r in rows if r["P"] is not None and r["P"] < 1e-3}
    assert small  # ~30 by chance, plus the hit
    fig = manhattan_figure(rows, max_points=2_000)
    drawn = [c[0] for t in fig["data"] for c in t["customdata"]]
    assert len(drawn) <= 2_000 + len(small) + len(fig["data"])
    assert small <= set(drawn)
    qq = qq_figure(rows, max_points=2_000)
    drawn_qq = {c[0] for c in qq["data"][0]["customdata"]}
    assert len(drawn_qq) <= 2_000 + len(small) and small <= drawn_qq
    # the QQ keeps the extremes: the smallest P is the point furthest out
    assert max(qq["data"][0]["y"]) == pytest.approx(-np.log10(3e-12))


def test_lambda_gc__agrees_with_the_normal_quantile_formula() -> None:
    p = np.random.default_rng(3).uniform(size=5_000) ** 1.2  # mildly inflated
    z2 = stats.norm.isf(p / 2) ** 2  # the same 1-df statistic, computed another way
    assert lambda_gc(p) == pytest.approx(np.median(z2) / 0.454936423119572, rel=1e-9)
    assert lambda_gc(np.array([])) is None


def test_payload__summary_counts_and_table_helpers() -> None:
    rows = _rows(300)
    payload = plot_payload(rows)
    s = payload["summary"]
    assert (s["variants"], s["tested"], s["untested"], s["significant"]) == (300, 299, 1, 1)
    assert s["drawn"] == 299
    go.Figure(payload["qq"])
    top = top_rows(rows, limit=3)
    assert top[0]["ID"] == rows[5]["ID"] and len(top) == 3
    assert [r["P"] for r in top] == sorted(r["P"] for r in top)
    assert find_row(rows, rows[42]["ID"]) is rows[42]
    assert find_row(rows, "nope") is None


def test_empty_result__figures_still_build() -> None:
    payload = plot_payload([{"CHROM": "1", "POS": 1, "ID": "1:1:A:G", "P": None}])
    assert payload["manhattan"]["data"] == [] and payload["summary"]["lambda_gc"] is None
    go.Figure(payload["manhattan"])
    go.Figure(payload["qq"])
