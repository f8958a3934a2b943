"""The code-of-conduct operations of the DAC: proportionate review, the public data-use
register, and community data sovereignty (each in its own transaction, like `DacService`).

`route_submitted` runs in the submission's transaction (DacService calls it after every
submit, including renewals); `Governance` holds the rest, on the DacService's database,
clock and visa source.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from genomesh.core.errors import AccessDeniedError, NotFoundError
from genomesh.core.purpose import ResearchPurpose
from genomesh.hub.dac import accounts as acc
from genomesh.hub.dac import applications as apps
from genomesh.hub.dac import communities as comm
from genomesh.hub.dac import grants
from genomesh.hub.dac import register as reg
from genomesh.hub.dac.datasets import DatasetRef, find_dataset, resolve_dataset
from genomesh.hub.dac.db import Clock
from genomesh.hub.dac.models import Application, Community, Dataset
from genomesh.hub.dac.review import route

if TYPE_CHECKING:
    from genomesh.hub.dac.service import DacService


def route_submitted(session: Session, app: Application, *, clock: Clock, dac_source: str) -> None:
    """Open community decisions, record the review route and why; approve automatically
    (actor "system", visas granted) when every dataset's policy allows it."""
    now = clock()
    touched = comm.open_decisions(session, app, at=now)
    datasets = apps.application_datasets(session, app)
    governed = {d.dataset_url for d in comm.data_of(session, [d.url for d in datasets])}
    decision = route(
        datasets,
        purpose=ResearchPurpose.model_validate(app.purpose),
        applicant=app.applicant,
        precheck=app.precheck or {},
        governed=governed,
    )
    app.review_route = decision.route
    app.review_reasons = list(decision.reasons)
    data: dict[str, Any] = {"route": decision.route, "reasons": list(decision.reasons)}
    if touched:
        data["communities"] = touched
    if decision.route == "committee":
        # recorded on the submission itself: the history stays one event per step
        submitted = app.events[-1]
        submitted.data = {**(submitted.data or {}), **data}
        session.flush()
        return
    until = now + timedelta(days=decision.days)
    apps.record_event(
        session, app, allowed=apps.DECIDABLE, why="only submitted ones are decided",
        values={"approved_until": until}, actor="system", action="auto_approve",
        to_state="approved", at=now,
        comment="approved automatically under the datasets' review policy: "
        + "; ".join(decision.reasons),
        data={**data, "until": until.isoformat()},
    )  # fmt: skip
    grants.grant_visas(session, app, dac_source=dac_source, at=now)
    session.flush()


