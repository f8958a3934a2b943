"""HTTP API of the DAC's code-of-conduct parts (included in `genomesh.hub.dac.routes.router`).

GET  /dac/data-use-register/{node}/{dataset_id} public data-use register of a dataset
POST /dac/applications/{id}/publications        applicant reports a publication
POST /dac/findings                              researcher flags a finding (-> node)
GET  /dac/communities                           registered communities (public)
POST /dac/communities                           hub admin registers a community
GET  /dac/communities/{slug}                    one community, its body and its data
POST /dac/communities/{slug}/members            hub admin adds a governance-body member
POST /dac/communities/{slug}/data               hub admin marks a dataset/group + labels
GET  /dac/communities/{slug}/applications       governance body: applications touching it
POST /dac/communities/{slug}/applications/{id}/decision   approve / decline / withdraw for the community
GET  /dac/communities/{slug}/report             governance body: who used what, when, publications
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from genomesh.hub.dac.datasets import DatasetRef
from genomesh.hub.dac.findings import FindingIn, forward, update
from genomesh.hub.dac.governance import Governance
from genomesh.hub.dac.register import PublicationIn
from genomesh.hub.dac.service import DacService

P = "/dac"
router = APIRouter(tags=["dac"])
MAX_ID = 2**63 - 1
AppId = Annotated[int, Path(ge=1, le=MAX_ID, description="application id")]
Slug = Annotated[str, Path(min_length=2, max_length=63, description="community id")]


def _get_service(request: Request) -> DacService:
    from genomesh.hub.dac.routes import get_service

    return get_service(request)


def _user(request: Request, service: Annotated[DacService, Depends(_get_service)]) -> str:
    from genomesh.hub.dac.routes import bearer

    return service.authenticate(bearer(request.headers.get("authorization")))


def governance(service: Annotated[DacService, Depends(_get_service)]) -> Governance:
    return Governance(service)


Gov = Annotated[Governance, Depends(governance)]
User = Annotated[str, Depends(_user)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CommunityIn(_In):
    slug: str = Field(min_length=2, max_length=63, description="lower-case id, e.g. ngati-example")
    name: str = Field(min_length=1, max_length=200)
    governance_body: str = Field(default="", max_length=200)
    contact: str = Field(default="", max_length=200)


class GovernorIn(_In):
    username: str = Field(max_length=63)


class CommunityDataIn(_In):
    dataset: DatasetRef
    group: str = Field(
        default="", max_length=128, description="participant group at the node; empty = all"
    )
    labels: list[str] = Field(default_factory=list, max_length=20)


class CommunityDecisionIn(_In):
    decision: Literal["approve", "decline", "withdraw"] = Field(
        description="approve or decline a pending request; withdraw an approval given (a "
        "reason is needed to decline or withdraw)"
    )
    comment: str = Field(default="", max_length=10_000)


@router.get(P + "/data-use-register/{node}/{dataset_id}")
def data_use_register(node: str, dataset_id: str, gov: Gov) -> dict[str, Any]:
    """The projects approved to use this dataset: lay summary, institution, purpose (DUO),
    dates, review route and publications (public, no login)."""
    return gov.register(node, dataset_id)


@router.post(P + "/applications/{application_id}/publications", status_code=201)
def report_publication(
    application_id: AppId, body: PublicationIn, gov: Gov, user: User
) -> dict[str, Any]:
    """The applicant reports a publication from an approved project (shown in the register)."""
    return gov.report_publication(user, application_id, body)


@router.post(P + "/findings", status_code=202)
async def flag_finding(
    body: FindingIn, request: Request, service: Annotated[DacService, Depends(_get_service)],
    user: User,
) -> dict[str, Any]:  # fmt: skip
    """Flag a finding about a participant: checked against your approval, then sent to the
    custodian's node only, which queues it for review (or refuses it, with the reason)."""
    return await forward(request.app.state, service, user, body)


FindingNo = Annotated[int, Path(ge=1, le=MAX_ID, description="the node's finding id")]


class ConfirmationIn(_In):
    evidence: str = Field(min_length=1, max_length=5_000, description="how it was confirmed")


@router.get(P + "/findings/{node}/{finding_id}")
async def finding_status(
    node: str, finding_id: FindingNo, request: Request,
    service: Annotated[DacService, Depends(_get_service)], user: User,
) -> dict[str, Any]:  # fmt: skip
    """The state of a finding you flagged, with the custodian's comments (asked of the node)."""
    return await update(request.app.state, service, user, node, finding_id)


@router.post(P + "/findings/{node}/{finding_id}/confirmation")
async def finding_confirmation(
    node: str, finding_id: FindingNo, body: ConfirmationIn, request: Request,
    service: Annotated[DacService, Depends(_get_service)], user: User,
) -> dict[str, Any]:  # fmt: skip
    """Send the confirmation the custodian asked for: the finding goes back to their queue."""
    return await update(request.app.state, service, user, node, finding_id, evidence=body.evidence)


@router.get(P + "/communities")
def list_communities(gov: Gov) -> list[dict[str, Any]]:
    return gov.communities()


@router.post(P + "/communities", status_code=201)
def create_community(body: CommunityIn, gov: Gov, user: User) -> dict[str, Any]:
    """Hub admin: register a community and its governance body."""
    return gov.create_community(user, **body.model_dump())


@router.get(P + "/communities/{slug}")
def show_community(slug: Slug, gov: Gov) -> dict[str, Any]:
    return gov.community(slug)


@router.post(P + "/communities/{slug}/members")
def add_governor(slug: Slug, body: GovernorIn, gov: Gov, user: User) -> dict[str, Any]:
    """Hub admin: add an account to the community's governance body."""
    return gov.add_governor(user, slug, body.username)


@router.post(P + "/communities/{slug}/data")
def mark_data(slug: Slug, body: CommunityDataIn, gov: Gov, user: User) -> dict[str, Any]:
    """Hub admin: mark a dataset (or a participant group of it) as the community's, with its
    Biocultural Labels and Notices."""
    return gov.mark_data(user, slug, body.dataset, group=body.group, labels=body.labels)


@router.get(P + "/communities/{slug}/applications")
def community_applications(slug: Slug, gov: Gov, user: User) -> list[dict[str, Any]]:
    return gov.community_applications(user, slug)


@router.post(P + "/communities/{slug}/applications/{application_id}/decision")
def community_decision(
    slug: Slug, application_id: AppId, body: CommunityDecisionIn, gov: Gov, user: User
) -> dict[str, Any]:
    """A governance-body member approves or declines (with a reason) for the community."""
    return gov.community_decide(user, slug, application_id, body.decision, comment=body.comment)


@router.get(P + "/communities/{slug}/report")
async def community_report(slug: Slug, request: Request, gov: Gov, user: User) -> dict[str, Any]:
    """Every project that touched the community's data (who, what, when, publications), and
    every answer the nodes gave from it, per recipient (`nodes`; each application lists the
    answers its applicant received as `results`)."""
    report = gov.community_report(user, slug)  # checks the caller sits on the governance body
    nodes = await gov.node_usage(request.app.state, slug)
    report["nodes"] = nodes
    for application in report["applications"]:
        application["results"] = [
            {"node": n["node"], "dataset_id": g["dataset_id"], "group": g["group"], **r}
            for n in nodes
            for g in n.get("groups", [])
            for r in g["results"]
            if r["recipient"] == application["applicant_subject"]
        ]
    return report


__all__ = ["router"]
