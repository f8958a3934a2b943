"""What a node computes for `case-search`: qualifying-variant carriers per region.

Round 1 says which variants are common; it depends on the search's `filter`:

- `split` (default), step `population`, population datasets only: each population dataset's
  individuals are split in two halves by a stable hash of their id; the *reference* half
  names the scan's variants common in it, `AC > max_af * AN` and `AC >= min_count`, and only
  the other half is counted in round 2.
- `pooled`, step `frequency`, every dataset: among its counted individuals (the
  cases matching the definition, or everyone of a population dataset) the allele count of
  each scan variant carried on at least `min_count` alleles, and how many were counted. The
  hub sums them: a variant is common when its pooled AC > max_af * 2 * (cases + population).
- `population`, step `population`: as `split`, with the whole dataset in both rounds.

Either way a variant is named only when its allele count is not a small count, so round 1
reveals no rare carrier.

Round `count` (every dataset): a variant *qualifies* if it is in the scan and not common.
Per region, the node counts individuals carrying at least
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

import hashlib
from collections.abc import Mapping
from functools import cache
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


def _intervals(
    chrom: np.ndarray, pos: np.ndarray, rows: np.ndarray, spans: list[tuple[str, int, int]]
) -> tuple[list[int], np.ndarray, np.ndarray]:
    """For spans (chrom, start, end): (kept span numbers, span index, variant row) pairs of
    every variant row inside a span, by binary search on each chromosome's sorted positions."""
    kept: list[int] = []
    i_parts: list[np.ndarray] = []
    j_parts: list[np.ndarray] = []
    by_chrom: dict[str, list[int]] = {}
    for k, (c, _, _) in enumerate(spans):
        by_chrom.setdefault(c, []).append(k)
    sub_chrom = chrom[rows]
    for c, ks in by_chrom.items():
        on = rows[sub_chrom == c]
        if on.size == 0:
            continue
        on = on[np.argsort(pos[on], kind="stable")]
        sorted_pos = pos[on]
        starts = np.array([spans[k][1] for k in ks], dtype=np.int64)
        ends = np.array([spans[k][2] for k in ks], dtype=np.int64)
        lo = np.searchsorted(sorted_pos, starts, side="left")
        hi = np.searchsorted(sorted_pos, ends, side="right")
        size = hi - lo
        hit = size > 0
        if not hit.any():
            continue
        ks_hit = np.asarray(ks)[hit]
        lo, size = lo[hit], size[hit]
        first = np.repeat(np.cumsum(size) - size, size)
        offsets = np.arange(int(size.sum())) - first + np.repeat(lo, size)
        kept.extend(int(k) for k in ks_hit)
        i_parts.append(np.repeat(np.arange(len(kept) - ks_hit.size, len(kept)), size))
        j_parts.append(on[offsets])
    if not i_parts:
        return [], np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return kept, np.concatenate(i_parts), np.concatenate(j_parts)


def gene_spans(params: Mapping[str, Any]) -> list[tuple[str, int, int]]:
    """Every gene of the packaged table (the params' assembly) as (chrom, start, end); a node
    whose table is not the one the hub named refuses, so all nodes name the same regions."""
    from genomesh.ontology.genes import VERSION

    if params.get("gene_table") != VERSION:
        raise InvalidInputError(
            f"this node's gene table is {VERSION!r}, the search asked for "
            f"{params.get('gene_table')!r}",
            field="gene_table",
        )
    return _gene_spans(str(params.get("assembly", "GRCh38")))


@cache
def _gene_spans(assembly: str) -> list[tuple[str, int, int]]:
    from genomesh.core.genome import normalize_chromosome
    from genomesh.ontology.genes import gene_table

    table = gene_table(assembly)
    names = {c: normalize_chromosome(c) for c in table["chrom"].unique()}
    chroms = table["chrom"].map(names)
    return sorted(
        {(c, int(s), int(e)) for c, s, e in zip(chroms, table["start"], table["end"], strict=True)
         if c is not None}
    )  # fmt: skip


def scan(variants: pd.DataFrame, params: Mapping[str, Any]) -> tuple[list[str], np.ndarray, Any]:
    """(region names, variant rows in the scan, membership: regions x rows, sparse). Regions
    may overlap (genes, and genes and windows): a variant then counts in each."""
    chrom = variants["chrom"].astype(str).to_numpy()
    pos = variants["pos"].to_numpy(dtype=np.int64)
    keep = np.ones(len(variants), dtype=bool)
    if "region" in params:
        c, start, end = parse_region(params["region"], field="region")
        keep = (chrom == c) & (pos >= start) & (pos <= end)
    candidates = np.flatnonzero(keep)
    spans: list[tuple[str, int, int]] = []
    if "regions" in params:
        spans = [parse_region(text) for text in params["regions"]]
    elif params.get("windows") in ("genes", "genes+fixed"):
        spans = gene_spans(params)
    kept, i_span, j_row = _intervals(chrom, pos, candidates, spans)
    names = [f"{spans[k][0]}:{spans[k][1]}-{spans[k][2]}" for k in kept]
    i_parts, j_parts = [i_span], [j_row]
    if "window" in params:
        window = int(params["window"])
        index = (pos[candidates] - 1) // window
        codes, chrom_names = pd.factorize(chrom[candidates])
        key = codes.astype(np.int64) * (1 << 40) + index
        windows, inverse = np.unique(key, return_inverse=True)
        labels = [
            f"{chrom_names[k >> 40]}:{(k & ((1 << 40) - 1)) * window + 1}-"
            f"{((k & ((1 << 40) - 1)) + 1) * window}"
            for k in windows.tolist()
        ]
        known = {n: k for k, n in enumerate(names)}  # a gene one window long is that window
        code = np.empty(len(labels), dtype=np.int64)
        for w, label in enumerate(labels):
            if label in known:
                code[w] = known[label]
            else:
                code[w] = len(names)
                names.append(label)
        win_i = code[inverse]
        dup = win_i < len(kept)  # already counted via the gene span
        i_parts.append(win_i[~dup])
        j_parts.append(candidates[~dup])
    i_all = np.concatenate(i_parts)
    j_all = np.concatenate(j_parts)
    rows, j_local = np.unique(j_all, return_inverse=True)
    membership = sparse.csr_matrix(
        (np.ones(i_all.size, dtype=np.int32), (i_all, j_local)), shape=(len(names), rows.size)
    )
    membership.sum_duplicates()
    membership.data[:] = 1
    return names, rows.astype(np.int64), membership


