"""What a node computes for `case-search`: qualifying-variant carriers per region.

Round `population` (population datasets only): the variants of the scan that are common in
the dataset, `AC > max_af * AN` and `AC >= min_count` (a variant is named common only when
its allele count is not a small count, so the list reveals no rare carrier).

Round `count` (every dataset): a variant *qualifies* if it is in the scan and on no
population dataset's common list. Per region, the node counts individuals carrying at least
one alt allele of a qualifying variant: in a case dataset among the individuals matching the
case definition (HPO terms, with descendants, or a disease id), in a population dataset
among all its individuals, whose qualifying alt alleles (AC) and called alleles (AN) it sums
too. Disclosure control, chosen so no count reveals a carrier and the test stays
conservative:

- a case-carrier count below the node's threshold is sent as 0 (a lower bound), so a region
  with one or two carrying cases looks exactly like a region with none;
- a population carrier count or AC below the threshold is sent as threshold - 1 (an upper
  bound), so a true absence looks like a few carriers, and evidence of absence is never
  overstated;
- a dataset with fewer cases (or population individuals) than the threshold sends nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from genomesh.analysis.allele_frequency import count_alleles
from genomesh.analysis.case_search_params import parse_region
from genomesh.analysis.protocol import LocalData
from genomesh.core.errors import InvalidInputError, UnknownTermError


def variant_keys(variants: pd.DataFrame) -> pd.Series:
    return (
        variants["chrom"].astype(str)
        + "-"
        + variants["pos"].astype(str)
        + "-"
        + variants["ref"].astype(str)
        + "-"
        + variants["alt"].astype(str)
    )


def scan(variants: pd.DataFrame, params: Mapping[str, Any]) -> tuple[list[str], np.ndarray, Any]:
    """(region names, variant rows in the scan, membership: regions x rows, sparse)."""
    chrom = variants["chrom"].astype(str).to_numpy()
    pos = variants["pos"].to_numpy(dtype=np.int64)
    if "regions" in params:
        names: list[str] = []
        cols: list[np.ndarray] = []
        for text in params["regions"]:
            c, start, end = parse_region(text)
            hit = np.flatnonzero((chrom == c) & (pos >= start) & (pos <= end))
            if hit.size:
                names.append(text)
                cols.append(hit)
        rows = np.unique(np.concatenate(cols)) if cols else np.zeros(0, dtype=np.int64)
        where = {int(r): i for i, r in enumerate(rows)}
        i_idx: list[int] = [n for n, c in enumerate(cols) for _ in range(c.size)]
        j_idx = [where[int(r)] for c in cols for r in c]
    else:
        window = int(params["window"])
        keep = np.ones(len(variants), dtype=bool)
        if "region" in params:
            c, start, end = parse_region(params["region"], field="region")
            keep = (chrom == c) & (pos >= start) & (pos <= end)
        rows = np.flatnonzero(keep)
        index = (pos[rows] - 1) // window
        labels = [
            f"{c}:{i * window + 1}-{(i + 1) * window}"
            for c, i in zip(chrom[rows], index, strict=False)
        ]
        names = list(dict.fromkeys(labels))
        code = {n: k for k, n in enumerate(names)}
        i_idx = [code[n] for n in labels]
        j_idx = list(range(rows.size))
    membership = sparse.csr_matrix(
        (np.ones(len(j_idx), dtype=np.int32), (np.asarray(i_idx, dtype=np.int64), j_idx)),
        shape=(len(names), rows.size),
    )
    return names, rows.astype(np.int64), membership


def common_variants(
    data: LocalData, dataset_id: str, params: Mapping[str, Any]
) -> tuple[list[str], set[str]]:
    """Round `population`: the scan's variants common in this dataset, and who was read."""
    variants = data.variants(dataset_id)
    _, rows, _ = scan(variants, params)
    people = data.individuals(dataset_id)
    groups = {"all": np.ones(len(people), dtype=bool)}
    counts = count_alleles(data, dataset_id, rows, groups)
    ac, an = counts["AC"][:, 0], counts["AN"][:, 0]
    min_count = data.min_count(dataset_id)
    common = (ac > params["max_af"] * an) & (ac >= min_count)
    keys = variant_keys(variants.iloc[rows]).to_numpy()
    return sorted(str(k) for k in keys[common]), set(people["individual_id"])


