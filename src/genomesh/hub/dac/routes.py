"""The DAC's HTTP API: `router` (mounted by `genomesh.hub.app.create_app`) under `/dac`.

`POST /notifications`, `GET /me/notifications` and `GET /passport` are also answered at the
root (nodes post withdrawal notices to `{hub_url}/notifications`).

How the hub wires it: `install_dac(app, settings, ...)` puts a `DacService` on
`app.state.dac` and includes `router`. Including `router` alone also works: on first use it
builds the service from `app.state.settings` (a HubSettings), taking the hub's KeyStore from
`app.state.keys` and its catalogue from `app.state.dac_catalogue` when present.

Researchers and committee members authenticate with `Authorization: Bearer <session token>`
from `POST /dac/login`. Nodes authenticate notifications by signature or shared secret
(see genomesh.hub.dac.notifications).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from genomesh.core.body_limit import BodySizeLimit
from genomesh.core.errors import AuthenticationError, GenomeshError, InvalidInputError, StoreError
from genomesh.core.settings import HubSettings
from genomesh.hub.dac.datasets import HubCatalogue
from genomesh.hub.dac.governance_routes import router as governance_router
from genomesh.hub.dac.schemas import (
    AccountOut,
    ApplicationEdit,
    ApplicationIn,
    ApplicationOut,
    CommentIn,
    DatasetIn,
    DatasetOut,
    DecisionIn,
    EventOut,
    LoginIn,
    MemberIn,
    NodeSecretOut,
    NotificationOut,
    PassportOut,
    PasswordIn,
    ReasonIn,
    RegisterIn,
    TokenOut,
    VerifyIn,
)
from genomesh.hub.dac.service import DacService
from genomesh.hub.dac.throttle import LoginThrottle

P = "/dac"
_lock = threading.Lock()
NO_STORE = {"Cache-Control": "no-cache, no-store", "Pragma": "no-cache"}


def install_dac(app: FastAPI, settings: HubSettings, **options: Any) -> DacService:
    """Create the DAC service on `app.state.dac` and include the router (options: DacService's)."""
    service = DacService(settings, **options)
    app.state.dac = service
    app.include_router(router)
    return service


def _ensure_service(state: Any) -> DacService:
    """The DacService on `state.dac`, built from `state.settings` (HubSettings) if missing."""
    service = getattr(state, "dac", None)
    if service is not None:
        return service
    with _lock:
        service = getattr(state, "dac", None)
        if service is None:
            settings = getattr(state, "settings", None)
            if not isinstance(settings, HubSettings):
                raise StoreError("the DAC is not configured on this app (no HubSettings)")
            service = DacService(settings, **_wiring(state, settings))
            state.dac = service
            _share_revocations(state, service)
    return service


def get_service(request: Request) -> DacService:
    """The app's DacService (built from `app.state.settings` on first use if not installed)."""
    return _ensure_service(request.app.state)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """At start-up: build the DAC (so a weak admin password stops the hub) and let the
    passport broker publish the DAC's revocation list from the first request on."""
    state = app.state
    if getattr(state, "dac", None) is not None or isinstance(
        getattr(state, "settings", None), HubSettings
    ):
        _share_revocations(state, _ensure_service(state))
    yield


def _wiring(state: Any, settings: HubSettings) -> dict[str, Any]:
    """Keys, catalogue and node keys from what the hub app put on `app.state`."""
    options: dict[str, Any] = {}
    broker = getattr(state, "broker", None)
    keys = getattr(state, "keys", None) or getattr(broker, "keys", None)
    if keys is not None and hasattr(keys, "jwks"):
        options["keys"] = keys
    catalogue = getattr(state, "dac_catalogue", None)
    store = getattr(state, "store", None)
    if catalogue is None and store is not None and hasattr(store, "catalogue"):
        catalogue = HubCatalogue(store, hub_url=settings.base_url)
    if catalogue is not None:
        options["catalogue"] = catalogue
        if hasattr(catalogue, "public_key"):
            options["node_keys"] = catalogue.public_key
    return options


def _share_revocations(state: Any, service: DacService) -> None:
    """Let the passport broker publish the DAC's SQL revocation list."""
    broker = getattr(state, "broker", None)
    if broker is not None and hasattr(broker, "revocations"):
        broker.revocations = service.revocations


router = APIRouter(tags=["dac"], lifespan=_lifespan)
# the code-of-conduct parts: data-use register, findings, communities (governance_routes)
router.include_router(governance_router)


def bearer(authorization: Annotated[str | None, Header()] = None) -> str | None:
    """The token of an `Authorization: Bearer ...` header (None if absent)."""
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("Authorization header must be `Bearer <token>`")
    return token.strip()


Service = Annotated[DacService, Depends(get_service)]
Token = Annotated[str | None, Depends(bearer)]


def current_user(service: Service, token: Token) -> str:
    """The logged-in username."""
    return service.authenticate(token)


User = Annotated[str, Depends(current_user)]
MAX_ID = 2**63 - 1  # SQL BIGINT: a larger id is bad input (400), never an overflow (500)
AppId = Annotated[int, Path(ge=1, le=MAX_ID, description="application id")]


# -- accounts ------------------------------------------------------------------------
@router.post(P + "/register", status_code=201, response_model=AccountOut)
def register(body: RegisterIn, service: Service) -> AccountOut:
    """Create a researcher account (strong password required)."""
    return service.register(**body.model_dump())


def _throttle(state: Any) -> LoginThrottle:
    throttle = getattr(state, "dac_login_throttle", None)
    if throttle is None:
        with _lock:
            throttle = getattr(state, "dac_login_throttle", None)
            if throttle is None:
                throttle = state.dac_login_throttle = LoginThrottle()
    return throttle


@router.post(P + "/login", response_model=TokenOut)
def login(body: LoginIn, service: Service, request: Request) -> JSONResponse:
    """Exchange username + password for a bearer session token. Repeated failures for a
    username or from an address are answered 429 with Retry-After (growing back-off)."""
    throttle = _throttle(request.app.state)
    address = request.client.host if request.client is not None else "unknown"
    keys = (f"user:{body.username.strip().lower()}", f"addr:{address}")
    throttle.check(keys)
    try:
        out = service.login(body.username, body.password)
    except AuthenticationError:
        throttle.failed(keys)
        raise
    throttle.succeeded(keys[0])
    return JSONResponse(out.model_dump(mode="json"), headers=NO_STORE)


@router.post(P + "/logout", status_code=204)
def logout(service: Service, token: Token, user: User) -> None:
    service.logout(token or "")


@router.get(P + "/me", response_model=AccountOut)
def me(service: Service, user: User) -> AccountOut:
    return service.me(user)


@router.post(P + "/me/password", status_code=204)
def change_password(body: PasswordIn, service: Service, user: User) -> None:
    """Change your password (strong passwords only); all your sessions end."""
    service.change_password(user, body.current, body.new)


@router.post(P + "/me/terms", response_model=AccountOut)
def accept_terms(service: Service, user: User) -> AccountOut:
    """Accept the GA4GH Registered Access terms (needed for the registered tier)."""
    return service.accept_terms(user)


@router.post(P + "/researchers/{username}/verify", response_model=AccountOut)
def verify_researcher(
    username: str, service: Service, user: User, body: VerifyIn | None = None
) -> AccountOut:
    """Hub admin: vouch for a bona fide researcher (ResearcherStatus visa; registered tier)."""
    return service.verify_researcher(user, username, days=body.days if body else 365)


@router.post(P + "/members", response_model=AccountOut)
def add_member(body: MemberIn, service: Service, user: User) -> AccountOut:
    """Hub admin: make an account a DAC member of a dataset or a committee."""
    return service.add_member(user, body.username, dataset=body.dataset, committee=body.committee)


# -- datasets ------------------------------------------------------------------------
@router.put(P + "/datasets", response_model=DatasetOut)
def register_dataset(body: DatasetIn, service: Service, user: User) -> DatasetOut:
    """Hub admin: record a dataset's URL, DUO terms and committee with the DAC."""
    return service.register_dataset(user, body)


@router.get(P + "/datasets", response_model=list[DatasetOut])
def list_datasets(service: Service) -> list[DatasetOut]:
    return service.datasets()


# -- applications --------------------------------------------------------------------
@router.post(P + "/applications", status_code=201, response_model=ApplicationOut)
def apply(body: ApplicationIn, service: Service, user: User) -> ApplicationOut:
    """Start an application (a draft, or submitted at once with `submit: true`)."""
    return service.apply(user, body)


@router.get(P + "/applications", response_model=list[ApplicationOut])
def list_applications(
    service: Service,
    user: User,
    state: Annotated[str | None, Query()] = None,
    mine: Annotated[bool, Query()] = False,
) -> list[ApplicationOut]:
    """Applications you may see: your own, those you decide as DAC member, all for admins."""
    return service.list_applications(user, state=state, mine=mine)


@router.get(P + "/applications/{application_id}", response_model=ApplicationOut)
def show_application(application_id: AppId, service: Service, user: User) -> ApplicationOut:
    return service.show(user, application_id)


@router.get(P + "/applications/{application_id}/events", response_model=list[EventOut])
def application_events(application_id: AppId, service: Service, user: User) -> list[EventOut]:
    """The full history: who did what, when, with which comment."""
    return service.show(user, application_id).events


@router.patch(P + "/applications/{application_id}", response_model=ApplicationOut)
def edit_application(
    application_id: AppId, body: ApplicationEdit, service: Service, user: User
) -> ApplicationOut:
    return service.edit(user, application_id, body)


@router.post(P + "/applications/{application_id}/submit", response_model=ApplicationOut)
def submit_application(
    application_id: AppId, service: Service, user: User, body: CommentIn | None = None
) -> ApplicationOut:
    return service.submit(user, application_id, comment=body.comment if body else "")


@router.post(P + "/applications/{application_id}/decision", response_model=ApplicationOut)
def decide(application_id: AppId, body: DecisionIn, service: Service, user: User) -> ApplicationOut:
    """A DAC member of every dataset of the application approves, rejects or asks for changes."""
    return service.decide(
        user, application_id, body.decision, comment=body.comment, until=body.until
    )


@router.post(P + "/applications/{application_id}/revoke", response_model=ApplicationOut)
def revoke(application_id: AppId, body: ReasonIn, service: Service, user: User) -> ApplicationOut:
    return service.revoke(user, application_id, reason=body.reason)


@router.post(
    P + "/applications/{application_id}/renew", status_code=201, response_model=ApplicationOut
)
def renew(
    application_id: AppId, service: Service, user: User, body: CommentIn | None = None
) -> ApplicationOut:
    return service.renew(user, application_id, comment=body.comment if body else "")


# -- passport ------------------------------------------------------------------------
@router.get("/passport", response_model=PassportOut, include_in_schema=False)
@router.get(P + "/passport", response_model=PassportOut)
def passport(
    service: Service,
    user: User,
    application: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    audience: Annotated[str | None, Query()] = None,
) -> JSONResponse:
    """A signed GA4GH passport with your current visas (expired and revoked ones left out)."""
    out = service.passport(user, application_id=application, audience=audience)
    return JSONResponse(out.model_dump(mode="json"), headers=NO_STORE)


# -- notifications -------------------------------------------------------------------
@router.post("/notifications", status_code=202, include_in_schema=False)
@router.post(P + "/notifications", status_code=202)
def receive_notification(
    request: Request, service: Service, token: Token, body: Annotated[Any, Body()] = None
) -> dict[str, int]:
    """A node reports a withdrawal; see genomesh.hub.dac.notifications for authentication.
    Analysis tasks it names in `stale_tasks` are marked stale (genomesh.hub.analysis.stale)."""
    nonces = getattr(request.app.state, "dac_nonces", None)
    if nonces is None:
        from genomesh.hub.signing import NonceCache

        nonces = request.app.state.dac_nonces = NonceCache(
            service.settings.dialout_max_skew_seconds
        )
    try:
        stored = service.receive_notification(body, bearer=token, nonces=nonces)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error.get("loc", ()))
        raise InvalidInputError(f"bad notification: {error.get('msg')}", field=field) from exc
    # authenticated: the analyses it names as having used the participant's data are stale
    from genomesh.hub.analysis.stale import mark_from_notice

    marked = mark_from_notice(request.app, body)
    named = "stale_tasks" in (body.get("payload") if "sig" in body else body)
    return {"stored": stored, "stale_tasks": len(marked)} if named else {"stored": stored}


