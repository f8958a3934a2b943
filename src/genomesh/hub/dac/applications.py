"""Data access applications: the workflow, the automatic pre-check and the event history.

States::

    draft ──submit──▶ submitted ──approve──▶ approved ──revoke──▶ revoked
      ▲                 │  │                    │
      │                 │  └─reject──▶ rejected └─(end date passes)──▶ expired
      └──(edit)── changes_requested ◀─request_changes─┘ (from submitted)

A renewal is a new application (`renewal_of` = the old one) with the same datasets and
purpose, decided like any other. Every transition appends an `ApplicationEvent` (who, when,
what, comment), so the history is complete and shown as is.

Every transition is a compare-and-set on the state the actor saw
(`UPDATE ... SET state=:new WHERE id=:id AND state=:seen`, rowcount checked), made in the
caller's transaction together with the event row and any visa writes: of two committee
members deciding the same application at once, exactly one decision takes effect and the
other gets ConflictError (409) naming the state the first one left (invariant 7).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from genomesh.core.errors import AccessDeniedError, ConflictError, InvalidInputError, NotFoundError
from genomesh.core.purpose import ResearchPurpose
from genomesh.hub.dac.accounts import is_member
from genomesh.hub.dac.datasets import duo_terms
from genomesh.hub.dac.db import Clock
from genomesh.hub.dac.models import (
    Account,
    Application,
    ApplicationDataset,
    ApplicationEvent,
    Dataset,
)

Decision = Literal["approve", "reject", "request_changes"]
EDITABLE = ("draft", "changes_requested")
DECIDABLE = ("submitted",)


def compare_and_set(
    session: Session,
    app: Application,
    to_state: str,
    *,
    at: datetime,
    values: dict[str, Any] | None = None,
    where: Sequence[ColumnElement[bool]] = (),
) -> bool:
    """Move `app` from the state it was read in to `to_state` if, in the database, it is still
    in that state (and matches `where`); False when another transaction moved it first.

    The UPDATE takes the row's write lock (PostgreSQL) or the database's (SQLite) until the
    caller's transaction ends, so whatever the caller writes next (event, visas) commits or
    rolls back with the transition. The loaded object is updated without a second UPDATE.
    """
    changes = {"state": to_state, "updated_at": at, **(values or {})}
    result = session.execute(
        update(Application)
        .where(Application.id == app.id, Application.state == app.state, *where)
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    for key, value in changes.items():
        set_committed_value(app, key, value)
    return True


def current_state(session: Session, app: Application) -> str | None:
    """The application's state as committed now (not as loaded into `app`)."""
    return session.scalar(select(Application.state).where(Application.id == app.id))


def record_event(
    session: Session,
    app: Application,
    *,
    allowed: Sequence[str],
    why: str,
    actor: str,
    action: str,
    to_state: str,
    at: datetime,
    comment: str = "",
    data: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
) -> None:
    """Move the application to `to_state` (a compare-and-set from a state in `allowed`) and
    append the event; ConflictError naming the current state when it is not, or no longer,
    in `allowed` (`why` says which states are)."""
    seen = app.state
    if seen not in allowed:
        raise ConflictError(f"application {app.id} is {seen}; {why}", details={"state": seen})
    if not compare_and_set(session, app, to_state, at=at, values=values):
        now = current_state(session, app)
        raise ConflictError(
            f"application {app.id} is {now}; {why} (it was {seen} when you acted: "
            "someone else changed it in the meantime)",
            details={"state": now, "seen": seen},
        )
    app.events.append(
        ApplicationEvent(
            at=at,
            actor=actor,
            action=action,
            from_state=seen,
            to_state=to_state,
            comment=comment,
            data=data or {},
        )
    )


