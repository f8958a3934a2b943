"""The node's design for one dataset: who is analysed, the covariate matrix C and the trait y.

Columns of C, identical at every node so the sums add up: one intercept per site (dataset,
in the hub's order; 1 for this dataset's people, 0 elsewhere), then the named covariates
(`sex` as male = 1, female = 0; `age` in years; any other numeric column), then the PCs
projected on the hub's reference loadings. As in plink2, an individual with a missing trait
or covariate is left out of the whole analysis.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from genomesh.analysis.gwas.params import GwasParams
from genomesh.core.errors import InvalidInputError

SEX_CODES = {"male": 1.0, "female": 0.0}


def variant_keys(variants: pd.DataFrame) -> list[str]:
    """`chrom:pos:ref:alt` per variant (chrom without a leading "chr"): the key the hub
    aligns nodes' variants by."""
    bare = {c: str(c).removeprefix("chr") for c in set(variants["chrom"].tolist())}
    chrom = [bare[c] for c in variants["chrom"].tolist()]
    pos = variants["pos"].astype(np.int64).tolist()
    ref, alt = variants["ref"].tolist(), variants["alt"].tolist()
    return [f"{c}:{p}:{r}:{a}" for c, p, r, a in zip(chrom, pos, ref, alt, strict=True)]


class VariantIndex(Mapping[str, int]):
    """The hub's variant list as key -> position. When a dataset has exactly these sites in
    this order (the common case) positions are a range and no dict of keys is ever built."""

    def __init__(self, keys: list[str]) -> None:
        self.key_list = keys
        self._index: dict[str, int] | None = None

    def _lookup(self) -> dict[str, int]:
        if self._index is None:
            self._index = {key: i for i, key in enumerate(self.key_list)}
        return self._index

    def __getitem__(self, key: str) -> int:
        return self._lookup()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.key_list)

    def __len__(self) -> int:
        return len(self.key_list)

    def positions(self, keys: list[str]) -> np.ndarray:
        """Position of each of `keys` in this list (-1: not in it)."""
        if keys is self.key_list or keys == self.key_list:
            return np.arange(len(keys), dtype=np.int64)
        index = self._lookup()
        return np.array([index.get(key, -1) for key in keys], dtype=np.int64)


def dataset_keys(data: Any, dataset_id: str) -> list[str]:
    """A dataset's variant keys: the node's cached list when its `LocalData` keeps one
    (`StoreLocalData.variant_keys`), else built from `variants()`. Do not modify it."""
    cached = getattr(data, "variant_keys", None)
    if callable(cached):
        return list(cached(dataset_id))
    return variant_keys(data.variants(dataset_id))


def column_names(params: GwasParams, sites: Sequence[str]) -> list[str]:
    """The covariate columns in order: site intercepts, covariates, PCs."""
    return (
        [f"site:{s}" for s in sites]
        + list(params.covariates)
        + [f"PC{i + 1}" for i in range(params.n_pcs)]
    )


@dataclass
class Design:
    """One dataset's analysed individuals and their covariates and trait."""

    dataset_id: str
    keep: np.ndarray  # bool over individuals() rows: analysed
    individual_ids: list[str]  # the analysed individuals
    C: np.ndarray  # n x k float64
    y: np.ndarray  # n float64
    columns: list[str]

    @property
    def n(self) -> int:
        return len(self.y)


def trait_values(individuals: pd.DataFrame, params: GwasParams) -> np.ndarray:
    """The trait as float64 (NaN = missing); a logistic trait must be 0/1 (or true/false).

    A logistic trait may also be an ontology term (e.g. `HP:0005978`) that is not a column:
    a case has it among its `phenotypes`, everyone else is a control.
    """
    if params.trait not in individuals.columns:
        if params.model == "logistic" and ":" in params.trait and "phenotypes" in individuals:
            return np.array(
                [float(params.trait in (terms if isinstance(terms, list | tuple | np.ndarray) else []))
                 for terms in individuals["phenotypes"]]
            )  # fmt: skip
        raise InvalidInputError(f"this dataset has no trait column {params.trait!r}", field="trait")
    raw = individuals[params.trait]
    if raw.dtype == bool:
        return raw.to_numpy(dtype=np.float64)
    y = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    if params.model == "logistic":
        seen = set(np.unique(y[~np.isnan(y)]).tolist())
        if not seen <= {0.0, 1.0}:
            raise InvalidInputError(
                f"a logistic trait must be coded 0/1, {params.trait!r} has {sorted(seen)[:5]}",
                field="trait",
            )
    return y


def covariate_values(individuals: pd.DataFrame, name: str) -> np.ndarray:
    """One named covariate as float64 (NaN = missing)."""
    if name == "sex":
        # a dict lookup per person: pandas' map on Arrow strings cost ~8 ms per 2,000 people
        nan = float("nan")
        return np.array(
            [SEX_CODES.get(s, nan) for s in individuals["sex"].tolist()], dtype=np.float64
        )
    if name not in individuals.columns:
        raise InvalidInputError(
            f"this dataset has no covariate column {name!r}", field="covariates"
        )
    return pd.to_numeric(individuals[name], errors="coerce").to_numpy(dtype=np.float64)


def build_design(
    individuals: pd.DataFrame,
    *,
    params: GwasParams,
    dataset_id: str,
    sites: Sequence[str],
    pcs: np.ndarray | None = None,
) -> Design:
    """C and y for one dataset; `pcs` (individuals x n_pcs, all rows) from `pcs.project`."""
    if dataset_id not in sites:
        raise InvalidInputError(f"dataset {dataset_id!r} has no site column", field="sites")
    y = trait_values(individuals, params)
    covs = [covariate_values(individuals, c) for c in params.covariates]
    n_all = len(individuals)
    if params.n_pcs:
        if pcs is None or pcs.shape != (n_all, params.n_pcs):
            raise InvalidInputError("PC scores are missing or have the wrong shape", field="pcs")
        covs.extend(pcs[:, i] for i in range(params.n_pcs))
    block = np.column_stack(covs) if covs else np.zeros((n_all, 0))
    keep = ~np.isnan(y) & ~np.isnan(block).any(axis=1)
    site = np.zeros((n_all, len(sites)))
    site[:, list(sites).index(dataset_id)] = 1.0
    C = np.ascontiguousarray(np.hstack([site, block])[keep])
    return Design(
        dataset_id=dataset_id,
        keep=keep,
        individual_ids=individuals["individual_id"].astype(str).to_numpy()[keep].tolist(),
        C=C,
        y=np.ascontiguousarray(y[keep]),
        columns=column_names(params, sites),
    )
