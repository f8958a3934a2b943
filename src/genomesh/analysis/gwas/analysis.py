"""The registered `gwas` analysis: rounds for the hub, `local` for the node.

Rounds (each node answers every round):

    pooled, linear             setup -> stats
    secure, linear             setup -> shares -> flags -> unmask -> stats -> unmask
    meta, linear               setup -> meta
    pooled, logistic           setup -> null x (Newton steps) -> score -> wald x (top hits)
    secure, logistic           setup -> null x -> flags -> score -> wald x

`setup` learns each dataset's size and variant keys (and, in secure mode, the nodes' public
keys), so every later reply is aligned to one variant list. In secure mode `flags` tells the
hub, masked, how many nodes need a complete-case correction at each variant, so the `stats`
(or logistic `score`) round carries corrections only for those variants (none, when no
genotype is missing), instead of k(k+1)/2 + 2k + 2 masked numbers for every variant. Secure
linear rounds are dropout-tolerant (`secure_rounds`: after a node drops out, the survivors
are asked on, and the result is theirs). The state is JSON-able.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from genomesh.analysis.gwas import layout, logistic_hub, meta, nodesets, pcs, secure, secure_rounds
from genomesh.analysis.gwas.linear import solve_linear
from genomesh.analysis.gwas.node_round import local_round, variants_digest
from genomesh.analysis.gwas.output import LINEAR_COLUMNS, LOGISTIC_COLUMNS, build_table
from genomesh.analysis.gwas.params import GwasParams, parse_params
from genomesh.analysis.protocol import Analysis, LocalData, LocalReply, RoundRequest
from genomesh.analysis.wire import decode_array, encode_array
from genomesh.core.errors import ConflictError, InvalidInputError


def _sort_key(key: str) -> tuple[int, str, int, str, str]:
    chrom, pos, ref, alt = key.split(":")
    return (int(chrom) if chrom.isdigit() else 1000, chrom, int(pos), ref, alt)


def _key_text(keys: Any, node: str) -> str:
    """A dataset's variant keys from a setup reply: one newline-joined string (a list is
    accepted too)."""
    if isinstance(keys, list) and all(isinstance(key, str) for key in keys):
        return "\n".join(keys)
    if not isinstance(keys, str):
        raise ConflictError(f"node {node!r} sent no variant keys in its setup reply")
    return keys


class GwasAnalysis(Analysis):
    name = "gwas"
    description = (
        "Genome-wide association (linear or logistic; meta, pooled or secure): exact pooled "
        "regression from sufficient statistics, in plink2's output columns."
    )

    # ------------------------------------------------------------ hub side
    def configure(self, params: Mapping[str, Any], nodes: Mapping[str, Sequence[str]]) -> dict:
        p = parse_params(params)
        if not nodes or not all(nodes.values()):
            raise InvalidInputError("a GWAS needs at least one node with datasets", field="nodes")
        all_ds = [d for ds in nodes.values() for d in ds]
        if len(set(all_ds)) != len(all_ds):
            raise InvalidInputError("a dataset id appears at two nodes", field="datasets")
        if p.n_pcs:
            pcs.check_reference(p.extra.get("pcs_reference"), p.n_pcs)
        if p.mode == "secure":
            k = len(all_ds) + len(p.covariates) + p.n_pcs
            yb = p.trait_bound if p.model == "linear" else 1.0
            layout.segments(k, 1, cb=p.covariate_bound, yb=yb, n_max=p.max_participants)
            if p.model == "logistic":
                for phase in ("null", "wald"):
                    layout.logistic_segments(
                        phase, k, 1, cb=p.covariate_bound, n_max=p.max_participants
                    )
            if len(nodes) > layout.MAX_FLAG_PARTIES:
                raise InvalidInputError(
                    f"secure mode takes at most {layout.MAX_FLAG_PARTIES} nodes", field="datasets"
                )
            units = frozenset(f"{node}/{d}" for node, ds in nodes.items() for d in ds)
            # recorded as configured (conservative: whether or not the run finishes); a
            # linear run is also recorded per quantity when its total is unmasked, over the
            # nodes still in (a dropout: the survivors; `secure_rounds`)
            nodesets.check_and_record(p.definition_key(), units)
            if p.model == "linear":
                for label in secure_rounds.LABELS:
                    nodesets.check(secure_rounds.quantity_key(p.definition_key(), label), units)
        definition = p.to_json()
        if p.n_pcs:
            definition["pcs_reference"] = p.extra["pcs_reference"]
        return {
            "params": definition,
            "parties": {node: sorted(ds) for node, ds in sorted(nodes.items())},
            "sites": sorted(all_ds),
            "phase": "setup",
            "round": 0,
            "definition": p.definition_key(),
        }

    def expected_rounds(self, state: dict) -> int:
        if state["params"]["model"] == "linear" or state["params"]["mode"] == "meta":
            return 6 if state["params"]["mode"] == "secure" else 2
        flags = 1 if state["params"]["mode"] == "secure" else 0
        return 3 + flags + state["params"].get("max_iter", 25) // 4 + state.get("wald_rounds", 0)

    def tolerates_dropout(self, state: dict) -> bool:
        """Secure linear rounds after setup go on without a node that stopped answering
        (`secure_rounds`); the coordinator then hands `aggregate` the others' replies."""
        return "secagg" in state

    def next_round(self, state: dict) -> dict[str, dict[str, Any]] | None:
        phase = state["phase"]
        if phase == "done":
            return None
        base = {**state["params"], "phase": phase}
        if phase != "setup":
            base["sites"] = state["sites"]
        if phase in ("flags", "stats", "meta", "score"):
            # every dataset reported the same sites: a digest instead of the list keeps round
            # requests small (nodes bound request bodies)
            base["variants"] = state.get("variants_digest") or state["variants"]
        if phase in ("null", "flags", "score", "wald") and state["params"]["model"] == "logistic":
            base.update(logistic_hub.round_params(state))
        if phase in ("stats", "score") and "corr_rows" in state:
            base["corr_rows"] = state["corr_rows"]
        out = {}
        tolerant = "secagg" in state  # secure linear: dropout-tolerant rounds
        for node in secure_rounds.asked(state) if tolerant else state["parties"]:
            out[node] = {**base, "party": node}
            if tolerant:
                out[node].update(secure_rounds.round_params(state, node))
            elif phase != "setup" and state["params"]["mode"] == "secure":
                out[node]["peers"] = state["public_keys"]
        return out

    def aggregate(self, state: dict, replies: Mapping[str, LocalReply]) -> dict:
        phase = state["phase"]
        tolerant = "secagg" in state
        expected = secure_rounds.asked(state) if tolerant else list(state["parties"])
        missing = sorted(set(expected) - set(replies))
        if missing and not tolerant and (phase != "setup" or state["params"]["mode"] == "secure"):
            raise ConflictError(
                f"GWAS round {state['round']} ({phase}) aborted: no reply from {', '.join(missing)}"
            )
        if phase == "setup":
            self._after_setup(state, replies)
        elif phase == "shares":
            secure_rounds.after_shares(state, replies)
        elif tolerant and phase == "flags":
            secure_rounds.collect(state, replies)
        elif tolerant and phase == "stats":
            V = len(state["variants"])
            flags = {d: encode_array(np.packbits(f)) for d, f in contributions(replies, V).items()}
            secure_rounds.collect(state, replies, keep={"contributes": flags})
        elif phase == "unmask":
            label, total, keep = secure_rounds.finish(state, replies)
            if label == "flags":
                self._flags_total(state, total)
            else:
                self._stats_total(state, total, keep["contributes"])
        elif phase == "flags":
            self._after_flags(state, replies)
        elif phase == "stats":
            self._after_stats(state, replies)
        elif phase == "meta":
            state["result"] = meta.combine(state, replies)
            state["phase"] = "done"
        else:
            logistic_hub.aggregate(state, replies)
        state["round"] += 1
        return state

    def _after_setup(self, state: dict, replies: Mapping[str, LocalReply]) -> None:
        p = parse_params(state["params"])
        sizes: dict[str, int] = {}
        texts: list[str] = []
        for node, reply in replies.items():
            info = reply.values.get("datasets", {})
            for ds, entry in info.items():
                if ds not in state["parties"][node]:
                    raise ConflictError(
                        f"node {node!r} answered for dataset {ds!r} it was not asked"
                    )
                sizes[ds] = int(entry["n"])
                texts.append(_key_text(entry.get("variants"), node))
        state["sizes"] = sizes
        if texts and all(text == texts[0] for text in texts[1:]):
            first = texts[0].split("\n") if texts[0] else []
            if len(set(first)) == len(first):
                state["variants"] = first  # the common case: every dataset has the same sites
                state["variants_digest"] = variants_digest(first)
        if "variants_digest" not in state:
            lists = [text.split("\n") if text else [] for text in texts]
            state["variants"] = sorted(set().union(*lists), key=_sort_key)
        if p.mode == "secure":
            total = sum(sizes.values())
            if total > p.max_participants:
                raise ConflictError(
                    f"secure run refused before masking: {total:,} people exceed "
                    f"max_participants {p.max_participants:,}, the bound the fixed point "
                    "was sized for"
                )
        if p.mode == "meta":
            state["phase"] = "meta"
        else:
            state["phase"] = "stats" if p.model == "linear" else "null"
        if p.mode == "secure" and p.model == "linear":
            secure_rounds.start(state, replies)  # -> shares -> flags -> unmask -> stats ...
        elif p.mode == "secure":
            state["public_keys"] = {n: str(r.values["public_key"]) for n, r in replies.items()}
        if p.model == "logistic" and p.mode != "meta":
            logistic_hub.start(state)

    def _after_flags(self, state: dict, replies: Mapping[str, LocalReply]) -> None:
        """Secure logistic: the flags' masked sum (every node must answer)."""
        total = secure.unmask(
            {n: r.arrays["masked"] for n, r in replies.items()}, list(state["parties"])
        )
        self._flags_total(state, total)

    def _flags_total(self, state: dict, total: np.ndarray) -> None:
        """The variants where some node has a correction, from the flags' unmasked sum."""
        needed = layout.unpack_flags(total, len(state["variants"])) > 0
        state["corr_rows"] = encode_array(np.packbits(needed))
        state["n_corr_rows"] = int(needed.sum())
        state["phase"] = "stats" if state["params"]["model"] == "linear" else "score"

    def _after_stats(self, state: dict, replies: Mapping[str, LocalReply]) -> None:
        """Pooled linear: the nodes' plain sums."""
        sums = layout.pool_plain(
            {n: r.arrays for n, r in replies.items()}, site_columns=len(state["sites"])
        )
        self._solve(state, sums, contributions(replies, len(state["variants"])))

    def _stats_total(self, state: dict, total: np.ndarray, contributes: dict) -> None:
        """Secure linear: the survivors' unmasked fixed-point total."""
        p = parse_params(state["params"])
        V, k = len(state["variants"]), len(state["sites"]) + len(p.covariates) + p.n_pcs
        rows = None
        if "corr_rows" in state:
            packed = decode_array(state["corr_rows"], field="corr_rows")
            rows = np.flatnonzero(np.unpackbits(packed, count=V))
        segs = layout.segments(
            k, V, cb=p.covariate_bound, yb=p.trait_bound, n_max=p.max_participants,
            r=None if rows is None else len(rows),
        )  # fmt: skip
        sums = layout.pool_secure(
            total, segs, k=k, V=V, site_columns=len(state["sites"]), rows=rows
        )
        flags = {
            d: np.unpackbits(decode_array(f, field="contributes"), count=V).astype(bool)
            for d, f in contributes.items()
        }
        self._solve(state, sums, flags)

    def _solve(self, state: dict, sums: Any, datasets: dict[str, np.ndarray]) -> None:
        fit = solve_linear(sums)
        state["result"] = {
            "table": build_table(
                state["variants"], stat_name="T_STAT", beta=fit.beta, se=fit.se, stat=fit.t,
                p=fit.p, obs_ct=fit.obs_ct, errcode=fit.errcode, method="ols",
                datasets=datasets,
            ),
            "columns": LINEAR_COLUMNS,
        }  # fmt: skip
        state["phase"] = "done"

    def result(self, state: dict) -> dict[str, Any]:
        if state["phase"] != "done":
            raise ConflictError("the GWAS has not finished")
        p = state["params"]
        out = dict(state["result"])
        dropped = state.get("dropped", [])  # secure linear: nodes that dropped out mid-task
        gone = {d for n in dropped for d in state["parties"][n]}
        out.update(
            mode=p["mode"], model=p["model"], trait=p["trait"],
            covariates=[*(f"site:{s}" for s in state["sites"]), *p["covariates"],
                        *(f"PC{i + 1}" for i in range(p["n_pcs"]))],
            datasets=[s for s in state["sites"] if s not in gone],
            nodes=sorted(set(state["parties"]) - set(dropped)),
            n_individuals=int(sum(n for d, n in state.get("sizes", {}).items() if d not in gone)),
        )  # fmt: skip
        if dropped:
            out["dropped_nodes"] = list(dropped)
        if "columns" not in out:
            out["columns"] = LOGISTIC_COLUMNS
        return out

    # ------------------------------------------------------------ node side
    def local(self, data: LocalData, request: RoundRequest) -> LocalReply:
        return local_round(data, request)


def contributions(replies: Mapping[str, LocalReply], V: int) -> dict[str, np.ndarray]:
    """dataset -> bool per variant: did its data enter that variant's row."""
    out: dict[str, np.ndarray] = {}
    for reply in replies.values():
        flags = np.asarray(reply.arrays.get("contributes", np.zeros((0, V))), dtype=bool)
        for ds, row in zip(reply.values.get("datasets", []), flags, strict=True):
            out[str(ds)] = row
    return out


GWAS = GwasAnalysis()


def params_of(state: dict) -> GwasParams:
    return parse_params(state["params"])
