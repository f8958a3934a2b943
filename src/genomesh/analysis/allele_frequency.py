"""`allele-frequency`: a gnomAD-style table, per variant, of AC / AN / AF and homozygote
counts, overall, by population and by sex, across the network.

One round. Each node streams the dosages of the requested variants (a region or a list)
chunk by chunk and counts, per group of its allowed individuals: AC (alt alleles), AN
(called alleles) and nhomalt (homozygous alt). A group smaller than the node's disclosure
threshold is withheld entirely (AN too), and so is the next smallest group of its partition
(populations, sexes), so its size cannot be worked out from `all`. Per variant and group,
an AC, AN-AC or nhomalt between 1 and the threshold withholds that cell's AC, AF and
nhomalt (AN stays), and where one population or sex cell of a variant is withheld, the
smallest other one is too, so it cannot be recovered from the overall count. The reply says
how many cells were withheld and why. The hub sums over datasets per variant (matched on
chrom, pos, ref, alt); a network AC/AF whose inputs were partly withheld is left out and the
row says where (`complete: false`, `suppressed_in`).

    params: {"region": "22:20000000-20100000"}          # 1-based, inclusive
            {"variants": ["22-20000017-C-T", ...]}       # chrom-pos-ref-alt
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from genomesh.analysis.protocol import Analysis, LocalData, LocalReply, RoundRequest, register
from genomesh.analysis.suppression import PRIMARY, SECONDARY, secondary_rows, suppress_matrix
from genomesh.core.errors import InvalidInputError
from genomesh.core.genome import require_chromosome

MAX_VARIANTS = 100_000
_REGION = re.compile(r"^([^:]+):(\d+)-(\d+)$")
_VARIANT = re.compile(r"^([^-]+)-(\d+)-([ACGTN]+)-([ACGTN]+)$", re.IGNORECASE)


def parse_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Validated params: exactly one of `region` or `variants` (normalised)."""
    unknown = set(params) - {"region", "variants"}
    if unknown:
        raise InvalidInputError(
            f"unknown parameter(s) {sorted(unknown)} (allele-frequency takes region or variants)",
            field=sorted(unknown)[0],
        )
    if ("region" in params) == ("variants" in params):
        raise InvalidInputError(
            "give exactly one of region (e.g. 22:20000000-20100000) or variants", field="region"
        )
    if "region" in params:
        match = _REGION.match(str(params["region"]).replace(",", ""))
        if not match:
            raise InvalidInputError(
                f"region {params['region']!r} is not CHROM:START-END", field="region"
            )
        chrom = require_chromosome(match.group(1), field="region")
        start, end = int(match.group(2)), int(match.group(3))
        if start < 1 or end < start:
            raise InvalidInputError("region start must be >= 1 and <= end", field="region")
        return {"region": f"{chrom}:{start}-{end}"}
    variants = params["variants"]
    if not isinstance(variants, list) or not variants or len(variants) > MAX_VARIANTS:
        raise InvalidInputError(
            f"variants must be a list of 1 to {MAX_VARIANTS} ids CHROM-POS-REF-ALT",
            field="variants",
        )
    out = []
    for item in variants:
        match = _VARIANT.match(str(item))
        if not match:
            raise InvalidInputError(
                f"variant {item!r} is not CHROM-POS-REF-ALT (e.g. 22-20000017-C-T)",
                field="variants",
            )
        chrom = require_chromosome(match.group(1), field="variants")
        out.append(
            f"{chrom}-{int(match.group(2))}-{match.group(3).upper()}-{match.group(4).upper()}"
        )
    return {"variants": sorted(set(out))}


def select_variants(variants: pd.DataFrame, params: Mapping[str, Any]) -> pd.DataFrame:
    """The rows of a dataset's variant table the params ask for."""
    if "region" in params:
        chrom, span = params["region"].split(":")
        start, end = (int(x) for x in span.split("-"))
        picked = variants[(variants["chrom"] == chrom) & variants["pos"].between(start, end)]
    else:
        keys = (
            variants["chrom"]
            + "-"
            + variants["pos"].astype(str)
            + "-"
            + variants["ref"]
            + "-"
            + variants["alt"]
        )
        picked = variants[keys.isin(set(params["variants"]))]
    if len(picked) > MAX_VARIANTS:
        raise InvalidInputError(
            f"{len(picked)} variants selected; at most {MAX_VARIANTS} per analysis",
            field="region",
        )
    return picked


def groups_of(people: pd.DataFrame) -> dict[str, np.ndarray]:
    """Column masks of the groups counted: all, pop:<population>, sex:<sex>."""
    groups = {"all": np.ones(len(people), dtype=bool)}
    for pop in sorted(people["population"].fillna("unknown").unique()):
        groups[f"pop:{pop}"] = (people["population"].fillna("unknown") == pop).to_numpy()
    for sex in sorted(people["sex"].unique()):
        groups[f"sex:{sex}"] = (people["sex"] == sex).to_numpy()
    return groups


