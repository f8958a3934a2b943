"""Issue GA4GH visas and passports (the hub as Visa Issuer and Passport Broker).

Each visa is its own JWT ("Visa Document Token", GA4GH AAI v1.2): header
`{"typ": "JWT", "alg": "ES256", "jku": "<issuer>/.well-known/jwks.json", "kid": ...}`,
payload `{iss, sub, iat, exp, jti, ga4gh_visa_v1: {type, asserted, value, source, by[,
conditions]}}`. A passport is a JWT `{iss, sub, aud, iat, exp, jti, scope,
ga4gh_passport_v1: [<visa JWT>, ...]}` signed with the same keys. Every token gets a random
`jti`, so visas (and passports) can be revoked through the revocation list.

    keys = KeyStore.open("hub/keys")
    issuer = VisaIssuer(keys, issuer="https://hub.example.org")
    grant = issuer.controlled_access_grant("alice", dataset_url="https://node.example.org/datasets/ds1",
                                           expires=end_of_approval)
    passport = issuer.passport("alice", [grant, issuer.researcher_status("alice")],
                               audience="genomesh", lifetime=3600)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from genomesh.access.keys import KeyStore
from genomesh.access.visas import (
    ACCEPTED_TERMS_AND_POLICIES,
    AFFILIATION_AND_ROLE,
    CONTROLLED_ACCESS_GRANTS,
    LINKED_IDENTITIES,
    REGISTERED_ACCESS,
    RESEARCH_PURPOSE,
    RESEARCHER_STATUS,
    VisaFormatError,
    format_linked_identities,
    parse_visa_object,
)
from genomesh.core.errors import InvalidInputError
from genomesh.core.purpose import ResearchPurpose

Expiry = int | float | datetime | date | timedelta | None
DEFAULT_VISA_LIFETIME = timedelta(days=365)
PASSPORT_SCOPE = "ga4gh_passport_v1"


@dataclass(frozen=True)
class IssuedVisa:
    """A signed visa: the JWT plus what the issuer needs to remember (jti for revocation)."""

    token: str
    jti: str
    subject: str
    type: str
    value: str
    issued_at: int
    expires_at: int

    def __str__(self) -> str:
        return self.token


def to_epoch(when: Expiry, *, now: int, default: timedelta) -> int:
    """Absolute expiry in epoch seconds from a datetime/date/timedelta/epoch/None."""
    if when is None:
        return now + int(default.total_seconds())
    if isinstance(when, timedelta):
        return now + int(when.total_seconds())
    if isinstance(when, datetime):
        aware = when if when.tzinfo else when.replace(tzinfo=UTC)
        return int(aware.timestamp())
    if isinstance(when, date):  # end of that day, UTC
        return int(datetime(when.year, when.month, when.day, 23, 59, 59, tzinfo=UTC).timestamp())
    return int(when)


class VisaIssuer:
    """Signs visas and passports with the active key of a KeyStore."""

    def __init__(
        self,
        keys: KeyStore,
        *,
        issuer: str,
        jku: str | None = None,
        source: str | None = None,
    ) -> None:
        self.keys = keys
        self.issuer = issuer  # used verbatim: nodes compare `iss` as an exact string
        self.jku = jku or f"{self.issuer.rstrip('/')}/.well-known/jwks.json"
        self.source = source or self.issuer

    def visa(
        self,
        subject: str,
        *,
        type: str,
        value: str,
        source: str | None = None,
        by: str | None = None,
        asserted: int | datetime | None = None,
        expires: Expiry = None,
        conditions: list[list[dict[str, str]]] | None = None,
        jti: str | None = None,
        now: int | None = None,
    ) -> IssuedVisa:
        """Sign one visa; the `ga4gh_visa_v1` object is checked against the spec first."""
        now = int(time.time()) if now is None else now
        if isinstance(asserted, datetime):
            asserted = int(asserted.timestamp())
        obj: dict[str, Any] = {
            "type": type,
            "asserted": now if asserted is None else int(asserted),
            "value": value,
            "source": source or self.source,
        }
        if by is not None:
            obj["by"] = by
        if conditions:
            obj["conditions"] = conditions
        try:
            parse_visa_object(obj)
        except VisaFormatError as exc:
            raise InvalidInputError(f"cannot issue visa: {exc}", field="ga4gh_visa_v1") from exc
        exp = to_epoch(expires, now=now, default=DEFAULT_VISA_LIFETIME)
        if exp <= now:
            raise InvalidInputError(f"cannot issue visa: expiry {exp} is not after now ({now})")
        jti = jti or str(uuid.uuid4())
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "iat": now,
            "exp": exp,
            "jti": jti,
            "ga4gh_visa_v1": obj,
        }
        token = self.keys.sign(claims, header={"typ": "JWT", "jku": self.jku})
        return IssuedVisa(token, jti, subject, type, value, now, exp)

    # -- the standard visa types -------------------------------------------------------
    def controlled_access_grant(
        self, subject: str, *, dataset_url: str, by: str = "dac", **options: Any
    ) -> IssuedVisa:
        """ControlledAccessGrants: `value` is the dataset's URL (e.g. {node}/datasets/{id})."""
        return self.visa(
            subject, type=CONTROLLED_ACCESS_GRANTS, value=dataset_url, by=by, **options
        )

    def researcher_status(
        self, subject: str, *, value: str = REGISTERED_ACCESS, by: str = "so", **options: Any
    ) -> IssuedVisa:
        """ResearcherStatus (bona fide researcher, Registered Access by default)."""
        return self.visa(subject, type=RESEARCHER_STATUS, value=value, by=by, **options)

    def accepted_terms(
        self, subject: str, *, value: str = REGISTERED_ACCESS, by: str = "self", **options: Any
    ) -> IssuedVisa:
        """AcceptedTermsAndPolicies (the Registered Access terms by default)."""
        return self.visa(subject, type=ACCEPTED_TERMS_AND_POLICIES, value=value, by=by, **options)

    def affiliation_and_role(
        self, subject: str, *, role: str, affiliation: str, by: str = "so", **options: Any
    ) -> IssuedVisa:
        """AffiliationAndRole, e.g. role="faculty", affiliation="uni.example.org"."""
        return self.visa(
            subject, type=AFFILIATION_AND_ROLE, value=f"{role}@{affiliation}", by=by, **options
        )

    def linked_identities(
        self,
        subject: str,
        *,
        identities: Sequence[tuple[str, str]],
        by: str = "system",
        **options: Any,
    ) -> IssuedVisa:
        """LinkedIdentities: `identities` are (sub, iss) pairs that are the same person."""
        value = format_linked_identities(identities)
        return self.visa(subject, type=LINKED_IDENTITIES, value=value, by=by, **options)

    def research_purpose(
        self, subject: str, *, purpose: ResearchPurpose, by: str = "dac", **options: Any
    ) -> IssuedVisa:
        """The custom `genomesh.ResearchPurpose` visa: value = the purpose as JSON."""
        value = purpose.model_dump_json(exclude_defaults=True)
        return self.visa(subject, type=RESEARCH_PURPOSE, value=value, by=by, **options)

    # -- passports -----------------------------------------------------------------------
    def passport(
        self,
        subject: str,
        visas: Sequence[str | IssuedVisa],
        *,
        audience: str | Sequence[str],
        lifetime: int | timedelta = 3600,
        jti: str | None = None,
        now: int | None = None,
    ) -> str:
        """A passport JWT carrying `visas` for `audience`, valid `lifetime` seconds."""
        now = int(time.time()) if now is None else now
        seconds = int(lifetime.total_seconds()) if isinstance(lifetime, timedelta) else lifetime
        if seconds <= 0:
            raise InvalidInputError("passport lifetime must be positive", field="lifetime")
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": audience if isinstance(audience, str) else list(audience),
            "iat": now,
            "exp": now + seconds,
            "jti": jti or str(uuid.uuid4()),
            "scope": PASSPORT_SCOPE,
            "ga4gh_passport_v1": [str(v) for v in visas],
        }
        return self.keys.sign(claims, header={"typ": "JWT"})

    def derive_passport(
        self,
        original: dict[str, Any],
        *,
        audience: str,
        lifetime: int,
        visas: Sequence[str] | None = None,
        now: int | None = None,
    ) -> tuple[str, int]:
        """A passport for one `audience` derived from a verified passport's claims (QA F23).

        Same `sub`, `scope` and visas (or `visas`, a subset), a fresh `jti`, `orig_jti` =
        the original's `jti`, `exp` = the earlier of the original's and now + `lifetime`.
        Returns (token, exp). The caller checks the original (signature, audience, revocation).
        """
        now = int(time.time()) if now is None else now
        jti = original.get("jti")
        if not isinstance(jti, str) or not jti:
            raise InvalidInputError("cannot derive a passport from one without a jti", field="jti")
        exp = min(int(original["exp"]), now + lifetime)
        if exp <= now:
            raise InvalidInputError("cannot derive a passport from an expired one", field="exp")
        claims = {
            "iss": self.issuer,
            "sub": original["sub"],
            "aud": audience,
            "iat": now,
            "exp": exp,
            "jti": str(uuid.uuid4()),
            "orig_jti": jti,
            "scope": original.get("scope", PASSPORT_SCOPE),
            "ga4gh_passport_v1": list(
                visas if visas is not None else original.get("ga4gh_passport_v1", [])
            ),
        }
        return self.keys.sign(claims, header={"typ": "JWT"}), exp


__all__ = ["DEFAULT_VISA_LIFETIME", "IssuedVisa", "VisaIssuer", "to_epoch"]
