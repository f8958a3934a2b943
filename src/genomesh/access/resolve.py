"""From an `Authorization` header to an `Identity`: the node's passport clearinghouse.

    resolver = IdentityResolver(settings)             # one per node app (keeps key caches)
    identity = resolver.resolve(request.headers.get("authorization"),
                                client_address=request.client.host)

The node expects passports whose `aud` is its own audience (`settings.expected_audience`:
`audience`, else `base_url`); the resolver refuses to start with the old shared audience
"genomesh" (QA F23). No header: anonymous. `Bearer <passport JWT>`: verified by genomesh.access.passports; an
invalid passport raises AuthenticationError (401) naming the problem; an invalid visa is
dropped (its reason kept in `identity.dropped_visas`) and never raises the tier.

Tier:
  * controlled: a valid ControlledAccessGrants visa names a dataset of this node, either as
    `{base_url}/datasets/{id}` (or under one of `settings.dataset_url_prefixes`) or as the bare
    id. `identity.controlled_datasets` holds those ids; the gate gives record granularity only
    for datasets in that set.
  * registered: a valid ResearcherStatus visa, plus AcceptedTermsAndPolicies unless
    `settings.registered_requires_terms` is off (Registered Access needs both).
  * anonymous otherwise (a valid passport without such visas still identifies the caller for
    budgets and the audit log).
The `genomesh.ResearchPurpose` visa sets `identity.purpose` (the most recently asserted one).
`identity.expires_at` is the earliest expiry of the passport and the visas that were used.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

import httpx

from genomesh.access.caller import CALLER_HEADER, verify_caller
from genomesh.access.identity import Identity, Tier
from genomesh.access.jwks import TrustedKeys
from genomesh.access.passports import (
    ORIG_JTI,
    AcceptedVisa,
    SignatureCache,
    TokenError,
    unverified_parts,
    verify_passport,
)
from genomesh.access.revocation import RevocationChecker
from genomesh.access.visas import (
    ACCEPTED_TERMS_AND_POLICIES,
    CONTROLLED_ACCESS_GRANTS,
    RESEARCH_PURPOSE,
    RESEARCHER_STATUS,
    parse_purpose,
)
from genomesh.core.clients import client_address, parse_networks
from genomesh.core.errors import AuthenticationError, InvalidInputError
from genomesh.core.settings import SHARED_AUDIENCE, NodeSettings


def check_audience(settings: NodeSettings) -> str:
    """The node's own passport audience; InvalidInputError for the old shared one (QA F23)."""
    audience = settings.expected_audience
    if audience == SHARED_AUDIENCE:
        raise InvalidInputError(
            f"audience = {SHARED_AUDIENCE!r} (in {settings.node_dir / 'genomesh.toml'} or "
            f"GENOMESH_AUDIENCE) is the old audience shared by every node: a passport for it "
            "can be replayed at any node. Delete the line so the node expects its own base_url "
            f"({settings.base_url.rstrip('/')!r}), or set a node-specific audience, and register "
            "the node at the hub with that audience (docs/operator-guide.md)",
            field="audience",
        )
    return audience


def dataset_id_from_grant(value: str, *, prefixes: Iterable[str]) -> str | None:
    """The local dataset id a ControlledAccessGrants value names, or None if it is not ours."""
    for prefix in prefixes:
        if value.startswith(prefix):
            rest = value[len(prefix) :]
            return (
                rest if rest and "/" not in rest and "?" not in rest and "#" not in rest else None
            )
    if "://" in value:
        return None
    return value


def bearer_token(authorization: str | None) -> str | None:
    """The JWT of an `Authorization: Bearer <JWT>` header; None without a header (anonymous);
    AuthenticationError (401) for another scheme or an empty token."""
    if authorization is None or not authorization.strip():
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        # never echo the header: without "Bearer " its first word IS the credential
        named = scheme if re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,15}", scheme) else None
        raise AuthenticationError(
            (f"unsupported authorization scheme {named!r}" if named and token else
             "the Authorization header has no scheme (the token was not repeated here)")
            + "; send 'Authorization: Bearer <passport JWT>'"
        )  # fmt: skip
    token = token.strip()
    if not token:
        raise AuthenticationError("empty bearer token")
    return token