def complete_purpose(purpose: ResearchPurpose, applicant: Account) -> ResearchPurpose:
    """Fill the purpose's user, institution and country from the account when left empty."""
    update: dict[str, Any] = {}
    if purpose.user_id is None:
        update["user_id"] = applicant.username
    if purpose.institution is None and applicant.institution:
        update["institution"] = applicant.institution
    if purpose.country is None and applicant.country:
        update["country"] = applicant.country
    return purpose.model_copy(update=update) if update else purpose


def precheck(
    purpose: ResearchPurpose, datasets: Sequence[Dataset], *, today: date
) -> dict[str, Any]:
    """The automatic DUO check of `purpose` against each dataset, with per-term reasons.

    Overall: `deny` if any dataset denies, else `needs_review` if any needs review, else
    `approve`. It is advice for the committee; the decision stays theirs.
    """
    from genomesh.access.purpose_match import match_purpose

    results = []
    for dataset in datasets:
        match = match_purpose(purpose, duo_terms(dataset), today=today)
        results.append(
            {
                "dataset": dataset.url,
                "node": dataset.node,
                "dataset_id": dataset.dataset_id,
                "decision": match.decision,
                "reasons": [
                    {
                        "term": reason.term.model_dump(mode="json")
                        if hasattr(reason.term, "model_dump")
                        else reason.term,
                        "decision": reason.decision,
                        "reason": reason.reason,
                    }
                    for reason in match.reasons
                ],
            }
        )
    decisions = {r["decision"] for r in results}
    overall = (
        "deny"
        if "deny" in decisions
        else "needs_review"
        if "needs_review" in decisions
        else "approve"
    )
    return {"decision": overall, "checked_on": today.isoformat(), "datasets": results}


def create_application(
    session: Session,
    applicant: Account,
    *,
    title: str,
    purpose: ResearchPurpose,
    datasets: Sequence[Dataset],
    clock: Clock,
    summary: str = "",
    lay_summary: str = "",
    documents: Sequence[dict[str, Any]] = (),
    accepted_terms: bool = False,
    renewal_of: Application | None = None,
) -> Application:
    """A new draft application by `applicant`."""
    if not title.strip():
        raise InvalidInputError("an application needs a project title", field="title")
    if not datasets:
        raise InvalidInputError("an application needs at least one dataset", field="datasets")
    if len({d.url for d in datasets}) != len(datasets):
        raise InvalidInputError("a dataset is listed twice", field="datasets")
    now = clock()
    app = Application(
        applicant_id=applicant.id,
        state="draft",
        title=title.strip(),
        summary=summary,
        lay_summary=lay_summary,
        publications=[],
        purpose=complete_purpose(purpose, applicant).model_dump(mode="json"),
        documents=[dict(d) for d in documents],
        accepted_terms=accepted_terms,
        created_at=now,
        updated_at=now,
        renewal_of=renewal_of.id if renewal_of is not None else None,
    )
    app.datasets = [ApplicationDataset(dataset_url=d.url) for d in datasets]
    app.events.append(
        ApplicationEvent(
            at=now,
            actor=applicant.username,
            action="renew" if renewal_of is not None else "create",
            from_state=None,
            to_state="draft",
            comment=f"renewal of application {renewal_of.id}" if renewal_of is not None else "",
            data={},
        )
    )
    session.add(app)
    session.flush()
    return app


def get_application(session: Session, application_id: int) -> Application:
    """The application with this id (NotFoundError otherwise)."""
    app = session.get(Application, application_id)
    if app is None:
        raise NotFoundError(f"no application {application_id}", field="application")
    return app


def application_datasets(session: Session, app: Application) -> list[Dataset]:
    """The datasets the application asks for, in order."""
    return [link.dataset for link in app.datasets]


def can_view(session: Session, app: Application, account: Account) -> bool:
    """The applicant, a hub admin, or a DAC member of one of its datasets may see it."""
    if account.role == "admin" or app.applicant_id == account.id:
        return True
    return any(is_member(session, account, d) for d in application_datasets(session, app))


