"""A participant's own view: who used my data (access report) and a copy of my data (export).

Both answers leave the node, so both go through the gate as the participant
(`participant_identity`, surface "participants"): the guard lets a participant see only
their own records, and each request is written to the audit log like any other.
Anonymous callers in the report are summarised (their addresses are not the participant's
business); researchers are named by their passport subject and issuer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from genomesh.audit.usage import usage_of
from genomesh.core.errors import NotFoundError
from genomesh.gate import DatasetAccess, DatasetResult, Gate, GateRequest, participant_identity

if TYPE_CHECKING:
    from genomesh.store import DatasetStore


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def run_for_participant(
    gate: Gate, individual_id: str, operation: str, execute: Any, client_address: str | None
) -> dict[str, Any]:
    """One participant-rights operation through the gate (surface "participants", record
    granularity, audited); `execute` gives each dataset's record. 404 when no dataset holds them."""
    request = GateRequest(
        identity=participant_identity(individual_id, client_address=client_address),
        surface="participants",
        operation=operation,
        parameters={"individual_id": individual_id},
        requested_granularity="record",
    )
    response = gate.run(request, execute)
    if not response.results:
        raise NotFoundError(
            f"no dataset at this node holds data of participant {individual_id!r}",
            field="individual",
        )
    return {
        "individual_id": individual_id,
        "audit_id": response.audit_id,
        "datasets": [r.records[0] for r in response.results if r.records],
    }


def access_report(
    gate: Gate, individual_id: str, *, client_address: str | None = None
) -> dict[str, Any]:
    """Per dataset: withdrawal status and every recipient of data derived from this participant."""
    from genomesh.participants.compelled import about_participant
    from genomesh.participants.withdrawal import stale_results

    state = gate.state
    usage = usage_of(state)

    def execute(accesses: Sequence[DatasetAccess]) -> list[DatasetResult]:
        out = []
        withdrawals = {w.dataset_id: w for w in state.withdrawals(individual_id=individual_id)}
        for a in accesses:
            recipients: list[dict[str, Any]] = []
            # disclosures under a compelled request: shown unless a gag order still forbids it
            compelled, gagged = about_participant(state, a.dataset_id, individual_id)
            every = [
                r
                for r in state.recipients(dataset_id=a.dataset_id, individual_id=individual_id)
                if r.recipient_key not in gagged
            ]
            named = [r for r in every if not r.recipient_key.startswith("anonymous|")]
            anon = [r for r in every if r.recipient_key.startswith("anonymous|")]
            anonymous = {
                "answers": sum(r.n_answers for r in anon),
                "first": _iso(min(r.first_at for r in anon)) if anon else None,
                "last": _iso(max(r.last_at for r in anon)) if anon else None,
            }
            for r in named:
                recipients.append(
                    {
                        "recipient": r.recipient_subject,
                        "identity": r.recipient_key,
                        "kinds": list(r.kinds),
                        "answers": r.n_answers,
                        "first": _iso(r.first_at),
                        "last": _iso(r.last_at),
                    }
                )
            w = withdrawals.get(a.dataset_id)
            # once withdrawn, every earlier result that used my data is stale: listed (the
            # recipient named only for researchers), as recipients were told
            stale = []
            if w is not None:
                for res in stale_results(state, a.dataset_id, individual_id, before=w.withdrawn_at):
                    if res["recipient_key"] in gagged:
                        continue
                    anonymous_caller = res["recipient_key"].startswith("anonymous|")
                    stale.append(
                        {k: v for k, v in res.items() if k != "recipient_key"}
                        | {"recipient": None if anonymous_caller else res["recipient"]}
                    )
            for item in recipients:
                item["stale"] = w is not None
            report = {
                "dataset_id": a.dataset_id,
                "withdrawn_at": _iso(w.withdrawn_at) if w else None,
                "recipients": recipients,
                "compelled_disclosures": compelled,
                "stale_results": stale,
                "anonymous_answers": anonymous,
                # what all answers so far revealed about my membership, in nats, against the
                # dataset's budget (docs/disclosure-control.md); past it, answers leave me out
                "exposure": {
                    "spent": state.exposure.spent(a.dataset_id, [individual_id])[individual_id],
                    "budget": gate.settings.policy_for(a.dataset_id).exposure_budget,
                },
                # how much my alleles have been asked about, by everyone; past the budget,
                # open-tier answers from fewer than `scrutiny_carriers` people leave me out
                "scrutiny": {
                    "asked": state.exposure.asked(a.dataset_id, [individual_id])[individual_id],
                    "budget": gate.settings.policy_for(a.dataset_id).scrutiny_budget,
                },
                # attribution: analyses (data visiting) this dataset served, and those that
                # used this participant's data
                "analyses": {
                    "served_by_dataset": usage.per_dataset().get(a.dataset_id, 0),
                    "including_you": usage.including(individual_id, a.dataset_id),
                },
            }
            out.append(
                DatasetResult(
                    a.dataset_id, count=1, records=[report], contributors=set(a.allowed_individuals)
                )
            )
        return out

    return run_for_participant(gate, individual_id, "access_report", execute, client_address)


def export_data(
    gate: Gate, individual_id: str, *, client_address: str | None = None
) -> dict[str, Any]:
    """A copy of the participant's own data in every dataset of the node (JSON-able)."""
    node = gate.node

    def execute(accesses: Sequence[DatasetAccess]) -> list[DatasetResult]:
        return [
            DatasetResult(
                a.dataset_id,
                count=1,
                records=[dataset_export(node.dataset(a.dataset_id), individual_id)],
                contributors=set(a.allowed_individuals),
            )
            for a in accesses
        ]

    return run_for_participant(gate, individual_id, "export", execute, client_address)


def _rows(con: Any, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def dataset_export(dataset: DatasetStore, individual_id: str) -> dict[str, Any]:
    """One dataset's data about one individual: document, phenotypes, consent, genotypes."""
    con = dataset.connect()
    try:
        people = _rows(con, "SELECT * FROM individuals WHERE individual_id = ?", [individual_id])
        if not people:
            raise NotFoundError(f"dataset {dataset.info.id!r} has no individual {individual_id!r}")
        person = people[0]
        document = person.pop("document", None)
        tables = {
            name: _rows(
                con,
                f"SELECT * EXCLUDE (individual_id) FROM {name} WHERE individual_id = ?",
                [individual_id],
            )
            for name in ("features", "diseases", "measures", "interventions", "consent")
        }
        genotypes: list[dict[str, Any]] = []
        if person.get("sample_index") is not None:
            genotypes = _rows(
                con,
                "SELECT v.chrom, v.pos, v.variant_id AS id, v.ref, v.alt, c.dosage"
                " FROM carriers c JOIN variants v USING (variant_index)"
                " WHERE c.sample_index = ? ORDER BY v.variant_index",
                [person["sample_index"]],
            )
            for g in genotypes:
                g["genotype"] = {1: "0/1", 2: "1/1"}.get(int(g.pop("dosage")), "./.")
    finally:
        con.close()
    terms = dataset.consents().get(individual_id, [])
    return _plain(
        {
            "dataset_id": dataset.info.id,
            "dataset_version": str(dataset.info.version),
            "individual": json.loads(document) if isinstance(document, str) else document,
            "attributes": person,
            **tables,
            "consent_terms": [t.model_dump(mode="json") for t in terms],
            "genotypes": {
                "format": "VCF-like: only non-reference calls; genotype 0/1 heterozygous, 1/1 homozygous alternate",
                "records": genotypes,
            },
        }
    )


__all__ = ["access_report", "dataset_export", "export_data"]
