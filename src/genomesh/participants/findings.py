"""Return of individual findings at the node: preferences, the custodian's queue, delivery.

    participant's consent   FindingsPreferences (categories wanted, through whom), set by the
                            participant (/participants/me/findings-preferences) or recorded
                            by the custodian from the enrolment form (CLI, admin API)
    researcher flags        hub-signed, through the hub only (genomesh.hub.dac.findings):
                            `flag()` refuses, with the reason, a finding about a withdrawn
                            participant or in a category they did not opt in to
    custodian reviews       pending_review -> accepted | declined | confirmation_requested
                            (confirmation_requested -> accepted | declined once confirmed)
    custodian delivers      accepted -> delivered, to the participant's page with the offer
                            of genetic counselling and the custodian's contact; checked
                            again first (withdrawn or opted out since: cancelled, with why)

Every step, refusals included, is an entry in the node's hash-chained audit log (surface
"findings"; participants named by their pseudonym). Findings and preferences live in the
node's state database, in tables of their own (`gs_findings`, `gs_findings_preferences`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import JSON, Float, Integer, String, Text, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from genomesh.audit.state import NodeState
from genomesh.core.consent import FindingsPreferences
from genomesh.core.errors import AccessDeniedError, ConflictError, InvalidInputError, NotFoundError
from genomesh.core.findings import FindingFlag, FindingSender

Review = Literal["accept", "decline", "ask_confirmation"]
REVIEWABLE = ("pending_review", "confirmation_requested")
NEXT_STATE = {
    "accept": "accepted",
    "decline": "declined",
    "ask_confirmation": "confirmation_requested",
}
CHANNEL = {
    "custodian": "your data custodian",
    "clinician": "your clinician",
    "genetic_counsellor": "a genetic counsellor",
}


class _Base(DeclarativeBase):
    """Tables of the findings queue (separate metadata, same state database)."""


class PreferencesRow(_Base):
    __tablename__ = "gs_findings_preferences"
    individual_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    via: Mapped[str] = mapped_column(String(32), default="custodian")
    contact: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[float] = mapped_column(Float)
    set_by: Mapped[str] = mapped_column(String(32))


class FindingRow(_Base):
    __tablename__ = "gs_findings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[str] = mapped_column(String(128))
    individual_id: Mapped[str] = mapped_column(String(128), index=True)
    category: Mapped[str] = mapped_column(String(32))
    flag: Mapped[dict[str, Any]] = mapped_column(JSON)
    sender: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(32), default="pending_review")
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    delivery: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


@dataclass
class Findings:
    """The findings queue of one node (on its NodeState's database)."""

    state: NodeState
    custodian_contact: str = ""
    genetic_counselling: str = ""

    def __post_init__(self) -> None:
        _Base.metadata.create_all(self.state.engine)

    def _session(self) -> Session:
        return Session(self.state.engine, expire_on_commit=False)

    # -- audit -----------------------------------------------------------------------
    def _audit(
        self, operation: str, *, actor: str, dataset_id: str, individual_id: str,
        outcome: str, detail: dict[str, Any],
    ) -> int:  # fmt: skip
        entry = self.state.append_audit(
            {
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "who": {"identity_key": actor, "tier": None, "subject": actor, "issuer": "node"},
                "what": {
                    "surface": "findings",
                    "operation": operation,
                    "parameters": {
                        "dataset_id": dataset_id,
                        "individual_pseudonym": self.state.pseudonym(dataset_id, individual_id),
                        **detail,
                    },
                },
                "datasets": [{"id": dataset_id}],
                "granularity": None,
                "n_individuals": 0,
                "refused": {dataset_id: detail["reason"]} if outcome == "refused" else {},
                "outcome": outcome,
            }
        )
        return entry.seq

    # -- preferences -----------------------------------------------------------------
    def preferences(self, individual_id: str) -> FindingsPreferences | None:
        with self._session() as s:
            row = s.get(PreferencesRow, individual_id)
            if row is None:
                return None
            return FindingsPreferences(
                categories=tuple(row.categories),  # type: ignore[arg-type]  # validated on write
                via=row.via,  # type: ignore[arg-type]
                contact=row.contact,
            )

    def set_preferences(
        self, individual_id: str, prefs: FindingsPreferences, *, set_by: str, datasets: list[str]
    ) -> FindingsPreferences:
        """Record a participant's preferences (`set_by`: participant or custodian)."""
        with self._session() as s, s.begin():
            row = s.get(PreferencesRow, individual_id)
            if row is None:
                row = PreferencesRow(individual_id=individual_id)
                s.add(row)
            row.categories, row.via, row.contact = list(prefs.categories), prefs.via, prefs.contact
            row.updated_at, row.set_by = time.time(), set_by
        for dataset_id in datasets:
            self._audit(
                "preferences", actor=f"node|{set_by}", dataset_id=dataset_id,
                individual_id=individual_id, outcome="recorded",
                detail={"categories": list(prefs.categories), "via": prefs.via},
            )  # fmt: skip
        return prefs

    # -- flag ------------------------------------------------------------------------
    def flag(
        self, flag: FindingFlag, sender: FindingSender, *, individuals: frozenset[str],
        withdrawn: bool,
    ) -> dict[str, Any]:  # fmt: skip
        """Queue a researcher's flag, or refuse it with the reason (audited either way).
        `individuals`: the dataset's participants; `withdrawn`: this one has withdrawn."""
        actor = f"hub|{sender.subject}"
        where = {"dataset_id": flag.dataset_id, "individual_id": flag.individual_id}
        detail = {"category": flag.category, "application": sender.application}
        if flag.individual_id not in individuals:
            raise NotFoundError(
                f"dataset {flag.dataset_id!r} has no individual {flag.individual_id!r}",
                field="individual_id",
            )
        reason = None
        error: type[ConflictError | AccessDeniedError] = AccessDeniedError
        prefs = self.preferences(flag.individual_id)
        if withdrawn:
            reason = f"the participant has withdrawn from dataset {flag.dataset_id}: findings about them are refused"
            error = ConflictError
        elif prefs is None or not prefs.categories:
            reason = "the participant has not opted in to the return of any findings"
        elif flag.category not in prefs.categories:
            reason = f"the participant did not opt in to the return of {flag.category} findings"
        if reason is not None:
            self._audit(
                "flag", actor=actor, **where, outcome="refused", detail={**detail, "reason": reason}
            )
            raise error(reason, field="individual_id", details={"category": flag.category})
        now = time.time()
        with self._session() as s, s.begin():
            row = FindingRow(
                dataset_id=flag.dataset_id, individual_id=flag.individual_id,
                category=flag.category, flag=flag.model_dump(mode="json"),
                sender=sender.model_dump(mode="json"), state="pending_review", created_at=now,
                updated_at=now, history=[{"at": now, "by": actor, "action": "flag"}],
            )  # fmt: skip
            s.add(row)
            s.flush()
            finding_id = row.id
        seq = self._audit(
            "flag",
            actor=actor,
            **where,
            outcome="recorded",
            detail={**detail, "finding": finding_id},
        )
        return {"id": finding_id, "state": "pending_review", "dataset_id": flag.dataset_id,
                "category": flag.category, "audit_id": seq}  # fmt: skip

    # -- the custodian's queue ---------------------------------------------------------
    def get(self, finding_id: int) -> FindingRow:
        with self._session() as s:
            row = s.get(FindingRow, finding_id)
        if row is None:
            raise NotFoundError(f"no finding {finding_id}", field="finding")
        return row

    def queue(self, *, state: str | None = None) -> list[dict[str, Any]]:
        with self._session() as s:
            query = select(FindingRow).order_by(FindingRow.id)
            if state is not None:
                query = query.where(FindingRow.state == state)
            return [self.view(r) for r in s.scalars(query)]

    def view(self, row: FindingRow) -> dict[str, Any]:
        """A finding as the custodian sees it."""
        return {
            "id": row.id, "state": row.state, "dataset_id": row.dataset_id,
            "individual_id": row.individual_id, "category": row.category, **row.flag,
            "sender": row.sender, "created_at": row.created_at, "updated_at": row.updated_at,
            "history": row.history, "delivery": row.delivery,
        }  # fmt: skip

    def _move(self, row: FindingRow, allowed: tuple[str, ...], to: str, event: dict[str, Any],
              **values: Any) -> None:  # fmt: skip
        """Compare-and-set of the finding's state (two reviewers: one wins, the other 409)."""
        now = time.time()
        with self._session() as s, s.begin():
            result = s.execute(
                update(FindingRow)
                .where(FindingRow.id == row.id, FindingRow.state.in_(allowed))
                .values(
                    state=to, updated_at=now, history=[*row.history, {"at": now, **event}], **values
                )
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                current = s.get(FindingRow, row.id)
                state = current.state if current else "gone"
                raise ConflictError(
                    f"finding {row.id} is {state}; this needs one that is {' or '.join(allowed)}",
                    details={"state": state},
                )

    def review(
        self, finding_id: int, decision: Review, *, by: str, comment: str = ""
    ) -> dict[str, Any]:
        """The custodian accepts, declines (with a reason) or asks for confirmation."""
        if decision not in NEXT_STATE:
            raise InvalidInputError(f"unknown decision {decision!r}", field="decision")
        if decision != "accept" and not comment.strip():
            raise InvalidInputError("say why (a comment is needed)", field="comment")
        row = self.get(finding_id)
        to = NEXT_STATE[decision]
        self._move(
            row, REVIEWABLE, to, {"by": f"custodian|{by}", "action": decision, "comment": comment}
        )
        self._audit(
            "review", actor=f"node|custodian|{by}", dataset_id=row.dataset_id,
            individual_id=row.individual_id, outcome="recorded",
            detail={"finding": row.id, "decision": decision, "state": to},
        )  # fmt: skip
        return self.view(self.get(finding_id))

    def deliver(
        self, finding_id: int, *, by: str, withdrawn: bool, message: str = ""
    ) -> dict[str, Any]:
        """Put an accepted finding on the participant's page, with the counselling offer and
        the custodian's contact; refused (finding cancelled) if, since it was flagged, the
        participant withdrew or stopped wanting this category."""
        row = self.get(finding_id)
        if row.state != "accepted":
            raise ConflictError(
                f"finding {row.id} is {row.state}; only accepted findings are delivered",
                details={"state": row.state},
            )
        prefs = self.preferences(row.individual_id)
        reason = None
        if withdrawn:
            reason = f"the participant has withdrawn from dataset {row.dataset_id} since the finding was flagged"
        elif prefs is None or row.category not in prefs.categories:
            reason = f"the participant no longer wants {row.category} findings returned"
        actor = f"node|custodian|{by}"
        where = {"dataset_id": row.dataset_id, "individual_id": row.individual_id}
        if reason is not None:
            self._move(
                row,
                ("accepted",),
                "cancelled",
                {"by": actor, "action": "cancel", "comment": reason},
            )
            self._audit("deliver", actor=actor, **where, outcome="refused",
                        detail={"finding": row.id, "reason": reason})  # fmt: skip
            raise ConflictError(
                f"finding {row.id} not delivered: {reason}", details={"state": "cancelled"}
            )
        assert prefs is not None
        delivery = {
            "delivered_at": time.time(),
            "via": prefs.via,
            "via_text": CHANNEL[prefs.via] + (f" ({prefs.contact})" if prefs.contact else ""),
            "message": message,
            "genetic_counselling": self.genetic_counselling
            or "Genetic counselling is offered with every returned finding: ask your custodian.",
            "custodian_contact": self.custodian_contact,
        }
        self._move(
            row, ("accepted",), "delivered", {"by": actor, "action": "deliver"}, delivery=delivery
        )
        self._audit("deliver", actor=actor, **where, outcome="recorded",
                    detail={"finding": row.id, "via": prefs.via})  # fmt: skip
        return self.view(self.get(finding_id))

    # -- the researcher's side (through the hub) ----------------------------------------
    def _senders(self, finding_id: int, subject: str) -> FindingRow:
        """The finding, if `subject` flagged it (NotFoundError otherwise: no probing)."""
        try:
            row = self.get(finding_id)
        except NotFoundError:
            row = None
        if row is None or row.sender.get("subject") != subject:
            raise NotFoundError(f"no finding {finding_id} of yours at this node", field="finding")
        return row

    def status(self, finding_id: int, subject: str) -> dict[str, Any]:
        """What the flagging researcher may know: state and the custodian's comments."""
        row = self._senders(finding_id, subject)
        return {
            "id": row.id, "state": row.state, "dataset_id": row.dataset_id,
            "category": row.category,
            "history": [{k: e.get(k) for k in ("at", "action", "comment")} for e in row.history],
        }  # fmt: skip

    def confirm(self, finding_id: int, subject: str, *, evidence: str) -> dict[str, Any]:
        """The researcher's confirmation, asked for by the custodian: back to the queue."""
        if not evidence.strip():
            raise InvalidInputError("say how the finding was confirmed", field="evidence")
        row = self._senders(finding_id, subject)
        actor = f"hub|{subject}"
        self._move(
            row, ("confirmation_requested",), "pending_review",
            {"by": actor, "action": "confirm", "comment": evidence},
        )  # fmt: skip
        self._audit(
            "confirm", actor=actor, dataset_id=row.dataset_id, individual_id=row.individual_id,
            outcome="recorded", detail={"finding": row.id},
        )  # fmt: skip
        return self.status(finding_id, subject)

    def delivered_to(self, individual_id: str) -> list[dict[str, Any]]:
        """What the participant's page shows: their delivered findings."""
        with self._session() as s:
            rows = s.scalars(
                select(FindingRow)
                .where(FindingRow.individual_id == individual_id, FindingRow.state == "delivered")
                .order_by(FindingRow.id)
            ).all()
        return [
            {
                "id": r.id, "dataset_id": r.dataset_id, "category": r.category,
                "summary": r.flag.get("summary"), "gene": r.flag.get("gene"),
                "variant": r.flag.get("variant"), "evidence": r.flag.get("evidence"),
                "from_research_at": r.sender.get("institution") or None, **(r.delivery or {}),
            }
            for r in rows
        ]  # fmt: skip


__all__ = ["CHANNEL", "FindingRow", "Findings", "PreferencesRow", "Review"]
