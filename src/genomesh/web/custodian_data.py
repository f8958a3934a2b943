"""What the custodian view at a node shows, read from the node's own stores.

- `datasets_overview`: each dataset, its dataset-level DUO terms (in words), how its
  participants' consent is distributed (one row per distinct set of terms), withdrawals,
  and the disclosure policy that applies.
- `audit_view`: a page of the searched audit log with each entry's verification status
  (`genomesh.audit.search`), the whole-log verdict, and the entries flagged as including a
  participant who later withdrew.
- `withdrawals_view`: withdrawals and, per notice to an earlier recipient, its delivery.
- `recipients_view`: who received what (`recipients_summary`).

Nothing here writes; every function takes the node's store, state and settings.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from genomesh.audit.anchor import AnchorRecords
from genomesh.audit.records import AuditEntry
from genomesh.audit.search import (
    AuditQuery,
    entry_status,
    outcomes,
    recipients_summary,
    search_audit,
    surfaces,
)
from genomesh.audit.state import NodeState
from genomesh.audit.verification import AuditCheck, check_log
from genomesh.core.consent import DataUseTerm
from genomesh.core.errors import GenomeshError
from genomesh.core.settings import NodeSettings
from genomesh.store import NodeStore

STATUS_WORDS = {
    "anchored": "verified, anchored at the hub",
    "chained": "verified by the hash chain (not yet anchored)",
    "unverified": "NOT verified: at or after the first broken entry",
}


def when(seconds: float | None) -> str:
    """UNIX seconds as `YYYY-MM-DD HH:MM:SS UTC` ('' for None)."""
    if seconds is None:
        return ""
    return datetime.fromtimestamp(float(seconds), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def term_words(term: DataUseTerm) -> str:
    """`HMB (DUO:0000006, health or medical or biomedical research)` plus its modifiers."""
    try:
        from genomesh.ontology.duo import get_duo

        text = get_duo().term(term.id).display
    except (GenomeshError, KeyError):
        text = term.id
    extra = [
        f"{name}: {', '.join(values)}"
        for name, values in (
            ("diseases", term.diseases),
            ("countries", term.countries),
            ("institutions", term.institutions),
            ("projects", term.projects),
        )
        if values
    ]
    if term.expires:
        extra.append(f"until {term.expires.isoformat()}")
    return text + (f" [{'; '.join(extra)}]" if extra else "")


@dataclass(frozen=True)
class DatasetOverview:
    id: str
    name: str
    version: str
    created: str
    n_individuals: int
    n_variants: int
    assembly: str
    terms: list[str]  # dataset-level DUO terms, in words
    consent_groups: list[tuple[str, int]]  # (terms in words, individuals), largest first
    withdrawn: int
    policy: dict[str, Any]


def datasets_overview(
    node: NodeStore, state: NodeState, settings: NodeSettings
) -> list[DatasetOverview]:
    """Every dataset of the node with its consent (see the module docstring)."""
    out = []
    for ds in node.datasets():
        info = ds.info
        groups: Counter[str] = Counter()
        for terms in ds.consents().values():
            label = " + ".join(sorted(term_words(t) for t in terms)) or "no consent terms"
            groups[label] += 1
        policy = settings.policy_for(info.id)
        out.append(
            DatasetOverview(
                id=info.id,
                name=info.name,
                version=info.version,
                created=info.created.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                n_individuals=info.n_individuals,
                n_variants=info.n_variants,
                assembly=str(info.assembly),
                terms=[term_words(t) for t in info.duo],
                consent_groups=sorted(groups.items(), key=lambda kv: (-kv[1], kv[0])),
                withdrawn=len(state.withdrawn(info.id)),
                policy={
                    "tiers": policy.tiers.model_dump(),
                    "min_count": policy.min_count,
                    "aggregates_only": policy.aggregates_only,
                    "record_countries": list(policy.record_countries),
                },
            )
        )
    return out


@dataclass(frozen=True)
class AuditRowView:
    seq: int
    time: str
    who: str
    tier: str
    what: str
    datasets: str
    outcome: str
    status: str
    status_words: str
    includes_withdrawn: bool
    hash: str


@dataclass(frozen=True)
class AuditView:
    rows: list[AuditRowView]
    total: int
    verdict: str
    ok: bool
    notes: list[str]
    surfaces: list[str]
    outcomes: list[str]
    query: AuditQuery


def verify(state: NodeState) -> AuditCheck:
    """The whole check of the log against this node's record of acknowledged anchors."""
    return check_log(state, anchors=AnchorRecords(state.engine).acknowledged())


def _row(entry: AuditEntry, check: AuditCheck, flagged: set[int]) -> AuditRowView:
    body = entry.body
    who, what = body.get("who") or {}, body.get("what") or {}
    status = entry_status(check, entry.seq)
    return AuditRowView(
        seq=entry.seq,
        time=when(entry.created_at),
        who=str(who.get("subject") or who.get("identity_key") or ""),
        tier=str(who.get("tier") or ""),
        what=f"{what.get('surface')}/{what.get('operation')}",
        datasets=", ".join(str(d.get("id")) for d in body.get("datasets") or []),
        outcome=str(body.get("outcome")),
        status=status,
        status_words=STATUS_WORDS[status],
        includes_withdrawn=entry.seq in flagged,
        hash=entry.hash,
    )


def audit_view(state: NodeState, query: AuditQuery) -> AuditView:
    """A page of the searched log, each entry with its verification status."""
    check = verify(state)
    page = search_audit(state, query)
    flagged = state.flagged_audit_seqs()
    return AuditView(
        rows=[_row(e, check, flagged) for e in page.entries],
        total=page.total,
        verdict=check.describe(),
        ok=check.ok,
        notes=list(check.notes),
        surfaces=surfaces(state),
        outcomes=outcomes(state),
        query=query,
    )


def withdrawals_view(state: NodeState) -> dict[str, Any]:
    """Withdrawals (newest first) and every notice to an earlier recipient with its delivery."""
    withdrawals = [
        {
            "dataset_id": w.dataset_id,
            "individual_id": w.individual_id,
            "reason": w.reason or "",
            "at": when(w.withdrawn_at),
        }
        for w in sorted(state.withdrawals(), key=lambda w: -w.withdrawn_at)
    ]
    notices = [
        {
            "id": n.id,
            "dataset_id": n.dataset_id,
            "pseudonym": n.individual_pseudonym[:12],
            "recipient": n.recipient_subject or n.recipient_key,
            "created": when(n.created_at),
            "delivery": n.delivery,
            "detail": n.delivery_detail or "",
            "delivered": when(n.delivered_at),
        }
        for n in sorted(state.notifications(), key=lambda n: -n.id)
    ]
    counts = Counter(n["delivery"] for n in notices)
    return {"withdrawals": withdrawals, "notices": notices, "delivery_counts": dict(counts)}


def recipients_view(state: NodeState, *, dataset_id: str | None = None) -> list[dict[str, Any]]:
    """Who received what, with readable times."""
    return [
        {
            **row,
            "recipient": row["recipient_subject"] or row["recipient_key"],
            "first": when(row["first_at"]),
            "last": when(row["last_at"]),
        }
        for row in recipients_summary(state, dataset_id=dataset_id)
    ]


__all__ = [
    "STATUS_WORDS",
    "AuditRowView",
    "AuditView",
    "DatasetOverview",
    "audit_view",
    "datasets_overview",
    "recipients_view",
    "term_words",
    "verify",
    "when",
    "withdrawals_view",
]
