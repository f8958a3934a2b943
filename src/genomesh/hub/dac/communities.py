"""Community data sovereignty: communities, their governance bodies, their data, their decisions.

A community (e.g. an Indigenous nation) is registered at the hub with its governance body,
whose members have hub accounts. A hub admin marks a dataset, or a named group of its
participants (the group's members are listed at the node, never at the hub), as the
community's, with Local Contexts Biocultural Labels and Notices (`LABELS`).

Any application touching those data needs the community's approval as well as the
committee's: on submission a pending `CommunityDecision` is opened for each community
concerned; a member of its governance body approves or declines (a compare-and-set, so two
members deciding at once cannot both take effect). Only when the community has approved *and*
the application is approved does the applicant get a `genomesh.CommunityApproval` visa (value =
the community's slug), ending with the approval. Nodes leave the community's participants out
of every answer to a holder without that visa (genomesh.gate.guard), and enforce the labels'
machine-readable conditions (non-commercial) like DUO modifiers.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from genomesh.access.visas import COMMUNITY_APPROVAL
from genomesh.core.errors import AccessDeniedError, ConflictError, InvalidInputError, NotFoundError
from genomesh.hub.dac.grants import revoke_visas
from genomesh.hub.dac.models import (
    Account,
    Application,
    ApplicationEvent,
    Community,
    CommunityData,
    CommunityDecision,
    CommunityMember,
    Dataset,
    IssuedVisa,
)

# Local Contexts Biocultural (BC) Labels and Notices (localcontexts.org/labels/biocultural-labels),
# with the condition a node enforces where the label's meaning is machine-readable.
LABELS: dict[str, str | None] = {
    "BC Provenance": None,
    "BC Multiple Communities": None,
    "BC Clan": None,
    "BC Consent Verified": None,
    "BC Consent Non-Verified": None,
    "BC Research Use": None,
    "BC Non-Commercial": "non_commercial",
    "BC Outreach": None,
    "BC Open to Collaboration": None,
    "BC Open to Commercialization": None,
    "BC Notice": None,
}
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
CommunityVerdict = Literal["approve", "decline", "withdraw"]


def check_labels(labels: Sequence[str]) -> list[str]:
    """The labels, each a known BC Label or Notice (InvalidInputError naming an unknown one)."""
    for i, label in enumerate(labels):
        if label not in LABELS:
            raise InvalidInputError(
                f"{label!r} is not a Local Contexts Biocultural Label or Notice "
                f"(one of: {', '.join(LABELS)})",
                field=f"labels[{i}]",
            )
    return list(dict.fromkeys(labels))


def label_view(labels: Sequence[str]) -> list[dict[str, Any]]:
    """Labels as shown in the catalogue: name and machine-readable condition (if any)."""
    return [{"label": label, "condition": LABELS.get(label)} for label in labels]


def get_community(session: Session, slug: str) -> Community:
    row = session.get(Community, slug)
    if row is None:
        raise NotFoundError(f"no community {slug!r} is registered at this hub", field="community")
    return row


def create_community(
    session: Session, slug: str, *, name: str, governance_body: str, contact: str, at: datetime
) -> Community:
    if not SLUG.match(slug):
        raise InvalidInputError(
            f"community id {slug!r}: 2-63 lower-case letters, digits and dashes", field="slug"
        )
    if session.get(Community, slug) is not None:
        raise ConflictError(f"community {slug!r} is already registered", field="slug")
    row = Community(
        slug=slug, name=name, governance_body=governance_body, contact=contact, created_at=at
    )
    session.add(row)
    session.flush()
    return row


def is_governor(session: Session, community: str, account: Account) -> bool:
    """Does `account` sit on the community's governance body?"""
    return (
        session.scalar(
            select(CommunityMember.id).where(
                CommunityMember.community == community, CommunityMember.account_id == account.id
            )
        )
        is not None
    )


def add_governor(session: Session, community: Community, account: Account) -> None:
    if not is_governor(session, community.slug, account):
        session.add(CommunityMember(community=community.slug, account_id=account.id))
        session.flush()


def governors(session: Session, community: str) -> list[str]:
    rows = session.scalars(
        select(Account.username)
        .join(CommunityMember, CommunityMember.account_id == Account.id)
        .where(CommunityMember.community == community)
        .order_by(Account.username)
    )
    return list(rows)


def mark_data(
    session: Session, community: Community, dataset: Dataset, *, group: str, labels: Sequence[str]
) -> CommunityData:
    """Mark a dataset (group "") or a named participant group of it as the community's."""
    row = session.scalar(
        select(CommunityData).where(
            CommunityData.community == community.slug,
            CommunityData.dataset_url == dataset.url,
            CommunityData.group == group,
        )
    )
    if row is None:
        row = CommunityData(community=community.slug, dataset_url=dataset.url, group=group)
        session.add(row)
    row.labels = check_labels(labels)
    session.flush()
    return row


def data_of(session: Session, dataset_urls: Sequence[str]) -> list[CommunityData]:
    """Community designations on these datasets."""
    if not dataset_urls:
        return []
    return list(
        session.scalars(
            select(CommunityData)
            .where(CommunityData.dataset_url.in_(list(dataset_urls)))
            .order_by(CommunityData.id)
        )
    )


