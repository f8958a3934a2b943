"""Test helpers for passports: a throw-away issuer that signs good and deliberately bad tokens.

`TestIssuer` is a real VisaIssuer with freshly generated keys (ES256 by default). Use it to
give a node settings that trust it and to sign passports for every tier:

    from genomesh.testing.passports import TestIssuer

    issuer = TestIssuer()                                  # iss "https://issuer.genomesh.test"
    settings = issuer.node_settings(node_dir=tmp_path)     # NodeSettings trusting its inline JWKS
    # or: NodeSettings(..., trusted_issuers=[issuer.trusted()])

    headers = {"Authorization": issuer.bearer()}                       # registered tier
    headers = {"Authorization": issuer.bearer(datasets=["ds1"])}       # controlled for ds1
    headers = {"Authorization": issuer.bearer(datasets=["ds1"], purpose=ResearchPurpose(...))}
    token = issuer.passport(registered=False)                          # valid, anonymous tier

Dataset ids are turned into the dataset URL `{node_base_url}/datasets/{id}` (the form the
hub issues; `node_base_url` defaults to NodeSettings' default base_url); pass a full URL to
use it verbatim.

Deliberately bad tokens (each should give an AuthenticationError, or a lower tier):

    issuer.bad_passport(kind, datasets=["ds1"])  # kind in BAD_PASSPORT_KINDS:
      "alg_none"          header alg "none", empty signature
      "wrong_key"         signed by another key under this issuer's kid
      "unknown_kid"       signed by another key under a kid nobody published
      "hs256_public_key"  HS256 with the issuer's public key (PEM) as the HMAC secret
      "expired"           exp an hour ago
      "not_yet_valid"     iat and nbf an hour ahead
      "wrong_audience"    aud "https://elsewhere.example"
      "no_exp"            no exp claim
      "tampered_passport" payload edited after signing (signature kept)
      "tampered_visa"     valid passport; the grant visa's payload edited (dataset swapped)
      "expired_visa"      valid passport; the grant visa expired an hour ago
      "garbage"           not a JWT at all
    Another `TestIssuer("https://untrusted.example")` signs passports of an untrusted issuer.

Revocation and key rotation need the issuer's HTTP endpoints; `serve()` runs the hub's
broker router (JWKS, metadata, revocation list) on a free 127.0.0.1 port in a thread:

    with issuer.serve() as base_url:
        settings = issuer.node_settings(remote=True)  # jwks_url + revocations_url, no inline keys
        grant = issuer.grant("ds1"); issuer.revoke(grant)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Literal

from fastapi import FastAPI

from genomesh.access.issuer import IssuedVisa, VisaIssuer
from genomesh.access.keys import KeyStore, SigningAlg, generate_key
from genomesh.access.revocation import InMemoryRevocationList
from genomesh.core.purpose import ResearchPurpose
from genomesh.core.settings import NodeSettings, TrustedIssuer

DEFAULT_ISSUER = "https://issuer.genomesh.test"
DEFAULT_SUBJECT = "researcher-1"
DEFAULT_NODE_URL = "http://127.0.0.1:8100"
# a node expects passports for its own audience, by default its base_url (QA F23)
DEFAULT_AUDIENCE = DEFAULT_NODE_URL
BAD_PASSPORT_KINDS = (
    "alg_none",
    "wrong_key",
    "unknown_kid",
    "hs256_public_key",
    "expired",
    "not_yet_valid",
    "wrong_audience",
    "no_exp",
    "tampered_passport",
    "tampered_visa",
    "expired_visa",
    "garbage",
)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def decode_part(segment: str) -> dict[str, Any]:
    """Decode a JWT header/payload segment (no checks)."""
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def replace_payload(token: str, **changes: Any) -> str:
    """The same JWT with payload claims changed but the old signature kept (tampering)."""
    header, payload, signature = token.split(".")
    claims = decode_part(payload)
    claims.update(changes)
    return f"{header}.{b64url_json(claims)}.{signature}"


class TestIssuer:
    """A visa issuer and passport broker for tests (see the module docstring)."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        issuer: str = DEFAULT_ISSUER,
        *,
        alg: SigningAlg = "ES256",
        audience: str | None = None,
        node_base_url: str = DEFAULT_NODE_URL,
        keys: KeyStore | None = None,
    ) -> None:
        self.iss = issuer
        self.keys = keys if keys is not None else KeyStore.ephemeral(alg=alg)
        self.issuer = VisaIssuer(self.keys, issuer=issuer)
        self.node_base_url = node_base_url.rstrip("/")
        self.audience = audience or self.node_base_url  # the node's own audience (QA F23)
        self.revocations = InMemoryRevocationList()
        self.base_url: str | None = None  # set while serve() runs

    # -- configuration for the node ------------------------------------------------------
    def trusted(self, *, remote: bool = False) -> TrustedIssuer:
        """This issuer as a node's TrustedIssuer: inline JWKS, or (remote) its served URLs."""
        if not remote:
            return TrustedIssuer(iss=self.iss, jwks=self.keys.jwks())
        if self.base_url is None:
            raise RuntimeError("remote=True needs the issuer running: use `with issuer.serve():`")
        return TrustedIssuer(
            iss=self.iss,
            jwks_url=f"{self.base_url}/.well-known/jwks.json",
            revocations_url=f"{self.base_url}/ga4gh/revocations",
        )

    def node_settings(self, *, remote: bool = False, **overrides: Any) -> NodeSettings:
        """NodeSettings trusting this issuer (audience and base_url matched)."""
        values: dict[str, Any] = {
            "audience": self.audience,
            "base_url": self.node_base_url,
            "trusted_issuers": [self.trusted(remote=remote)],
        }
        values.update(overrides)
        return NodeSettings(**values)

    def dataset_url(self, dataset: str) -> str:
        """`{node_base_url}/datasets/{id}`; a full URL is returned unchanged."""
        return dataset if "://" in dataset else f"{self.node_base_url}/datasets/{dataset}"

    # -- good visas and passports ---------------------------------------------------------
    def grant(self, dataset: str, *, subject: str = DEFAULT_SUBJECT, **options: Any) -> IssuedVisa:
        """A ControlledAccessGrants visa for a dataset id or URL (options go to VisaIssuer.visa)."""
        options.setdefault("expires", timedelta(days=30))
        return self.issuer.controlled_access_grant(
            subject, dataset_url=self.dataset_url(dataset), **options
        )

    def registered_visas(
        self, *, subject: str = DEFAULT_SUBJECT, **options: Any
    ) -> list[IssuedVisa]:
        """ResearcherStatus + AcceptedTermsAndPolicies (Registered Access)."""
        options.setdefault("expires", timedelta(days=30))
        return [
            self.issuer.researcher_status(subject, **options),
            self.issuer.accepted_terms(subject, **options),
        ]

    def purpose_visa(
        self, purpose: ResearchPurpose, *, subject: str = DEFAULT_SUBJECT, **options: Any
    ) -> IssuedVisa:
        options.setdefault("expires", timedelta(days=30))
        return self.issuer.research_purpose(subject, purpose=purpose, **options)

    def passport(
        self,
        *,
        subject: str = DEFAULT_SUBJECT,
        datasets: Sequence[str] = (),
        registered: bool = True,
        purpose: ResearchPurpose | None = None,
        visas: Sequence[str | IssuedVisa] = (),
        audience: str | None = None,
        lifetime: int = 3600,
        now: int | None = None,
    ) -> str:
        """A valid passport: registered visas (unless off), grants for `datasets`, purpose."""
        all_visas: list[str | IssuedVisa] = []
        if registered:
            all_visas += self.registered_visas(subject=subject)
        all_visas += [self.grant(d, subject=subject) for d in datasets]
        if purpose is not None:
            all_visas.append(self.purpose_visa(purpose, subject=subject))
        all_visas += list(visas)
        return self.issuer.passport(
            subject, all_visas, audience=audience or self.audience, lifetime=lifetime, now=now
        )

    def bearer(self, **options: Any) -> str:
        """`Bearer <passport>` for an Authorization header (options as for `passport`)."""
        return f"Bearer {self.passport(**options)}"

    # -- low-level signing ----------------------------------------------------------------
    def sign(self, claims: dict[str, Any], *, header: dict[str, Any] | None = None) -> str:
        """Sign arbitrary claims with the active key (nothing checked)."""
        return self.keys.sign(claims, header=header)

    def passport_claims(
        self,
        *,
        subject: str = DEFAULT_SUBJECT,
        now: int | None = None,
        visas: Sequence[str | IssuedVisa] = (),
    ) -> dict[str, Any]:
        """The claims of a good passport (edit them, then `sign` or `sign_with_other_key`)."""
        now = int(time.time()) if now is None else now
        return {
            "iss": self.iss,
            "sub": subject,
            "aud": self.audience,
            "iat": now,
            "exp": now + 3600,
            "jti": f"passport-{now}-{id(self)}",
            "ga4gh_passport_v1": [str(v) for v in visas],
        }

    def sign_with_other_key(self, claims: dict[str, Any], *, kid: str | None = None) -> str:
        """Sign with a fresh key of the same algorithm, under `kid` (default: the real kid)."""
        other = generate_key(self.keys.active_alg)
        header = {"typ": "JWT", "alg": self.keys.active_alg, "kid": kid or self.keys.active_kid}
        from joserfc import jwt

        return jwt.encode(header, claims, other, algorithms=[self.keys.active_alg])

    def unsigned(self, claims: dict[str, Any]) -> str:
        """An `alg: none` token (empty signature)."""
        return f"{b64url_json({'typ': 'JWT', 'alg': 'none'})}.{b64url_json(claims)}."

    def hs256_with_public_key(self, claims: dict[str, Any]) -> str:
        """HS256 "signed" with the public key PEM as secret (algorithm confusion attack)."""
        key = self.keys.private_key(self.keys.active_kid)
        secret = key.as_pem(private=False)
        head = b64url_json({"typ": "JWT", "alg": "HS256", "kid": self.keys.active_kid})
        signing_input = f"{head}.{b64url_json(claims)}"
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64url(mac)}"

    def bad_passport(self, kind: str, *, datasets: Sequence[str] = ("ds1",), **options: Any) -> str:
        """A deliberately bad passport of `kind` (see BAD_PASSPORT_KINDS)."""
        now = int(time.time())
        subject = options.pop("subject", DEFAULT_SUBJECT)
        visas: list[str | IssuedVisa] = [*self.registered_visas(subject=subject)]
        if kind == "tampered_visa":
            # a genuine grant for another dataset, edited to name the wanted one
            for dataset in datasets:
                genuine = str(self.grant("other-dataset", subject=subject))
                obj = decode_part(genuine.split(".")[1])["ga4gh_visa_v1"]
                obj["value"] = self.dataset_url(dataset)
                visas.append(replace_payload(genuine, ga4gh_visa_v1=obj))
        elif kind == "expired_visa":
            visas += [
                self.grant(d, subject=subject, now=now - 7200, expires=timedelta(hours=1))
                for d in datasets
            ]
        else:
            visas += [self.grant(d, subject=subject) for d in datasets]
        claims = self.passport_claims(subject=subject, now=now, visas=visas)
        if kind in ("tampered_visa", "expired_visa"):
            return self.sign(claims, header={"typ": "JWT"})
        if kind == "alg_none":
            return self.unsigned(claims)
        if kind == "wrong_key":
            return self.sign_with_other_key(claims)
        if kind == "unknown_kid":
            return self.sign_with_other_key(claims, kid="kid-nobody-published")
        if kind == "hs256_public_key":
            return self.hs256_with_public_key(claims)
        if kind == "expired":
            return self.sign({**claims, "iat": now - 7200, "exp": now - 3600})
        if kind == "not_yet_valid":
            return self.sign({**claims, "iat": now + 3600, "nbf": now + 3600, "exp": now + 7200})
        if kind == "wrong_audience":
            return self.sign({**claims, "aud": "https://elsewhere.example"})
        if kind == "no_exp":
            return self.sign({k: v for k, v in claims.items() if k != "exp"})
        if kind == "tampered_passport":
            return replace_payload(self.sign(claims), sub="someone-else")
        if kind == "garbage":
            return "this.is-not-a.jwt"
        raise ValueError(f"unknown bad passport kind {kind!r}; use one of {BAD_PASSPORT_KINDS}")

    # -- revocation, rotation, serving ----------------------------------------------------
    def revoke(self, token: IssuedVisa | str) -> str:
        """Put a visa (IssuedVisa, visa JWT or bare jti) on the served revocation list."""
        if isinstance(token, IssuedVisa):
            jti = token.jti
        elif token.count(".") == 2:
            jti = decode_part(token.split(".")[1])["jti"]
        else:
            jti = token
        self.revocations.revoke(jti)
        return jti

    def rotate(self) -> str:
        """Rotate the signing key (the old public key stays published); returns the new kid."""
        return self.keys.rotate()

    def broker_app(self) -> FastAPI:
        """A FastAPI app with the hub's broker router over this issuer's keys and list."""
        from genomesh.hub.broker import build_broker_router

        app = FastAPI()
        app.include_router(
            build_broker_router(
                self.keys, self.revocations, issuer=self.iss, base_url=self.base_url
            )
        )
        return app

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve the broker endpoints on a free 127.0.0.1 port; yields the base URL."""
        with serve_app(lambda base: self._bind(base)) as base_url:
            yield base_url
        self.base_url = None

    def _bind(self, base_url: str) -> FastAPI:
        self.base_url = base_url
        self.issuer.jku = f"{base_url}/.well-known/jwks.json"
        return self.broker_app()


@contextmanager
def serve_app(app_or_factory: Any, *, lifespan: Literal["on", "off"] = "off") -> Iterator[str]:
    """Run an ASGI app with uvicorn on a free 127.0.0.1 port in a thread; yields its base URL.

    `app_or_factory` is an app, or a callable taking the base URL and returning the app;
    `lifespan="on"` runs the app's startup/shutdown.
    """
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = app_or_factory(base_url) if not isinstance(app_or_factory, FastAPI) else app_or_factory
    config = uvicorn.Config(
        app, log_level="warning", lifespan=lifespan, ws="none", http="h11", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


__all__ = [
    "BAD_PASSPORT_KINDS",
    "DEFAULT_AUDIENCE",
    "DEFAULT_ISSUER",
    "DEFAULT_NODE_URL",
    "DEFAULT_SUBJECT",
    "TestIssuer",
    "b64url",
    "b64url_json",
    "decode_part",
    "replace_payload",
    "serve_app",
]
