"""The hub's public passport endpoints: JWKS, issuer metadata and the revocation list.

    GET /.well-known/jwks.json            the issuer's public keys (active + still-needed retired)
    GET /.well-known/openid-configuration issuer metadata: issuer, jwks_uri, revocation list URL
    GET /ga4gh/revocations                {"issuer", "revoked": [jti...], "generated_at", "refresh_seconds"}

Two ways to mount it:

    # explicit objects (tests, custom wiring)
    app.include_router(build_broker_router(keys, revocations, issuer=settings.issuer))

    # or the module-level `router`, which reads `app.state.broker` (a BrokerState)
    app.state.broker = BrokerState.from_settings(settings, revocations=dac_revocation_list)
    app.include_router(genomesh.hub.broker.router)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from genomesh.access.issuer import VisaIssuer
from genomesh.access.keys import SIGNING_ALGORITHMS, KeyStore
from genomesh.access.revocation import InMemoryRevocationList, RevocationList, revocation_document
from genomesh.core.errors import NotFoundError
from genomesh.core.settings import HubSettings

JWKS_PATH = "/.well-known/jwks.json"
METADATA_PATH = "/.well-known/openid-configuration"
REVOCATIONS_PATH = "/ga4gh/revocations"


@dataclass
class BrokerState:
    """What the broker endpoints serve: the key store, the issuer name, the revocation list."""

    keys: KeyStore
    issuer: str
    revocations: RevocationList = field(default_factory=InMemoryRevocationList)
    base_url: str | None = None  # where the endpoints are reachable; default: the issuer
    refresh_seconds: float = 60.0  # suggested revocation poll interval for nodes

    @classmethod
    def from_settings(
        cls, settings: HubSettings, *, revocations: RevocationList | None = None
    ) -> BrokerState:
        """Keys persisted in `HUB_DIR/keys` (created with one ES256 key on first use), rotated
        every `settings.key_rotation_days`."""
        return cls(
            keys=KeyStore.open(
                settings.hub_dir / "keys",
                rotate_after=settings.key_rotation_days * 86400 or None,
            ),
            issuer=settings.issuer,
            revocations=revocations if revocations is not None else InMemoryRevocationList(),
            base_url=settings.base_url,
        )

    def visa_issuer(self) -> VisaIssuer:
        """A VisaIssuer signing with these keys, `jku` pointing at this broker's JWKS."""
        return VisaIssuer(self.keys, issuer=self.issuer, jku=self.url(JWKS_PATH))

    def url(self, path: str) -> str:
        return f"{(self.base_url or self.issuer).rstrip('/')}{path}"


def _metadata(state: BrokerState) -> dict[str, Any]:
    return {
        "issuer": state.issuer,
        "jwks_uri": state.url(JWKS_PATH),
        "revocation_list_uri": state.url(REVOCATIONS_PATH),
        "revocation_refresh_seconds": state.refresh_seconds,
        "id_token_signing_alg_values_supported": list(SIGNING_ALGORITHMS),
        "claims_supported": ["iss", "sub", "aud", "iat", "exp", "jti", "ga4gh_passport_v1"],
        "scopes_supported": ["ga4gh_passport_v1"],
        "claims_parameter_supported": False,
    }


def _not_configured() -> JSONResponse:
    error = NotFoundError("this hub does not issue passports (no broker configured)")
    return JSONResponse(error.to_dict(), status_code=error.http_status)


def _routes(router: APIRouter, get_state: Callable[[Request], BrokerState | None]) -> APIRouter:
    @router.get(JWKS_PATH, tags=["passports"], summary="The issuer's public signing keys (JWKS)")
    def jwks(request: Request) -> JSONResponse:
        state = get_state(request)
        if state is None:
            return _not_configured()
        return JSONResponse(state.keys.jwks(), headers={"Cache-Control": "public, max-age=60"})

    @router.get(METADATA_PATH, tags=["passports"], summary="Issuer metadata")
    def metadata(request: Request) -> JSONResponse:
        state = get_state(request)
        return _not_configured() if state is None else JSONResponse(_metadata(state))

    @router.get(REVOCATIONS_PATH, tags=["passports"], summary="Revoked visa/passport ids (jti)")
    def revocations(request: Request) -> JSONResponse:
        state = get_state(request)
        if state is None:
            return _not_configured()
        body = revocation_document(
            state.revocations, issuer=state.issuer, refresh_seconds=state.refresh_seconds
        )
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    return router


def build_broker_router(
    keys: KeyStore,
    revocations: RevocationList,
    *,
    issuer: str | None = None,
    base_url: str | None = None,
    refresh_seconds: float = 60.0,
) -> APIRouter:
    """A router serving these keys and this revocation list (dependencies injected).

    `issuer` (the `iss` of the tokens) defaults to the URL the request arrived at.
    """
    fixed = BrokerState(keys, issuer, revocations, base_url, refresh_seconds) if issuer else None

    def get_state(request: Request) -> BrokerState:
        if fixed is not None:
            return fixed
        here = str(request.base_url).rstrip("/")
        return BrokerState(keys, here, revocations, base_url, refresh_seconds)

    return _routes(APIRouter(), get_state)


def _state_from_app(request: Request) -> BrokerState | None:
    state = getattr(request.app.state, "broker", None)
    return state if isinstance(state, BrokerState) else None


#: The router the hub app mounts; configure it with `app.state.broker = BrokerState(...)`.
router = _routes(APIRouter(), _state_from_app)

__all__ = [
    "JWKS_PATH",
    "METADATA_PATH",
    "REVOCATIONS_PATH",
    "BrokerState",
    "build_broker_router",
    "router",
]