def open_decisions(session: Session, app: Application, *, at: datetime) -> list[str]:
    """A pending decision for each community whose data the application touches (kept when
    one exists, e.g. after changes were requested); returns the communities."""
    urls = [link.dataset_url for link in app.datasets]
    communities = sorted({d.community for d in data_of(session, urls)})
    for slug in communities:
        exists = session.scalar(
            select(CommunityDecision).where(
                CommunityDecision.application_id == app.id, CommunityDecision.community == slug
            )
        )
        if exists is None:
            session.add(CommunityDecision(application_id=app.id, community=slug, state="pending"))
    session.flush()
    return communities


def decisions(session: Session, app: Application) -> list[CommunityDecision]:
    return list(
        session.scalars(
            select(CommunityDecision)
            .where(CommunityDecision.application_id == app.id)
            .order_by(CommunityDecision.community)
        )
    )


def decide(
    session: Session,
    app: Application,
    community: Community,
    member: Account,
    verdict: CommunityVerdict,
    *,
    comment: str,
    at: datetime,
) -> CommunityDecision:
    """A governance-body member's decision for the community: approve or decline a pending
    request, or withdraw an approval given (its CommunityApproval visas are revoked; the
    committee's approval stands, the community's participants count in no further answer).
    Each is a compare-and-set on the state the member saw."""
    if not is_governor(session, community.slug, member):
        raise AccessDeniedError(
            f"{member.username} is not on the governance body of community {community.slug}"
        )
    row = session.scalar(
        select(CommunityDecision).where(
            CommunityDecision.application_id == app.id,
            CommunityDecision.community == community.slug,
        )
    )
    if row is None:
        raise NotFoundError(
            f"application {app.id} does not touch data of community {community.slug}",
            field="application",
        )
    if verdict in ("decline", "withdraw") and not comment.strip():
        raise InvalidInputError(
            f"a community's {'refusal' if verdict == 'decline' else 'withdrawal'} needs a reason",
            field="comment",
        )
    # approve/decline decide a pending request; withdraw ends an approval the community gave
    state, before = {"approve": ("approved", "pending"), "decline": ("declined", "pending"),
                     "withdraw": ("withdrawn", "approved")}[verdict]  # fmt: skip
    result = session.execute(
        update(CommunityDecision)
        .where(CommunityDecision.id == row.id, CommunityDecision.state == before)
        .values(state=state, decided_by=member.username, decided_at=at, comment=comment)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(row)
        if verdict == "withdraw":
            raise ConflictError(
                f"community {community.slug} has not approved application {app.id} "
                f"(its decision is {row.state}): only an approval can be withdrawn",
                details={"state": row.state},
            )
        raise ConflictError(
            f"community {community.slug} has already decided application {app.id}: {row.state}",
            details={"state": row.state},
        )
    if verdict == "withdraw":
        revoke_visas(
            session,
            session.scalars(
                select(IssuedVisa).where(
                    IssuedVisa.application_id == app.id,
                    IssuedVisa.type == COMMUNITY_APPROVAL,
                    IssuedVisa.value == community.slug,
                )
            ),
            at=at,
            reason=f"community {community.slug} withdrew its approval of application {app.id}: "
            f"{comment}",
        )
    session.refresh(row)
    app.events.append(
        ApplicationEvent(
            at=at, actor=member.username, action=f"community_{verdict}", from_state=app.state,
            to_state=app.state, comment=comment, data={"community": community.slug},
        )
    )  # fmt: skip
    session.flush()
    return row


def grant_community_visas(
    session: Session, app: Application, *, dac_source: str, at: datetime
) -> list[IssuedVisa]:
    """A CommunityApproval visa per approving community, once the application is approved
    too (called after either decision; adds only the missing ones)."""
    if app.state != "approved" or app.approved_until is None:
        return []
    have = set(
        session.scalars(
            select(IssuedVisa.value).where(
                IssuedVisa.application_id == app.id, IssuedVisa.type == COMMUNITY_APPROVAL
            )
        )
    )
    rows = [
        IssuedVisa(
            jti=f"v-{uuid.uuid4()}", account_id=app.applicant_id, application_id=app.id,
            type=COMMUNITY_APPROVAL, value=d.community, source=dac_source, by="dac",
            asserted=at, expires_at=app.approved_until,
        )
        for d in decisions(session, app)
        if d.state == "approved" and d.community not in have
    ]  # fmt: skip
    session.add_all(rows)
    session.flush()
    return rows


def decisions_view(session: Session, app: Application) -> list[dict[str, Any]]:
    return [
        {
            "community": d.community,
            "state": d.state,
            "decided_by": d.decided_by,
            "decided_at": d.decided_at.isoformat() if d.decided_at else None,
            "comment": d.comment,
        }
        for d in decisions(session, app)
    ]


__all__ = [
    "LABELS",
    "CommunityVerdict",
    "add_governor",
    "check_labels",
    "create_community",
    "data_of",
    "decide",
    "decisions",
    "decisions_view",
    "get_community",
    "governors",
    "grant_community_visas",
    "is_governor",
    "label_view",
    "mark_data",
    "open_decisions",
]
