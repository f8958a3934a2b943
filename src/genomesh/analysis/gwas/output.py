"""Result rows in plink2 --glm's columns, plus how each row was computed and from which data.

Columns: CHROM POS ID REF ALT A1 TEST OBS_CT BETA SE T_STAT (linear) or Z_STAT (logistic)
P ERRCODE, then METHOD (ols | score | wald | firth | ivw) and DATASETS (the datasets whose
data entered that row, comma-separated). A1 is the ALT allele (plink2 `--glm omit-ref`).
NA as in plink2.
"""

from __future__ import annotations

import gc
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

LINEAR_COLUMNS = [
    "CHROM", "POS", "ID", "REF", "ALT", "A1", "TEST", "OBS_CT", "BETA", "SE", "T_STAT", "P",
    "ERRCODE", "METHOD", "DATASETS",
]  # fmt: skip
LOGISTIC_COLUMNS = [c if c != "T_STAT" else "Z_STAT" for c in LINEAR_COLUMNS]


def split_key(key: str) -> tuple[str, int, str, str]:
    chrom, pos, ref, alt = key.split(":")
    return chrom, int(pos), ref, alt


def build_rows(
    keys: Sequence[str],
    *,
    stat_name: str,
    beta: np.ndarray,
    se: np.ndarray,
    stat: np.ndarray,
    p: np.ndarray,
    obs_ct: np.ndarray,
    errcode: Sequence[str],
    method: Sequence[str] | str,
    datasets: Mapping[str, np.ndarray],
) -> list[dict[str, Any]]:
    """One dict per variant (JSON-able; NaN becomes None)."""
    V = len(keys)
    fields = ":".join(keys).split(":")  # one split for all keys: chrom, pos, ref, alt
    if len(fields) != 4 * V:
        raise ValueError("variant keys must be chrom:pos:ref:alt")
    chrom, ref, alt = fields[0::4], fields[2::4], fields[3::4]
    pos = list(map(int, fields[1::4]))
    names = sorted(datasets)
    flags = np.vstack([datasets[d] for d in names]) if names else np.zeros((0, V), bool)
    # one label per distinct pattern of contributing datasets (few patterns, many variants)
    if names:
        codes = np.packbits(flags.astype(bool), axis=0, bitorder="little")  # bytes x V
        if len(names) > 56:  # too many datasets for one int64 code per variant
            _, first, which = np.unique(codes.T, axis=0, return_index=True, return_inverse=True)
        else:
            code = (codes.astype(np.int64) << (8 * np.arange(len(codes)))[:, None]).sum(axis=0)
            _, first, which = np.unique(code, return_index=True, return_inverse=True)
        labels = [",".join(d for d, f in zip(names, flags[:, j], strict=True) if f) for j in first]
        contributing = [labels[i] for i in which.reshape(-1).tolist()]
    else:
        contributing = [""] * V

    def floats(values: np.ndarray) -> list[float | None]:
        values = np.asarray(values, dtype=np.float64)
        out: list[float | None] = values.tolist()
        for i in np.flatnonzero(~np.isfinite(values)).tolist():
            out[i] = None
        return out

    methods = [method] * V if isinstance(method, str) else list(method)
    columns = (
        chrom, pos, list(keys), ref, alt, np.asarray(obs_ct, dtype=np.int64).tolist(),
        floats(beta), floats(se), floats(stat), floats(p), list(errcode), methods, contributing,
    )  # fmt: skip
    if any(len(column) != V for column in columns):
        raise ValueError("every result column needs one value per variant")
    # tens of thousands of small dicts: built by a dict display (faster than dict(zip(...)))
    # and without the cyclic GC pausing to scan them all
    enabled = gc.isenabled()
    gc.disable()
    try:
        return [
            {"CHROM": c, "POS": po, "ID": i, "REF": r, "ALT": a, "A1": a, "TEST": "ADD",
             "OBS_CT": o, "BETA": b, "SE": se_, stat_name: st, "P": pv, "ERRCODE": e,
             "METHOD": m, "DATASETS": d}
            for c, po, i, r, a, o, b, se_, st, pv, e, m, d in zip(*columns, strict=True)
        ]  # fmt: skip
    finally:
        if enabled:
            gc.enable()


def to_tsv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Rows as plink2-style TSV ('#CHROM' header, NA for missing, 6 significant digits)."""
    if columns is None:
        columns = LOGISTIC_COLUMNS if rows and "Z_STAT" in rows[0] else LINEAR_COLUMNS
    out = io.StringIO()
    out.write("#" + "\t".join(columns) + "\n")
    for row in rows:
        cells = []
        for col in columns:
            value = row.get(col)
            if value is None:
                cells.append("NA")
            elif isinstance(value, float):
                cells.append(f"{value:.6g}")
            else:
                cells.append(str(value))
        out.write("\t".join(cells) + "\n")
    return out.getvalue()