def reference_half(ids: Any) -> np.ndarray:
    """True for the individuals of a population dataset in its reference half (filter
    `split`): a stable hash of the individual id, so every run splits them the same way."""
    return np.array(
        [hashlib.sha256(f"case-search:{i}".encode()).digest()[0] & 1 == 0 for i in ids],
        dtype=bool,
    )


def members(
    data: LocalData,
    dataset_id: str,
    params: Mapping[str, Any],
    *,
    population: bool,
    reference: bool = False,
) -> np.ndarray:
    """Who is counted in this dataset: everyone of a population dataset (with filter `split`,
    its reference half in round 1 and the other half in round 2), else the cases."""
    people = data.individuals(dataset_id)
    if population:
        if params.get("filter") != "split":
            return np.ones(len(people), dtype=bool)
        half = reference_half(people["individual_id"])
        return half if reference else ~half
    wanted = case_terms(params["case"])
    return np.array([bool(wanted & set(p)) for p in people["phenotypes"]], dtype=bool)


def common_variants(
    data: LocalData, dataset_id: str, params: Mapping[str, Any]
) -> tuple[list[str], set[str]]:
    """Round `population` of filter `population`: the scan's variants common in this
    (population) dataset, and who was read."""
    variants = data.variants(dataset_id)
    _, rows, _ = scan(variants, params)
    people = data.individuals(dataset_id)
    read = members(data, dataset_id, params, population=True, reference=True)
    counts = count_alleles(data, dataset_id, rows, {"reference": read})
    ac, an = counts["AC"][:, 0], counts["AN"][:, 0]
    min_count = data.min_count(dataset_id)
    common = (ac > params["max_af"] * an) & (ac >= min_count)
    keys = variant_keys(variants.iloc[rows]).to_numpy()
    return sorted(str(k) for k in keys[common]), set(people["individual_id"][read])


def pooled_counts(
    data: LocalData, dataset_id: str, params: Mapping[str, Any], *, population: bool
) -> tuple[dict[str, Any], dict[str, np.ndarray], set[str]]:
    """Round `frequency` of filter `pooled`: among this dataset's counted individuals (its
    cases, or everyone of a population dataset), the allele count of each scan variant
    carried on at least `min_count` alleles, and how many individuals were counted. A
    dataset counting fewer individuals than the threshold sends nothing (it sends nothing in
    the next round either); a variant with fewer alleles is left out (counts as 0)."""
    counted = members(data, dataset_id, params, population=population)
    n = int(counted.sum())
    min_count = data.min_count(dataset_id)
    if n < min_count:
        return {"n": 0, "variants": []}, {}, set()
    variants = data.variants(dataset_id)
    _, rows, _ = scan(variants, params)
    ac = count_alleles(data, dataset_id, rows, {"counted": counted})["AC"][:, 0]
    shown = ac >= min_count
    keys = variant_keys(variants.iloc[rows[shown]]).to_numpy()
    people = data.individuals(dataset_id)
    return (
        {"n": n, "variants": [str(k) for k in keys]},
        {"AC": ac[shown].astype(np.int64)},
        set(people["individual_id"][counted]),
    )


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
    counted = members(data, dataset_id, params, population=population)
    n = int(counted.sum())
    role = "population" if population else "case"
    if n < min_count:
        why = (
            f"{n} {role} individual(s), fewer than the node's disclosure threshold ({min_count}): "
            "nothing sent"
        ) if n else None  # fmt: skip
        return {"role": role, "n": 0, "regions": []}, {}, set(), why
    carrying, ac, an = carriers(data, dataset_id, rows, membership)
    carried = carrying[:, counted].sum(axis=1).astype(np.int64)
    contributors = set(people["individual_id"][counted])
    arrays: dict[str, np.ndarray] = {}
    if population:
        arrays["carriers"] = np.where(carried < min_count, min_count - 1, carried)
        arrays["AC"] = np.where(ac < min_count, min_count - 1, ac)
        arrays["AN"] = an
    else:
        arrays["carriers"] = np.where(carried < min_count, 0, carried)
    return {"role": role, "n": n, "regions": names}, arrays, contributors, None


__all__ = [
    "carriers", "case_terms", "common_variants", "count_round", "gene_spans", "members",
    "pooled_counts", "scan", "variant_keys",
]  # fmt: skip
