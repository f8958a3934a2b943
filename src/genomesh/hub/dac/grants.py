"""What an approval grants: visa records, the signed passport, and the SQL revocation list.

On approval the DAC records, for the applicant, one ControlledAccessGrants visa per dataset
(value = the dataset URL), the approved purpose as a `genomesh.ResearchPurpose` visa,
ResearcherStatus, AffiliationAndRole and AcceptedTermsAndPolicies, all ending with the
approval. Visas are *signed when a passport is requested* (with the current key, same `jti`
and times each time), so key rotation never strands a granted visa.

Revocation marks the records and puts their `jti`s in `SqlRevocationList`, which the hub's
broker publishes; nodes refuse a revoked visa once they refresh the list (the bound is the
node's refresh interval, see docs/dac-guide.md), and the hub stops including it at once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from genomesh.access.visas import (
    ACCEPTED_TERMS_AND_POLICIES,
    AFFILIATION_AND_ROLE,
    CONTROLLED_ACCESS_GRANTS,
    NO_ORGANIZATION,
    REGISTERED_ACCESS,
    RESEARCH_PURPOSE,
    RESEARCHER_STATUS,
)
from genomesh.core.errors import ConflictError
from genomesh.core.purpose import ResearchPurpose
from genomesh.core.settings import HubSettings
from genomesh.hub.dac.changes import COUNTER as REVOCATIONS
from genomesh.hub.dac.db import Clock, Database, open_engine, utcnow
from genomesh.hub.dac.models import Account, Application, IssuedVisa, RevokedJti
from genomesh.hub.shared import read_version


def affiliation_value(account: Account) -> str:
    """`role@affiliation` for an AffiliationAndRole visa."""
    institution = account.institution.strip().replace(" ", "-") or "no.organization"
    return f"{account.affiliation_role or 'member'}@{institution}"


def grant_visas(
    session: Session, app: Application, *, dac_source: str, at: datetime
) -> list[IssuedVisa]:
    """Record the visas an approval grants (ending with the approval); once per application.

    Called in the approval's transaction, after its compare-and-set, so a second approval
    can never reach here; the check below guards against a caller that forgot the CAS.
    """
    if app.state != "approved" or app.approved_until is None:
        raise ConflictError(f"application {app.id} is {app.state}; only an approval grants visas")
    if session.scalar(select(IssuedVisa.jti).where(IssuedVisa.application_id == app.id).limit(1)):
        raise ConflictError(f"application {app.id} already has its visas")
    applicant = app.applicant
    terms = {link.dataset.terms_url for link in app.datasets if link.dataset.terms_url}
    purpose = ResearchPurpose.model_validate(app.purpose)
    specs: list[tuple[str, str, str]] = [
        (CONTROLLED_ACCESS_GRANTS, link.dataset_url, "dac") for link in app.datasets
    ]
    specs.append((RESEARCH_PURPOSE, purpose.model_dump_json(exclude_defaults=False), "dac"))
    specs.append((RESEARCHER_STATUS, REGISTERED_ACCESS, "dac"))
    specs.append((AFFILIATION_AND_ROLE, affiliation_value(applicant), "system"))
    for url in sorted(terms | {REGISTERED_ACCESS}):
        specs.append((ACCEPTED_TERMS_AND_POLICIES, url, "self"))
    rows = [
        IssuedVisa(
            jti=f"v-{uuid.uuid4()}",
            account_id=applicant.id,
            application_id=app.id,
            type=vtype,
            value=value,
            source=dac_source,
            by=by,
            asserted=at,
            expires_at=app.approved_until,
        )
        for vtype, value, by in specs
    ]
    session.add_all(rows)
    session.flush()
    return rows


def registered_access_visas(
    session: Session, account: Account, *, dac_source: str, at: datetime, until: datetime
) -> list[IssuedVisa]:
    """ResearcherStatus (vouched by a hub admin) and AcceptedTermsAndPolicies (accepted by the
    researcher): the two visas of GA4GH Registered Access, not tied to any application."""
    if account.accepted_terms_at is None:
        raise ConflictError(
            f"{account.username} has not accepted the Registered Access terms", field="username"
        )
    specs = [
        (RESEARCHER_STATUS, REGISTERED_ACCESS, "so", at),
        (ACCEPTED_TERMS_AND_POLICIES, REGISTERED_ACCESS, "self", account.accepted_terms_at),
    ]
    rows = [
        IssuedVisa(
            jti=f"v-{uuid.uuid4()}", account_id=account.id, application_id=None, type=vtype,
            value=value, source=dac_source, by=by, asserted=asserted, expires_at=until,
        )
        for vtype, value, by, asserted in specs
    ]  # fmt: skip
    session.add_all(rows)
    session.flush()
    return rows


def revoke_visas(
    session: Session, visas: Iterable[IssuedVisa], *, at: datetime, reason: str
) -> list[str]:
    """Mark visas revoked and add their jtis to the revocation list; returns the jtis."""
    jtis = []
    for visa in visas:
        if visa.revoked_at is None:
            visa.revoked_at = at
        if session.get(RevokedJti, visa.jti) is None:
            session.add(
                RevokedJti(jti=visa.jti, revoked_at=at, expires_at=visa.expires_at, reason=reason)
            )
        jtis.append(visa.jti)
    session.flush()
    return jtis


def application_visas(session: Session, app: Application) -> list[IssuedVisa]:
    """Every visa granted by this application."""
    return list(
        session.scalars(
            select(IssuedVisa).where(IssuedVisa.application_id == app.id).order_by(IssuedVisa.jti)
        )
    )


def current_visas(
    session: Session, account: Account, *, now: datetime, application_id: int | None = None
) -> list[IssuedVisa]:
    """The account's visas that are neither expired nor revoked (optionally of one application).

    A visa granted by an application counts only while that application is approved now:
    whatever a rejected, revoked or expired application once recorded never reaches a passport.
    """
    query = (
        select(IssuedVisa)
        .outerjoin(Application, IssuedVisa.application_id == Application.id)
        .where(
            IssuedVisa.account_id == account.id,
            IssuedVisa.revoked_at.is_(None),
            IssuedVisa.expires_at > now,
            IssuedVisa.application_id.is_(None)
            | ((Application.state == "approved") & (Application.approved_until > now)),
        )
    )
    if application_id is not None:  # that application's visas plus the account-level ones
        query = query.where(
            (IssuedVisa.application_id == application_id) | IssuedVisa.application_id.is_(None)
        )
    rows = list(session.scalars(query.order_by(IssuedVisa.asserted, IssuedVisa.jti)))
    # One visa per (type, value) except grants and purposes: keep the one lasting longest.
    best: dict[tuple[str, str], IssuedVisa] = {}
    for row in rows:
        key = (row.type, row.value)
        if key not in best or row.expires_at > best[key].expires_at:
            best[key] = row
    return sorted(best.values(), key=lambda r: (r.asserted, r.jti))


def check_single_purpose(visas: Iterable[IssuedVisa]) -> None:
    """A passport carries at most one research purpose, else the node could not know which."""
    purposes = {
        json.dumps(json.loads(v.value), sort_keys=True) for v in visas if v.type == RESEARCH_PURPOSE
    }
    if len(purposes) > 1:
        raise ConflictError(
            "you hold approvals for more than one research purpose; ask for the passport of "
            "one application (`?application=ID`, CLI `--application ID`)",
            field="application",
        )


def visa_claims(visa: IssuedVisa) -> dict[str, Any]:
    """The `ga4gh_visa_v1` object of a visa record."""
    return {
        "type": visa.type,
        "asserted": int(visa.asserted.timestamp()),
        "value": visa.value,
        "source": visa.source,
        "by": visa.by,
    }


def sign_passport(
    issuer: Any,
    subject: str,
    visas: Sequence[IssuedVisa],
    *,
    now: datetime,
    lifetime: int,
    audience: str | Sequence[str],
) -> str:
    """Sign each visa record (same jti and times as recorded) and the passport carrying them.

    `issuer` is a genomesh.access.issuer.VisaIssuer on the hub's keys.
    """
    now_s = int(now.timestamp())
    signed = [
        issuer.visa(
            subject,
            type=v.type,
            value=v.value,
            source=v.source,
            by=v.by,
            asserted=v.asserted,
            expires=int(v.expires_at.timestamp()),
            jti=v.jti,
            now=now_s,
        )
        for v in visas
    ]
    return str(issuer.passport(subject, signed, audience=audience, lifetime=lifetime, now=now_s))


def _withdrawn(session: Session, *, now: datetime, jti: str | None = None) -> set[str]:
    """jtis of unexpired visas whose application is not approved now."""
    query = (
        select(IssuedVisa.jti)
        .join(Application, IssuedVisa.application_id == Application.id)
        .where(IssuedVisa.expires_at > now, Application.state != "approved")
    )
    if jti is not None:
        query = query.where(IssuedVisa.jti == jti)
    return set(session.scalars(query))


class SqlRevocationList:
    """The revocation list in the hub database (implements genomesh.access.revocation.RevocationList).

    `is_revoked(jti)` and `revoked()` are what the broker publishes for nodes; `revoke()`
    adds an id. Entries whose visa has expired are left out of `revoked()` (an expired visa
    is refused anyway), which keeps the published list short.
    """

    def __init__(self, database: Database, *, clock: Clock = utcnow) -> None:
        self.database = database
        self.clock = clock
        # (change counter, valid until, the list): rebuilt when any worker changed what it
        # depends on (genomesh.hub.dac.changes) or when one of its entries expires
        self._cache: tuple[int, datetime | None, frozenset[str]] | None = None
        self.rebuilds = 0  # how often the list was read from its tables, for tests

    @classmethod
    def from_settings(cls, settings: HubSettings) -> SqlRevocationList:
        """The list in the hub database of `settings` (for BrokerState(revocations=...))."""
        return cls(Database(open_engine(settings.state_database_url)))

    def revoke(self, jti: str, *, expires: int | None = None, reason: str = "") -> None:
        """Revoke `jti`; with `expires` (epoch seconds) it leaves the list after then."""
        expires_at = datetime.fromtimestamp(expires, UTC) if expires is not None else None
        try:
            with self.database.transaction() as session:
                if session.get(RevokedJti, jti) is None:
                    session.add(
                        RevokedJti(
                            jti=jti, revoked_at=self.clock(), expires_at=expires_at, reason=reason
                        )
                    )
        except IntegrityError:  # revoked by a concurrent call between our look and our insert
            if not self.is_revoked(jti):
                raise

    def is_revoked(self, jti: str) -> bool:
        with self.database.transaction() as session:
            if session.get(RevokedJti, jti) is not None:
                return True
            return jti in _withdrawn(session, now=self.clock(), jti=jti)

    def revoked(self) -> AbstractSet[str]:
        """The revoked jtis whose visa has not yet expired (what nodes poll), with the unexpired
        visas of applications that are not approved now (none unless a decision race left
        some, before transitions were compare-and-set): a passport that carries them is
        refused by nodes, and the hub leaves them out of the per-node passports it derives.

        Every hub request that carries a passport asks for this list; it is read from its
        tables only when the `revocations` counter moved (one primary-key read otherwise),
        so a revocation in any worker counts at the next request in every worker."""
        now = self.clock()
        with self.database.engine.connect() as conn:
            version = read_version(conn, REVOCATIONS)
        cached = self._cache
        if cached is not None and cached[0] == version and (cached[1] is None or now < cached[1]):
            return cached[2]
        with self.database.transaction() as session:
            listed = session.execute(select(RevokedJti.jti, RevokedJti.expires_at)).all()
            withdrawn = session.execute(
                select(IssuedVisa.jti, IssuedVisa.expires_at)
                .join(Application, IssuedVisa.application_id == Application.id)
                .where(IssuedVisa.expires_at > now, Application.state != "approved")
            ).all()
        live = [(j, e) for j, e in (*listed, *withdrawn) if e is None or e > now]
        ends = [e for _, e in live if e is not None]
        out = frozenset(j for j, _ in live)
        self._cache = (version, min(ends) if ends else None, out)
        self.rebuilds += 1
        return out

    def __contains__(self, jti: object) -> bool:
        return isinstance(jti, str) and self.is_revoked(jti)


__all__ = [
    "NO_ORGANIZATION",
    "SqlRevocationList",
    "affiliation_value",
    "application_visas",
    "check_single_purpose",
    "current_visas",
    "grant_visas",
    "registered_access_visas",
    "revoke_visas",
    "sign_passport",
    "visa_claims",
]