def case_terms(case: Mapping[str, Any]) -> set[str]:
    """The ids an individual must have one of to be a case."""
    if "disease" in case:
        disease = str(case["disease"])
        prefix, _, local = disease.partition(":")
        if prefix in ("OMIM", "MIM"):
            return {f"OMIM:{local}", f"MIM:{local}"}
        return {disease}
    from genomesh.ontology.hpo import get_hpo

    terms: set[str] = set()
    for term in case["phenotypes"]:
        if not case.get("descendants", True):
            terms.add(term)
            continue
        try:
            terms |= get_hpo().descendants(term)
        except UnknownTermError as exc:
            raise InvalidInputError(exc.message, field="case.phenotypes") from None
    return terms


def carriers(
    data: LocalData, dataset_id: str, rows: np.ndarray, membership: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(regions x individuals carrier matrix, AC per region, AN per region), streamed one
    chunk of variants at a time on the node's scheduler."""
    people = len(data.individuals(dataset_id))
    n_regions = membership.shape[0]
    carrying = np.zeros((n_regions, people), dtype=bool)
    ac = np.zeros(n_regions, dtype=np.int64)
    an = np.zeros(n_regions, dtype=np.int64)
    if rows.size == 0 or people == 0:
        return carrying, ac, an
    picked = data.dosages(dataset_id)[rows]
    offsets = np.concatenate([[0], np.cumsum(picked.chunks[0])])
    for b in range(picked.numblocks[0]):
        (block,) = data.compute(picked.blocks[b])
        block = np.asarray(block)
        part = membership[:, offsets[b] : offsets[b + 1]]
        touched = np.unique(part.nonzero()[0])
        if touched.size == 0:
            continue
        sub = part[touched]
        alt = np.where(block > 0, block, 0).astype(np.int32)
        carrying[touched] |= np.asarray(sub @ (alt > 0).astype(np.int32)) > 0
        ac[touched] += np.asarray(sub @ alt.sum(axis=1)).ravel()
        an[touched] += np.asarray(sub @ (2 * (block >= 0).sum(axis=1))).ravel()
    return carrying, ac, an


def count_round(
    data: LocalData, dataset_id: str, params: Mapping[str, Any], *, population: bool
) -> tuple[dict[str, Any], dict[str, np.ndarray], set[str], str | None]:
    """Round `count` for one dataset: (values, arrays, contributors, suppression reason)."""
    min_count = data.min_count(dataset_id)
    variants = data.variants(dataset_id)
    names, rows, membership = scan(variants, params)
    exclude = set(params.get("exclude") or [])
    if exclude and rows.size:
        keep = ~variant_keys(variants.iloc[rows]).isin(exclude).to_numpy()
        membership = membership[:, keep]
        rows = rows[keep]
        present = np.asarray(membership.sum(axis=1)).ravel() > 0
        names = [n for n, p in zip(names, present, strict=True) if p]
        membership = membership[present]
    people = data.individuals(dataset_id)
    if population:
        members = np.ones(len(people), dtype=bool)
    else:
        wanted = case_terms(params["case"])
        members = np.array([bool(wanted & set(p)) for p in people["phenotypes"]], dtype=bool)
    n = int(members.sum())
    role = "population" if population else "case"
    if n < min_count:
        why = (
            f"{n} {role} individual(s), fewer than the node's disclosure threshold ({min_count}): "
            "nothing sent"
        ) if n else None  # fmt: skip
        return {"role": role, "n": 0, "regions": []}, {}, set(), why
    carrying, ac, an = carriers(data, dataset_id, rows, membership)
    counted = carrying[:, members].sum(axis=1).astype(np.int64)
    contributors = set(people["individual_id"][members])
    arrays: dict[str, np.ndarray] = {}
    if population:
        arrays["carriers"] = np.where(counted < min_count, min_count - 1, counted)
        arrays["AC"] = np.where(ac < min_count, min_count - 1, ac)
        arrays["AN"] = an
    else:
        arrays["carriers"] = np.where(counted < min_count, 0, counted)
    return {"role": role, "n": n, "regions": names}, arrays, contributors, None


__all__ = ["carriers", "case_terms", "common_variants", "count_round", "scan", "variant_keys"]