@router.get("/me/notifications", response_model=list[NotificationOut], include_in_schema=False)
@router.get(P + "/me/notifications", response_model=list[NotificationOut])
def my_notifications(
    service: Service,
    user: User,
    unread: Annotated[bool, Query()] = False,
    mark_read: Annotated[bool, Query()] = False,
) -> list[NotificationOut]:
    """Withdrawal notifications addressed to you, newest first."""
    return service.notifications(user, unread_only=unread, mark_read=mark_read)


@router.post(P + "/nodes/{node}/secret", response_model=NodeSecretOut)
def node_secret(node: str, service: Service, user: User) -> JSONResponse:
    """Hub admin: issue (or replace) the shared secret a node uses for notifications."""
    secret = service.issue_node_secret(user, node)
    return JSONResponse({"node": node, "secret": secret}, headers=NO_STORE)


def error_response(exc: GenomeshError) -> JSONResponse:
    """A GenomeshError as a JSON error body with its HTTP status (and its headers, if any)."""
    headers = getattr(exc, "headers", None)
    return JSONResponse(exc.to_dict(), status_code=exc.http_status, headers=headers)


def build_dac_app(settings: HubSettings, **options: Any) -> FastAPI:
    """A FastAPI app with only the DAC (standalone use and tests before the full hub)."""
    app = FastAPI(title="genomesh DAC")
    app.state.settings = settings
    install_dac(app, settings, **options)
    app.add_middleware(BodySizeLimit, limit=settings.max_request_bytes, server="this hub")

    @app.exception_handler(GenomeshError)
    async def _genomesh_error(_request: Request, exc: GenomeshError) -> JSONResponse:
        return error_response(exc)

    return app


__all__ = ["build_dac_app", "error_response", "get_service", "install_dac", "router"]