def require_view(session: Session, app: Application, account: Account) -> None:
    if not can_view(session, app, account):
        raise NotFoundError(f"no application {app.id}", field="application")


def edit_application(
    session: Session,
    app: Application,
    account: Account,
    *,
    clock: Clock,
    changes: dict[str, Any],
    datasets: Sequence[Dataset] | None = None,
) -> Application:
    """Change a draft (or an application sent back for changes); only by its applicant."""
    if app.applicant_id != account.id:
        raise AccessDeniedError("only the applicant may edit an application")
    record_event(
        session, app, allowed=EDITABLE, why="only drafts can be edited",
        actor=account.username, action="edit", to_state=app.state, at=clock(),
    )  # fmt: skip
    for key, value in changes.items():
        if key == "purpose":
            value = complete_purpose(value, account).model_dump(mode="json")
        setattr(app, key, value)
    if datasets is not None:
        if not datasets:
            raise InvalidInputError("an application needs at least one dataset", field="datasets")
        app.datasets = [ApplicationDataset(dataset_url=d.url) for d in datasets]
    session.flush()
    return app


def submit_application(
    session: Session, app: Application, account: Account, *, clock: Clock, comment: str = ""
) -> Application:
    """Submit for decision: terms must be accepted; the pre-check is run and stored."""
    if app.applicant_id != account.id:
        raise AccessDeniedError("only the applicant may submit an application")
    if app.state not in EDITABLE:
        raise ConflictError(f"application {app.id} is {app.state}; it cannot be submitted")
    if not app.accepted_terms:
        raise InvalidInputError(
            "accept the datasets' terms of use before submitting", field="accepted_terms"
        )
    now = clock()
    purpose = ResearchPurpose.model_validate(app.purpose)
    checked = precheck(purpose, application_datasets(session, app), today=now.date())
    record_event(
        session,
        app,
        allowed=EDITABLE,
        why="it cannot be submitted",
        values={"precheck": checked},
        actor=account.username,
        action="submit",
        to_state="submitted",
        at=now,
        comment=comment,
        data={"precheck": checked["decision"]},
    )
    session.flush()
    return app


def require_deciding_member(session: Session, app: Application, account: Account) -> None:
    """AccessDeniedError unless `account` sits on the DAC of every dataset of the application."""
    missing = [
        d.url for d in application_datasets(session, app) if not is_member(session, account, d)
    ]
    if missing:
        raise AccessDeniedError(
            f"{account.username} is not a DAC member for {', '.join(missing)}",
            details={"datasets": missing},
        )


def decide_application(
    session: Session,
    app: Application,
    member: Account,
    decision: Decision,
    *,
    clock: Clock,
    comment: str = "",
    until: datetime | None = None,
) -> Application:
    """A DAC member's decision: approve (with an end), reject (with a reason), request changes."""
    require_deciding_member(session, app, member)
    if app.applicant_id == member.id:
        raise AccessDeniedError("a DAC member may not decide their own application")
    why = "only submitted ones are decided"
    if app.state not in DECIDABLE:
        raise ConflictError(f"application {app.id} is {app.state}; {why}")
    now = clock()
    if decision == "approve":
        if until is None:
            raise InvalidInputError("an approval needs an end date", field="until")
        if until <= now:
            raise InvalidInputError("the approval's end date must be in the future", field="until")
        record_event(
            session,
            app,
            allowed=DECIDABLE,
            why=why,
            values={"approved_until": until},
            actor=member.username,
            action="approve",
            to_state="approved",
            at=now,
            comment=comment,
            data={"until": until.isoformat()},
        )
    elif decision == "reject":
        if not comment.strip():
            raise InvalidInputError("a rejection needs a reason", field="comment")
        record_event(
            session,
            app,
            allowed=DECIDABLE,
            why=why,
            values={"approved_until": None},
            actor=member.username,
            action="reject",
            to_state="rejected",
            at=now,
            comment=comment,
        )
    elif decision == "request_changes":
        if not comment.strip():
            raise InvalidInputError("say which changes are needed", field="comment")
        record_event(
            session,
            app,
            allowed=DECIDABLE,
            why=why,
            values={"approved_until": None},
            actor=member.username,
            action="request_changes",
            to_state="changes_requested",
            at=now,
            comment=comment,
        )
    else:
        raise InvalidInputError(f"unknown decision {decision!r}", field="decision")
    session.flush()
    return app


