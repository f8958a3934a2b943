"""Manhattan and QQ plots are real PNGs of the result."""

from __future__ import annotations

import io

import numpy as np

from genomesh.analysis.gwas import GWAS
from genomesh.analysis.gwas.plots import manhattan_png, qq_png
from genomesh.analysis.results import result_rows
from genomesh.testing.federation import run_rounds


def _image(png: bytes) -> np.ndarray:
    from matplotlib.image import imread

    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return imread(io.BytesIO(png))


def test_manhattan_and_qq__png_of_the_result(nodes, cohort) -> None:
    result, _ = run_rounds(GWAS, {"trait": "quantitative", "min_mac": 0}, nodes)
    causal = [
        f"22:{c['pos']}:{c['ref']}:{c['alt']}" for c in cohort.truth["quantitative"]["causal"]
    ]
    manhattan = _image(manhattan_png(result_rows(result), highlight=causal))
    qq = _image(qq_png(result_rows(result)))
    assert manhattan.shape[1] > 2 * manhattan.shape[0]  # wide
    assert qq.shape[0] > 300 and qq.shape[1] > 300
    # the plots are not blank: many distinct colours were drawn
    assert len(np.unique(manhattan.reshape(-1, manhattan.shape[2]), axis=0)) > 20
    assert len(np.unique(qq.reshape(-1, qq.shape[2]), axis=0)) > 20


def test_plots__empty_result_still_renders() -> None:
    assert _image(manhattan_png([])).size > 0
    assert _image(qq_png([{"P": None}])).size > 0


def test_to_tsv__plink2_style(nodes) -> None:
    from genomesh.analysis.gwas.output import LINEAR_COLUMNS, to_tsv

    result, _ = run_rounds(GWAS, {"trait": "quantitative", "min_mac": 0}, nodes)
    text = to_tsv(result)
    lines = text.splitlines()
    rows = result_rows(result)
    assert lines[0] == "#" + "\t".join(LINEAR_COLUMNS)
    assert len(lines) == len(rows) + 1
    first = dict(zip(LINEAR_COLUMNS, lines[1].split("\t"), strict=True))
    row = rows[0]
    assert list(row) == LINEAR_COLUMNS  # row dicts from the columns, in plink2's order
    assert first["ID"] == row["ID"] and first["TEST"] == "ADD" and first["A1"] == row["ALT"]
    assert first["BETA"] == ("NA" if row["BETA"] is None else f"{row['BETA']:.6g}")
    one = {c: [row[c]] for c in LINEAR_COLUMNS} | {c: [None] for c in ("BETA", "SE", "T_STAT", "P")}
    na = to_tsv({"table": one, "columns": LINEAR_COLUMNS})
    assert na.splitlines()[1].split("\t")[8:12] == ["NA"] * 4  # missing values print NA
