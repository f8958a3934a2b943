"""`DacService`: the DAC's operations in one place, each in its own database transaction.

Routes and the local CLI (`genomesh dac create-admin`) call this; it holds the database, the
clock (injectable, so tests can approve "in the past" to prove expiry), the hub's signing keys
(genomesh.access.keys.KeyStore) and the catalogue through which unknown datasets are found.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Engine, select

from genomesh.core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from genomesh.core.settings import HubSettings
from genomesh.hub.dac import accounts as acc
from genomesh.hub.dac import applications as apps
from genomesh.hub.dac import communities, grants
from genomesh.hub.dac import notifications as notes
from genomesh.hub.dac.datasets import (
    CatalogueEntry,
    DatasetCatalogue,
    DatasetRef,
    dataset_url,
    resolve_dataset,
    upsert_dataset,
)
from genomesh.hub.dac.db import Clock, Database, open_engine, utcnow
from genomesh.hub.dac.models import Account, Dataset
from genomesh.hub.dac.schemas import (
    AccountOut,
    ApplicationEdit,
    ApplicationIn,
    ApplicationOut,
    DatasetIn,
    DatasetOut,
    NotificationOut,
    PassportOut,
    TokenOut,
    check_purpose,
)

DEFAULT_SESSION_TTL = timedelta(hours=12)


def end_of(until: datetime | date) -> datetime:
    """An approval end as an aware UTC datetime (a date means the end of that day)."""
    if isinstance(until, datetime):
        if until.tzinfo is None:
            raise InvalidInputError("`until` needs a time zone (e.g. Z)", field="until")
        return until.astimezone(UTC)
    return datetime.combine(until, time(23, 59, 59), tzinfo=UTC)


class DacService:
    """The data access committee of one hub."""

    def __init__(
        self,
        settings: HubSettings,
        *,
        engine: Engine | None = None,
        keys: Any = None,
        catalogue: DatasetCatalogue | None = None,
        node_keys: notes.NodeKeyLookup | None = None,
        clock: Clock = utcnow,
        session_ttl: timedelta = DEFAULT_SESSION_TTL,
        password_hasher: PasswordHasher | None = None,
    ) -> None:
        self.settings = settings
        self.database = Database(engine or open_engine(settings.state_database_url))
        self._keys = keys
        self.catalogue = catalogue
        self.node_keys = node_keys
        self.clock: Clock = clock
        self.session_ttl = session_ttl
        self.hasher = password_hasher or acc.DEFAULT_HASHER
        self.revocations = grants.SqlRevocationList(self.database, clock=self._now)
        if settings.admin_password:
            self.ensure_admin("admin", settings.admin_password)

    def _now(self) -> datetime:
        return self.clock()

    # -- keys and signing ------------------------------------------------------------
    @property
    def keys(self) -> Any:
        """The hub's KeyStore (HUB_DIR/keys unless one was given)."""
        if self._keys is None:
            from genomesh.access.keys import KeyStore

            self._keys = KeyStore.open(Path(self.settings.hub_dir) / "keys")
        return self._keys

    @property
    def dac_source(self) -> str:
        """The `source` of the visas this DAC asserts."""
        return f"{self.settings.base_url.rstrip('/')}/dac"

    # -- accounts --------------------------------------------------------------------
    def ensure_admin(self, username: str, password: str) -> AccountOut:
        """Create the hub admin if missing (strong password required); idempotent."""
        with self.database.transaction() as session:
            existing = session.scalar(select(Account).where(Account.username == username))
            if existing is not None:
                if existing.role != "admin":
                    raise InvalidInputError(
                        f"{username!r} exists and is not an admin", field="username"
                    )
                return AccountOut.of(existing)
            account = acc.create_account(
                session, username, password, clock=self.clock, role="admin", hasher=self.hasher
            )
            return AccountOut.of(account)

    def register(self, *, accept_terms: bool = False, **fields: Any) -> AccountOut:
        """A researcher account; `accept_terms` records acceptance of Registered Access terms."""
        with self.database.transaction() as session:
            account = acc.create_account(
                session,
                fields.pop("username"),
                fields.pop("password"),
                clock=self.clock,
                hasher=self.hasher,
                **fields,
            )
            if accept_terms:
                account.accepted_terms_at = self.clock()
            return AccountOut.of(account)

    def accept_terms(self, username: str) -> AccountOut:
        """The researcher accepts the Registered Access terms (kept once accepted)."""
        with self.database.transaction() as session:
            account = acc.get_account(session, username)
            if account.accepted_terms_at is None:
                account.accepted_terms_at = self.clock()
        return self.me(username)

    def verify_researcher(self, actor: str, username: str, *, days: int = 365) -> AccountOut:
        """Hub admin: vouch for a bona fide researcher (Registered Access visas for `days`)."""
        with self.database.transaction() as session:
            acc.require_admin(acc.get_account(session, actor))
            account = acc.get_account(session, username)
            now = self.clock()
            grants.registered_access_visas(
                session,
                account,
                dac_source=self.dac_source,
                at=now,
                until=now + timedelta(days=days),
            )
            account.verified_at, account.verified_by = now, actor
        return self.me(username)

    def login(self, username: str, password: str) -> TokenOut:
        with self.database.transaction() as session:
            token, row = acc.login(
                session,
                username,
                password,
                clock=self.clock,
                ttl=self.session_ttl,
                hasher=self.hasher,
            )
            return TokenOut(
                token=token,
                expires_at=row.expires_at,
                username=row.account.username,
                role=row.account.role,
            )

    def change_password(self, username: str, current: str, new: str) -> None:
        """Change your password; every session of the account ends (log in again)."""
        with self.database.transaction() as session:
            account = acc.get_account(session, username)
            acc.change_password(session, account, current, new, hasher=self.hasher)

    def logout(self, token: str) -> None:
        with self.database.transaction() as session:
            acc.logout(session, token)

    def authenticate(self, token: str | None) -> str:
        """The username behind a bearer token (AuthenticationError otherwise)."""
        if not token:
            raise AuthenticationError("log in first (Authorization: Bearer <token>)")
        with self.database.transaction() as session:
            return acc.authenticate(session, token, clock=self.clock).username

    def me(self, username: str) -> AccountOut:
        with self.database.transaction() as session:
            account = acc.get_account(session, username)
            members = [
                {"dataset": m.dataset_url, "committee": m.committee}
                for m in acc.memberships(session, account)
            ]
            return AccountOut.of(account, members)

    def add_member(
        self, actor: str, username: str, *, dataset: DatasetRef | None, committee: str | None
    ) -> AccountOut:
        """Hub admin: make `username` a DAC member of a dataset or a committee."""
        with self.database.transaction() as session:
            acc.require_admin(acc.get_account(session, actor))
            account = acc.get_account(session, username)
            url = (
                resolve_dataset(session, dataset, catalogue=self.catalogue).url if dataset else None
            )
            acc.add_member(session, account, dataset_url=url, committee=committee)
        return self.me(username)

    # -- datasets --------------------------------------------------------------------
    def register_dataset(self, actor: str, body: DatasetIn) -> DatasetOut:
        """Hub admin: record a dataset (URL, DUO terms, committee) with the DAC."""
        base = body.base_url
        if body.url is None and base is None:  # the registry knows it (dial-out: the hub's path)
            known = getattr(self.catalogue, "base_url", None)
            base = known(body.node) if callable(known) else None
        if body.url is None and base is None:
            raise InvalidInputError(
                f"give the dataset's url or its node's base_url (node {body.node!r} is not "
                "registered with the hub)",
                field="url",
            )
        url = body.url or dataset_url(base or "", body.dataset_id)
        entry = CatalogueEntry(
            node=body.node, dataset_id=body.dataset_id, url=url, name=body.name,
            duo=tuple(body.duo), terms_url=body.terms_url, jurisdiction=body.jurisdiction,
        )  # fmt: skip
        with self.database.transaction() as session:
            acc.require_admin(acc.get_account(session, actor))
            row = upsert_dataset(session, entry, committee=body.committee)
            if body.review_policy is not None:
                row.review_policy = body.review_policy.model_dump(mode="json")
            return DatasetOut.of(row)

    def datasets(self) -> list[DatasetOut]:
        with self.database.transaction() as session:
            return [
                DatasetOut.of(d) for d in session.scalars(select(Dataset).order_by(Dataset.url))
            ]

    # -- applications ----------------------------------------------------------------
    def _out(self, session: Any, app: Any) -> ApplicationOut:
        visas = [
            {"jti": v.jti, "type": v.type, "value": v.value, "expires_at": v.expires_at.isoformat(),
             "revoked": v.revoked_at is not None}
            for v in grants.application_visas(session, app)
        ]  # fmt: skip
        return ApplicationOut.of(app, visas, communities.decisions_view(session, app))

    def _after_submit(self, session: Any, app: Any) -> None:
        """Open the communities' decisions, then route the application (proportionate
        review): approved automatically with a record, or left for the committee."""
        from genomesh.hub.dac.governance import route_submitted

        route_submitted(session, app, clock=self.clock, dac_source=self.dac_source)

    def _refresh_expiry(self) -> None:
        with self.database.transaction() as session:
            apps.expire_due(session, clock=self.clock)

    def apply(self, username: str, body: ApplicationIn) -> ApplicationOut:
        check_purpose(body.purpose)
        with self.database.transaction() as session:
            account = acc.get_account(session, username)
            datasets = [
                resolve_dataset(session, r, catalogue=self.catalogue) for r in body.datasets
            ]
            app = apps.create_application(
                session, account, title=body.title, summary=body.summary, purpose=body.purpose,
                lay_summary=body.lay_summary,
                datasets=datasets, documents=body.documents, accepted_terms=body.accepted_terms,
                clock=self.clock,
            )  # fmt: skip
            if body.submit:
                apps.submit_application(session, app, account, clock=self.clock)
                self._after_submit(session, app)
            return self._out(session, app)

    def edit(self, username: str, application_id: int, body: ApplicationEdit) -> ApplicationOut:
        if body.purpose is not None:
            check_purpose(body.purpose)
        with self.database.transaction() as session:
            account = acc.get_account(session, username)
            app = apps.get_application(session, application_id)
            apps.require_view(session, app, account)
            changes = body.model_dump(exclude_none=True, exclude={"datasets", "purpose"})
            if body.purpose is not None:
                changes["purpose"] = body.purpose
            datasets = (
                [resolve_dataset(session, r, catalogue=self.catalogue) for r in body.datasets]
                if body.datasets is not None
                else None
            )
            apps.edit_application(
                session, app, account, clock=self.clock, changes=changes, datasets=datasets
            )
            return self._out(session, app)

    def submit(self, username: str, application_id: int, comment: str = "") -> ApplicationOut:
        with self.database.transaction() as session:
            account = acc.get_account(session, username)
            app = apps.get_application(session, application_id)
            apps.require_view(session, app, account)
            apps.submit_application(session, app, account, clock=self.clock, comment=comment)
            self._after_submit(session, app)
            return self._out(session, app)

    def show(self, username: str, application_id: int) -> ApplicationOut:
        self._refresh_expiry()
        with self.database.transaction() as session:
            account = acc.get_account(session, username)
            app = apps.get_application(session, application_id)
            apps.require_view(session, app, account)
            return self._out(session, app)

    def list_applications(
        self, username: str, *, state: str | None = None, mine: bool = False
    ) -> list[ApplicationOut]:
        self._refresh_expiry()
        with self.database.transaction() as session:
            account = acc.get_account(session, username)
            return [
                self._out(session, a)
                for a in apps.list_applications(session, account, state=state, mine=mine)
            ]

    def decide(
        self,
        username: str,
        application_id: int,
        decision: apps.Decision,
        *,
        comment: str = "",
        until: datetime | date | None = None,
    ) -> ApplicationOut:
        with self.database.transaction() as session:
            member = acc.get_account(session, username)
            app = apps.get_application(session, application_id)
            apps.require_view(session, app, member)
            end = end_of(until) if until is not None else None
            apps.decide_application(
                session, app, member, decision, clock=self.clock, comment=comment, until=end
            )
            if decision == "approve":
                grants.grant_visas(session, app, dac_source=self.dac_source, at=self.clock())
                communities.grant_community_visas(
                    session, app, dac_source=self.dac_source, at=self.clock()
                )
            return self._out(session, app)

    def revoke(self, username: str, application_id: int, *, reason: str) -> ApplicationOut:
        with self.database.transaction() as session:
            actor = acc.get_account(session, username)
            app = apps.get_application(session, application_id)
            apps.require_view(session, app, actor)
            apps.revoke_application(session, app, actor, clock=self.clock, reason=reason)
            grants.revoke_visas(
                session, grants.application_visas(session, app), at=self.clock(),
                reason=f"application {app.id} revoked: {reason}",
            )  # fmt: skip
            return self._out(session, app)

    def renew(self, username: str, application_id: int, *, comment: str = "") -> ApplicationOut:
        self._refresh_expiry()
        with self.database.transaction() as session:
            account = acc.get_account(session, username)
            app = apps.get_application(session, application_id)
            apps.require_view(session, app, account)
            renewal = apps.renew_application(
                session, app, account, clock=self.clock, comment=comment
            )
            self._after_submit(session, renewal)
            return self._out(session, renewal)

    # -- passports -------------------------------------------------------------------
    def passport(
        self,
        username: str,
        *,
        application_id: int | None = None,
        audience: str | Sequence[str] | None = None,
    ) -> PassportOut:
        """A signed passport with the caller's current (unexpired, unrevoked) visas."""
        from genomesh.access.issuer import VisaIssuer

        now = self.clock()
        issuer = VisaIssuer(
            self.keys,
            issuer=self.settings.issuer,
            jku=f"{self.settings.base_url.rstrip('/')}/.well-known/jwks.json",
            source=self.dac_source,
        )
        self._refresh_expiry()
        with self.database.transaction() as session:
            account = acc.get_account(session, username)
            if application_id is not None:
                app = apps.get_application(session, application_id)
                if app.applicant_id != account.id:
                    raise NotFoundError(
                        f"no application {application_id} of yours", field="application"
                    )
                if app.state != "approved":
                    raise ConflictError(
                        f"application {app.id} is {app.state}; a passport is issued only for "
                        "an approved application",
                        field="application",
                        details={"state": app.state},
                    )
            visas = grants.current_visas(session, account, now=now, application_id=application_id)
            grants.check_single_purpose(visas)
            lifetime = self.settings.passport_lifetime_seconds
            token = grants.sign_passport(
                issuer, account.subject, visas, now=now, lifetime=lifetime,
                audience=audience or self.settings.hub_audience,
            )  # fmt: skip
            return PassportOut(
                passport=token,
                expires_at=now + timedelta(seconds=lifetime),
                visas=[
                    {"jti": v.jti, **grants.visa_claims(v), "exp": int(v.expires_at.timestamp())}
                    for v in visas
                ],
            )

    # -- notifications ---------------------------------------------------------------
    def issue_node_secret(self, actor: str, node: str) -> str:
        with self.database.transaction() as session:
            acc.require_admin(acc.get_account(session, actor))
            return notes.issue_node_secret(session, node, clock=self.clock)

    def receive_notification(self, body: Any, *, bearer: str | None, nonces: Any = None) -> int:
        """Store a node's notice (a withdrawal, or a custodian's review of a finding flag) after
        checking it comes from that node."""
        if isinstance(body, dict) and "payload" in body and "sig" in body:
            payload = notes.verify_node_signature(
                body,
                node_keys=self.node_keys,
                nonces=nonces,
                max_skew=self.settings.dialout_max_skew_seconds,
            )
            note = notes.parse_node_notice(payload)
            if note.node != payload.get("iss"):
                raise AuthenticationError("notification `node` differs from the signer")
            with self.database.transaction() as session:
                return notes.store_node_notice(session, note, clock=self.clock)
        note = notes.parse_node_notice(body)
        with self.database.transaction() as session:
            notes.check_node_secret(session, note.node, bearer)
            return notes.store_node_notice(session, note, clock=self.clock)

    def notifications(
        self, username: str, *, unread_only: bool = False, mark_read: bool = False
    ) -> list[NotificationOut]:
        with self.database.transaction() as session:
            account = acc.get_account(session, username)
            rows = notes.notifications_for(session, account, unread_only=unread_only)
            out = [NotificationOut.of(r) for r in rows]
            if mark_read:
                notes.mark_read(session, account, at=self.clock())
            return out


ServiceFactory = Callable[[HubSettings], DacService]

__all__ = ["DEFAULT_SESSION_TTL", "DacService", "end_of"]