def _block_counts(block: np.ndarray, indicator: np.ndarray) -> np.ndarray:
    """(variants x 3*groups): AC, called individuals, homozygous alt, per group."""
    called = (block >= 0).astype(np.int32)
    alt = np.where(block > 0, block, 0).astype(np.int32)
    hom = (block == 2).astype(np.int32)
    return np.concatenate([alt @ indicator, called @ indicator, hom @ indicator], axis=1)


def count_alleles(
    data: LocalData, dataset_id: str, rows: np.ndarray, groups: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """AC, AN, nhomalt (variants x groups, int64) for the variant rows `rows`, streamed one
    chunk of variants at a time on the node's dask scheduler."""
    indicator = np.stack(list(groups.values()), axis=1).astype(np.int32)
    k = indicator.shape[1]
    if rows.size == 0:
        empty = np.zeros((0, k), dtype=np.int64)
        return {"AC": empty, "AN": empty.copy(), "nhomalt": empty.copy()}
    dosages = data.dosages(dataset_id)
    lo, hi = int(rows.min()), int(rows.max()) + 1
    picked = dosages[lo:hi] if np.array_equal(rows, np.arange(lo, hi)) else dosages[rows]
    counts = picked.map_blocks(
        _block_counts, indicator, chunks=(picked.chunks[0], (3 * k,)), dtype=np.int32
    )
    (result,) = data.compute(counts)
    result = np.asarray(result, dtype=np.int64)
    return {"AC": result[:, :k], "AN": 2 * result[:, k : 2 * k], "nhomalt": result[:, 2 * k :]}


def _partitions(names: Sequence[str]) -> list[list[int]]:
    """Column indices of each partition of `all`: the populations, the sexes."""
    parts = []
    for prefix in ("pop:", "sex:"):
        cols = [i for i, n in enumerate(names) if n.startswith(prefix)]
        if cols:
            parts.append(cols)
    return parts


def hidden_groups(sizes: np.ndarray, names: Sequence[str], *, min_count: int) -> np.ndarray:
    """Per group: True when it is smaller than `min_count` (nothing about it leaves), or is
    withheld with it so its size cannot be worked out from `all` minus the other groups."""
    hidden = (sizes > 0) & (sizes < min_count)
    if 0 < sizes[0] < min_count:  # `all` itself is small: nothing at all
        return np.ones_like(hidden)
    for cols in _partitions(names):
        hidden[cols] = secondary_rows(sizes[None, cols], hidden[None, cols])[0]
    return hidden


def disclose(
    counts: Mapping[str, np.ndarray], names: Sequence[str], sizes: np.ndarray, *, min_count: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(AN hidden, primary, secondary): variant x group masks. A hidden group hides its AN,
    AC and nhomalt; an AC, AN-AC or nhomalt between 1 and `min_count` hides that cell's AC
    and nhomalt (primary); one more cell per partition and variant hides a lone withheld one
    (secondary)."""
    ac, an, hom = counts["AC"], counts["AN"], counts["nhomalt"]
    groups = np.broadcast_to(hidden_groups(sizes, names, min_count=min_count), ac.shape)
    primary = (
        suppress_matrix(ac, an - ac, min_count=min_count)
        | suppress_matrix(hom, np.zeros_like(hom), min_count=min_count)
    ) & ~groups
    hidden = primary | groups
    for cols in _partitions(names):
        hidden[:, cols] = secondary_rows(ac[:, cols], hidden[:, cols])
    return groups.copy(), primary, hidden & ~primary & ~groups


class AlleleFrequency(Analysis):
    """AC/AN/AF and nhomalt per variant by population and sex, across the network."""

    name = "allele-frequency"
    description = (
        "gnomAD-style AC/AN/AF per variant by population and sex (small counts suppressed)"
    )

    def configure(self, params: Mapping[str, Any], nodes: Mapping[str, Sequence[str]]) -> dict:
        return {"params": parse_params(params), "nodes": {k: list(v) for k, v in nodes.items()}}

    def next_round(self, state: dict) -> dict[str, dict[str, Any]] | None:
        if "replies" in state:
            return None
        return {node: dict(state["params"]) for node in state["nodes"]}

    def local(self, data: LocalData, request: RoundRequest) -> LocalReply:
        params = parse_params(request.params)
        reply = LocalReply()
        out: dict[str, Any] = {}
        for dataset_id in data.dataset_ids:
            min_count = data.min_count(dataset_id)
            people = data.individuals(dataset_id)
            groups = groups_of(people)
            names = list(groups)
            sizes = np.array([int(m.sum()) for m in groups.values()], dtype=np.int64)
            picked = select_variants(data.variants(dataset_id), params)
            rows = picked["variant_index"].to_numpy(dtype=np.int64)
            counts = count_alleles(data, dataset_id, rows, groups)
            group_hidden, primary, secondary = disclose(counts, names, sizes, min_count=min_count)
            hidden = group_hidden | primary | secondary
            for g in np.flatnonzero(hidden_groups(sizes, names, min_count=min_count)):
                reply.suppressed[f"{dataset_id}.group.{names[g]}"] = (
                    f"group withheld: fewer individuals than the node's disclosure threshold "
                    f"({min_count}), or withheld so a small group's size cannot be worked out"
                )
            if primary.any():
                reply.suppressed[f"{dataset_id}.cells.primary"] = (
                    f"{int(primary.sum())} variant x group cells: AC, AN-AC or nhomalt "
                    f"{PRIMARY.format(min_count=min_count)}"
                )
            if secondary.any():
                reply.suppressed[f"{dataset_id}.cells.secondary"] = (
                    f"{int(secondary.sum())} variant x group cells: {SECONDARY}"
                )
            out[dataset_id] = {
                "variants": [
                    [str(r.chrom), int(r.pos), str(r.ref), str(r.alt)]
                    for r in picked.itertuples(index=False)
                ],
                "groups": names,
            }
            reply.arrays[f"{dataset_id}.AC"] = np.where(hidden, -1, counts["AC"])
            reply.arrays[f"{dataset_id}.AN"] = np.where(group_hidden, -1, counts["AN"])
            reply.arrays[f"{dataset_id}.nhomalt"] = np.where(hidden, -1, counts["nhomalt"])
            reply.contributors.update(people["individual_id"])
        reply.values["datasets"] = out
        return reply

    def aggregate(self, state: dict, replies: Mapping[str, LocalReply]) -> dict:
        combined: dict[str, Any] = {}
        for node, reply in sorted(replies.items()):
            for dataset_id, meta in sorted(reply.values.get("datasets", {}).items()):
                scope = f"{node}/{dataset_id}"
                try:
                    ac = reply.arrays[f"{dataset_id}.AC"]
                    an = reply.arrays[f"{dataset_id}.AN"]
                    hom = reply.arrays[f"{dataset_id}.nhomalt"]
                except KeyError as exc:
                    raise InvalidInputError(
                        f"node {node}: reply for {dataset_id} lacks array {exc.args[0]}",
                        field="arrays",
                    ) from None
                for v, (chrom, pos, ref, alt) in enumerate(meta["variants"]):
                    key = f"{chrom}-{pos}-{ref}-{alt}"
                    for g, group in enumerate(meta["groups"]):
                        cell = combined.setdefault(key, {}).setdefault(
                            group,
                            {"AC": 0, "AN": 0, "nhomalt": 0, "datasets": [], "suppressed_in": []},
                        )
                        cell["datasets"].append(scope)
                        if int(an[v, g]) < 0:
                            cell["an_suppressed_in"] = [*cell.get("an_suppressed_in", []), scope]
                        else:
                            cell["AN"] += int(an[v, g])
                        if int(ac[v, g]) < 0:
                            cell["suppressed_in"].append(scope)
                        else:
                            cell["AC"] += int(ac[v, g])
                            cell["nhomalt"] += int(hom[v, g])
        state["replies"] = {n: {"suppressed": r.suppressed} for n, r in replies.items()}
        state["combined"] = combined
        return state

    def result(self, state: dict) -> dict[str, Any]:
        rows = []
        for key in sorted(state.get("combined", {}), key=_variant_order):
            chrom, pos, ref, alt = key.split("-")
            for group, cell in sorted(
                state["combined"][key].items(), key=lambda kv: _group_order(kv[0])
            ):
                complete = not cell["suppressed_in"]
                rows.append(
                    {
                        "chrom": chrom, "pos": int(pos), "ref": ref, "alt": alt,
                        "variant_id": key, "group": group,
                        "AC": cell["AC"] if complete else None,
                        "AN": None if cell.get("an_suppressed_in") else cell["AN"],
                        "AF": (cell["AC"] / cell["AN"]) if complete and cell["AN"] else None,
                        "nhomalt": cell["nhomalt"] if complete else None,
                        "n_datasets": len(cell["datasets"]),
                        "complete": complete,
                        "suppressed_in": ";".join(cell["suppressed_in"]),
                    }
                )  # fmt: skip
        suppressed = {
            f"{node}/{k}": v
            for node, reply in sorted(state.get("replies", {}).items())
            for k, v in reply["suppressed"].items()
        }
        notes = []
        if suppressed:
            notes.append(
                f"{len(suppressed)} cell(s) were suppressed by the nodes (small allele or "
                "homozygote counts, small groups, or withheld so they could not be recovered); "
                "rows with complete=false give AN only (when no dataset withheld it)"
            )
        return {
            "analysis": self.name,
            "params": state["params"],
            "rows": rows,
            "suppressed": suppressed,
            "notes": notes,
        }


def _variant_order(key: str) -> tuple[str, int, str, str]:
    chrom, pos, ref, alt = key.split("-")
    return (chrom.zfill(2), int(pos), ref, alt)


def _group_order(group: str) -> tuple[int, str]:
    return ({"all": 0}.get(group, 1 if group.startswith("pop:") else 2), group)


register(AlleleFrequency())

__all__ = ["MAX_VARIANTS", "AlleleFrequency", "count_alleles", "groups_of", "parse_params"]