def revoke_application(
    session: Session, app: Application, actor: Account, *, clock: Clock, reason: str
) -> Application:
    """Withdraw an approval (DAC member of its datasets, or hub admin); needs a reason."""
    if actor.role != "admin":
        require_deciding_member(session, app, actor)
    why = "only approved ones are revoked"
    if app.state != "approved":
        raise ConflictError(f"application {app.id} is {app.state}; {why}")
    if not reason.strip():
        raise InvalidInputError("a revocation needs a reason", field="reason")
    record_event(
        session, app, allowed=("approved",), why=why, actor=actor.username, action="revoke",
        to_state="revoked", at=clock(), comment=reason,
    )  # fmt: skip
    session.flush()
    return app


def expire_due(session: Session, *, clock: Clock) -> list[Application]:
    """Move approved applications whose end date has passed to `expired`; those another
    transaction moved first (revoked, or expired by a concurrent call) are left to it."""
    now = clock()
    due = session.scalars(
        select(Application)
        .where(Application.state == "approved", Application.approved_until <= now)
        .order_by(Application.id)  # rows locked in one order: concurrent callers never deadlock
    ).all()
    expired = []
    for app in due:
        ended = app.approved_until
        if not compare_and_set(
            session, app, "expired", at=now, where=[Application.approved_until <= now]
        ):
            continue
        app.events.append(
            ApplicationEvent(
                at=now, actor="system", action="expire", from_state="approved",
                to_state="expired", comment=f"approval ended {ended.isoformat() if ended else ''}",
                data={},
            )
        )  # fmt: skip
        expired.append(app)
    session.flush()
    return expired


def renew_application(
    session: Session, app: Application, account: Account, *, clock: Clock, comment: str = ""
) -> Application:
    """A renewal: a new submitted application with the same datasets, purpose and terms."""
    if app.applicant_id != account.id:
        raise AccessDeniedError("only the applicant may renew an application")
    if app.state not in ("approved", "expired"):
        raise ConflictError(
            f"application {app.id} is {app.state}; only approved or expired ones are renewed"
        )
    renewal = create_application(
        session,
        account,
        title=app.title,
        summary=app.summary,
        lay_summary=app.lay_summary,
        purpose=ResearchPurpose.model_validate(app.purpose),
        datasets=application_datasets(session, app),
        documents=app.documents,
        accepted_terms=app.accepted_terms,
        clock=clock,
        renewal_of=app,
    )
    return submit_application(session, renewal, account, clock=clock, comment=comment)


def list_applications(
    session: Session, account: Account, *, state: str | None = None, mine: bool = False
) -> list[Application]:
    """Applications `account` may see (own; as DAC member, theirs to decide; admin: all)."""
    query = select(Application).order_by(Application.id)
    if state is not None:
        query = query.where(Application.state == state)
    apps = session.scalars(query).all()
    if mine:
        return [a for a in apps if a.applicant_id == account.id]
    return [a for a in apps if can_view(session, a, account)]


__all__ = [
    "Decision",
    "application_datasets",
    "can_view",
    "compare_and_set",
    "complete_purpose",
    "create_application",
    "current_state",
    "decide_application",
    "edit_application",
    "expire_due",
    "get_application",
    "list_applications",
    "precheck",
    "record_event",
    "renew_application",
    "require_deciding_member",
    "require_view",
    "revoke_application",
    "submit_application",
]