class Governance:
    """Register, publications and communities on one DacService's database."""

    def __init__(self, service: DacService) -> None:
        self.service = service
        self.database = service.database

    # -- public data-use register --------------------------------------------------
    def _dataset(self, session: Session, node: str, dataset_id: str) -> Dataset:
        ref = DatasetRef(node=node, dataset_id=dataset_id)
        row = find_dataset(session, ref)
        if row is None:
            row = resolve_dataset(session, ref, catalogue=self.service.catalogue)
        return row

    def register(self, node: str, dataset_id: str) -> dict[str, Any]:
        """The public register of one dataset (no login; writes nothing: a dataset the DAC
        has not recorded yet but the catalogue lists has an empty register)."""
        self.service._refresh_expiry()
        with self.database.transaction() as session:
            ref = DatasetRef(node=node, dataset_id=dataset_id)
            dataset = find_dataset(session, ref)
            if dataset is None:
                entry = self.service.catalogue.lookup(ref) if self.service.catalogue else None
                if entry is None:
                    raise NotFoundError(f"unknown dataset {node}/{dataset_id}", field="dataset")
                return {
                    "dataset": entry.url, "node": node, "dataset_id": dataset_id,
                    "name": entry.name, "consent": [t.model_dump(mode="json") for t in entry.duo],
                    "count": 0, "projects": [], "communities": [],
                }  # fmt: skip
            out = reg.register(session, dataset)
            out["communities"] = self._communities_of(session, dataset)
            return out

    def catalogue_extras(self) -> dict[tuple[str, str], dict[str, Any]]:
        """What the catalogue shows from the DAC, per (node, dataset id): register link and
        count, communities with their labels, review route (a few queries for all)."""
        with self.database.transaction() as session:
            counts = reg.approved_counts(session)
            marks: dict[str, list[dict[str, Any]]] = {}
            names = {c.slug: c.name for c in session.scalars(select(Community))}
            for data in session.scalars(select(comm.CommunityData).order_by(comm.CommunityData.id)):
                marks.setdefault(data.dataset_url, []).append(
                    {"community": data.community, "name": names.get(data.community, data.community),
                     "group": data.group or None, "labels": comm.label_view(data.labels or [])}
                )  # fmt: skip
            out = {}
            for dataset in session.scalars(select(Dataset)):
                node, dataset_id = dataset.node, dataset.dataset_id
                out[(node, dataset_id)] = {
                    "dataUseRegister": {
                        "url": f"/dac/data-use-register/{node}/{dataset_id}",
                        "approvedProjects": counts.get(dataset.url, 0),
                    },
                    "communities": marks.get(dataset.url, []),
                    "review": "automatic for some applications"
                    if (dataset.review_policy or {}).get("automatic")
                    else "committee",
                }
            return out

    def report_publication(
        self, username: str, application_id: int, body: reg.PublicationIn
    ) -> dict[str, Any]:
        with self.database.transaction() as session:
            account = acc.get_account(session, username)
            app = apps.get_application(session, application_id)
            apps.require_view(session, app, account)
            item = reg.report_publication(app, account.id, body, at=self.service.clock())
            app.events.append(
                apps.ApplicationEvent(
                    at=self.service.clock(), actor=username, action="publication",
                    from_state=app.state, to_state=app.state, comment=body.title, data=item,
                )
            )  # fmt: skip
            return item

    # -- communities ---------------------------------------------------------------
    def _communities_of(self, session: Session, dataset: Dataset) -> list[dict[str, Any]]:
        out = []
        for data in comm.data_of(session, [dataset.url]):
            community = session.get(Community, data.community)
            out.append(
                {
                    "community": data.community,
                    "name": community.name if community else data.community,
                    "group": data.group or None,
                    "labels": comm.label_view(data.labels or []),
                }
            )
        return out

    def create_community(self, actor: str, **fields: Any) -> dict[str, Any]:
        with self.database.transaction() as session:
            acc.require_admin(acc.get_account(session, actor))
            slug = fields.pop("slug")
            row = comm.create_community(session, slug, at=self.service.clock(), **fields)
            return self._community_view(session, row)

    def _community_view(self, session: Session, row: Community) -> dict[str, Any]:
        data = session.scalars(
            select(comm.CommunityData).where(comm.CommunityData.community == row.slug)
        ).all()
        return {
            "slug": row.slug,
            "name": row.name,
            "governance_body": row.governance_body,
            "contact": row.contact,
            "members": comm.governors(session, row.slug),
            "data": [
                {
                    "dataset": d.dataset_url,
                    "group": d.group or None,
                    "labels": comm.label_view(d.labels),
                }
                for d in data
            ],
        }

    def community(self, slug: str) -> dict[str, Any]:
        with self.database.transaction() as session:
            return self._community_view(session, comm.get_community(session, slug))

    def communities(self) -> list[dict[str, Any]]:
        with self.database.transaction() as session:
            rows = session.scalars(select(Community).order_by(Community.slug)).all()
            return [self._community_view(session, r) for r in rows]

    def add_governor(self, actor: str, slug: str, username: str) -> dict[str, Any]:
        with self.database.transaction() as session:
            acc.require_admin(acc.get_account(session, actor))
            community = comm.get_community(session, slug)
            comm.add_governor(session, community, acc.get_account(session, username))
            return self._community_view(session, community)

    def mark_data(
        self, actor: str, slug: str, dataset: DatasetRef, *, group: str, labels: list[str]
    ) -> dict[str, Any]:
        with self.database.transaction() as session:
            acc.require_admin(acc.get_account(session, actor))
            community = comm.get_community(session, slug)
            row = resolve_dataset(session, dataset, catalogue=self.service.catalogue)
            comm.mark_data(session, community, row, group=group, labels=labels)
            return self._community_view(session, community)

    def community_applications(self, username: str, slug: str) -> list[dict[str, Any]]:
        """Applications touching the community's data, for its governance body."""
        with self.database.transaction() as session:
            account = acc.get_account(session, username)
            community = comm.get_community(session, slug)
            self._require_governor(session, community, account)
            rows = session.scalars(
                select(Application)
                .join(
                    comm.CommunityDecision, comm.CommunityDecision.application_id == Application.id
                )
                .where(comm.CommunityDecision.community == slug)
                .order_by(Application.id)
            ).all()
            return [self._for_community(session, app, slug) for app in rows]

    def _require_governor(self, session: Session, community: Community, account: Any) -> None:
        if account.role != "admin" and not comm.is_governor(session, community.slug, account):
            raise AccessDeniedError(
                f"{account.username} is not on the governance body of community {community.slug}"
            )

    def _for_community(self, session: Session, app: Application, slug: str) -> dict[str, Any]:
        mine = next(d for d in comm.decisions(session, app) if d.community == slug)
        return {
            **reg.entry(app),
            "applicant": app.applicant.username,
            "applicant_subject": app.applicant.subject,
            "committee_state": app.state,
            "datasets": [link.dataset_url for link in app.datasets],
            "purpose_detail": dict(app.purpose or {}),
            "community_decision": {
                "state": mine.state,
                "decided_by": mine.decided_by,
                "decided_at": mine.decided_at.isoformat() if mine.decided_at else None,
                "comment": mine.comment,
            },
        }

    def community_decide(
        self, username: str, slug: str, application_id: int, verdict: comm.CommunityVerdict,
        *, comment: str,
    ) -> dict[str, Any]:  # fmt: skip
        """A governance-body member decides for the community; visas follow if the committee
        has approved too."""
        with self.database.transaction() as session:
            member = acc.get_account(session, username)
            community = comm.get_community(session, slug)
            app = apps.get_application(session, application_id)
            now = self.service.clock()
            comm.decide(session, app, community, member, verdict, comment=comment, at=now)
            comm.grant_community_visas(session, app, dac_source=self.service.dac_source, at=now)
            return self._for_community(session, app, slug)

    def community_report(self, username: str, slug: str) -> dict[str, Any]:
        """Every project that touched the community's data: who, what, when, publications."""
        applications = self.community_applications(username, slug)
        with self.database.transaction() as session:
            community = comm.get_community(session, slug)
            view = self._community_view(session, community)
        used = [a for a in applications if a["approved_at"] is not None]
        return {
            "community": view,
            "applications": applications,
            "projects_with_access": len(
                [a for a in used if a["community_decision"]["state"] == "approved"]
            ),
            "publications": [
                {**p, "application": a["application"]} for a in used for p in a["publications"]
            ],
        }

    def community_nodes(self, slug: str) -> list[str]:
        """The nodes holding data of the community."""
        with self.database.transaction() as session:
            comm.get_community(session, slug)
            rows = session.scalars(
                select(Dataset.node)
                .join(comm.CommunityData, comm.CommunityData.dataset_url == Dataset.url)
                .where(comm.CommunityData.community == slug)
            )
            return sorted(set(rows))

    async def node_usage(self, state: Any, slug: str) -> list[dict[str, Any]]:
        """Each node's report of the answers that used the community's data (hub-signed
        request; a node that cannot be asked is listed with the reason)."""
        from genomesh.hub.client import NodeRequest
        from genomesh.hub.signing import sign_message

        store, client, dialout = (getattr(state, k, None) for k in ("store", "client", "dialout"))
        out: list[dict[str, Any]] = []
        for name in self.community_nodes(slug):
            if store is None or client is None or dialout is None:
                out.append(
                    {"node": name, "status": "error", "reason": "no node client at this hub"}
                )
                continue
            try:
                node = store.node(name)
            except NotFoundError as exc:
                out.append({"node": name, "status": "error", "reason": exc.message})
                continue
            message = sign_message(
                {"type": "community-report", "community": slug}, dialout.key, iss="hub", aud=name
            )
            reply = await client.send(
                node, NodeRequest("POST", "/communities/report", body=message),
                timeout=self.service.settings.node_timeout_seconds,
            )  # fmt: skip
            if reply.status == "ok":
                out.append({"node": name, "status": "ok", **dict(reply.body)})
            else:
                out.append({"node": name, "status": reply.status, "reason": reply.reason})
        return out

    def require_dataset(self, node: str, dataset_id: str) -> Dataset:
        with self.database.transaction() as session:
            row = find_dataset(session, DatasetRef(node=node, dataset_id=dataset_id))
            if row is None:
                raise NotFoundError(f"unknown dataset {node}/{dataset_id}", field="dataset")
            return row


def enrich_catalogue(state: Any, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Catalogue entries with what the DAC knows of each dataset: its data-use register
    (link and number of approved projects), its communities with their Biocultural Labels and
    Notices, and its review route. Unchanged when the hub runs without a DAC."""
    service = getattr(state, "dac", None)
    if service is None or not entries:
        return entries
    extras = Governance(service).catalogue_extras()
    return [{**e, **extras.get((e.get("node"), e.get("datasetId")), {})} for e in entries]  # type: ignore[arg-type]


__all__ = ["Governance", "enrich_catalogue", "route_submitted"]