class IdentityResolver:
    """Verifies passports for one node (settings, trusted keys and revocation lists)."""

    def __init__(
        self,
        settings: NodeSettings,
        *,
        http_client: httpx.Client | None = None,
        known_datasets: Callable[[], Iterable[str]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.audience = check_audience(settings)
        self.keys = TrustedKeys(
            settings.trusted_issuers,
            http_client=http_client,
            cache_seconds=settings.jwks_cache_seconds,
            refetch_min_seconds=settings.jwks_refetch_min_seconds,
        )
        self.revocations = RevocationChecker(
            settings.trusted_issuers,
            http_client=http_client,
            refresh_seconds=settings.revocation_refresh_seconds,
            max_stale_seconds=settings.revocation_max_stale_seconds,
        )
        self._known_datasets = known_datasets
        self._clock = clock
        self._cache = SignatureCache()
        base = settings.base_url.rstrip("/")
        self.dataset_prefixes = [f"{base}/datasets/", *settings.dataset_url_prefixes]
        self._proxies = parse_networks(settings.trusted_proxies)

    def address_of(self, peer: str | None, headers: Mapping[str, str]) -> str | None:
        """The real caller's address (genomesh.core.clients): the socket peer, a trusted
        proxy's `X-Forwarded-For`, or - for a query the hub forwards - the caller named in
        the hub's signed `X-Genomesh-Caller` assertion (genomesh.access.caller; 401 if it
        does not verify)."""
        address = client_address(peer, headers.get("x-forwarded-for"), self._proxies)
        assertion = headers.get(CALLER_HEADER)
        if not assertion or not self.keys.is_trusted(_unverified_issuer(assertion)):
            # Only an issuer this node trusts may speak for a caller; from anyone else the
            # header is ignored (a hub this node does not trust still reaches it, as one peer).
            return address
        _, caller = verify_caller(
            assertion.strip(),
            keys=self.keys,
            audience=self.audience,
            now=int(self._clock()),
            leeway=self.settings.passport_leeway_seconds,
            cache=self._cache,
        )
        return caller.removeprefix("address:")

    def resolve(self, authorization: str | None, *, client_address: str | None = None) -> Identity:
        """The caller's identity (see module docstring); AuthenticationError if forged/expired."""
        token = bearer_token(authorization)
        if token is None:
            return Identity(client_address=client_address)
        return self.resolve_token(token, client_address=client_address)

    def resolve_token(self, token: str, *, client_address: str | None = None) -> Identity:
        """Like `resolve` for a bare passport JWT."""
        now = int(self._clock())
        verified = verify_passport(
            token,
            keys=self.keys,
            audience=self.audience,
            now=now,
            leeway=self.settings.passport_leeway_seconds,
            revocations=self.revocations,
            cache=self._cache,
            max_lifetime=self.settings.max_passport_lifetime_seconds,
        )
        by_type: dict[str, list[AcceptedVisa]] = {}
        for accepted in verified.visas:
            by_type.setdefault(accepted.visa.type, []).append(accepted)
        used: list[AcceptedVisa] = []

        known = set(self._known_datasets()) if self._known_datasets is not None else None
        datasets: set[str] = set()
        for grant in by_type.get(CONTROLLED_ACCESS_GRANTS, []):
            dataset = dataset_id_from_grant(grant.visa.value, prefixes=self.dataset_prefixes)
            if dataset is not None and (known is None or dataset in known):
                datasets.add(dataset)
                used.append(grant)

        status = by_type.get(RESEARCHER_STATUS, [])
        terms = by_type.get(ACCEPTED_TERMS_AND_POLICIES, [])
        registered = bool(status) and (bool(terms) or not self.settings.registered_requires_terms)
        tier: Tier = "controlled" if datasets else "registered" if registered else "anonymous"
        if registered:
            used.extend(status[:1] + terms[:1])

        purpose = None
        purposes = sorted(by_type.get(RESEARCH_PURPOSE, []), key=lambda a: a.visa.asserted)
        if purposes:
            purpose = parse_purpose(purposes[-1].visa.value)
            used.append(purposes[-1])

        expiry = min([verified.claims["exp"], *(a.visa.expires for a in used)])
        return Identity(
            tier=tier,
            subject=verified.subject,
            issuer=verified.issuer,
            visas=tuple(a.visa for a in verified.visas),
            controlled_datasets=frozenset(datasets),
            purpose=purpose,
            country=purpose.country if purpose else None,
            expires_at=datetime.fromtimestamp(expiry, tz=UTC),
            client_address=client_address,
            dropped_visas=tuple(verified.dropped),
            passport_jti=_text(verified.claims.get("jti")),
            orig_jti=_text(verified.claims.get(ORIG_JTI)),
        )


def _unverified_issuer(token: str) -> str | None:
    try:
        return _text(unverified_parts(token.strip())[1].get("iss"))
    except TokenError:
        return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


__all__ = ["IdentityResolver", "bearer_token", "check_audience", "dataset_id_from_grant"]
