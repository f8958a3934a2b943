"""`DacClient`: the DAC's HTTP API from Python (what `genomesh dac ...` uses).

    from genomesh.hub.dac.client import DacClient

    with DacClient("https://hub.example.org") as dac:
        dac.login("rita", password)
        app = dac.apply(title="Cardio GWAS", datasets=["nl-node/cohort1"],
                        purpose={"category": "health_medical"}, accepted_terms=True)
        token = dac.passport()["passport"]

An error answer becomes the GenomeshError of its status (400 InvalidInputError, 401
AuthenticationError, 403 AccessDeniedError, 404 NotFoundError, 409 ConflictError ...), with the
hub's message. The transport is injectable (`transport=httpx.MockTransport(...)` or an ASGI
transport in tests).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import httpx

from genomesh.core import errors
from genomesh.core.errors import GenomeshError, UpstreamError
from genomesh.hub.dac.datasets import DatasetRef

STATUS_ERRORS: dict[int, type[GenomeshError]] = {
    400: errors.InvalidInputError,
    401: errors.AuthenticationError,
    403: errors.AccessDeniedError,
    404: errors.NotFoundError,
    409: errors.ConflictError,
    413: errors.RequestTooLargeError,
    422: errors.InvalidInputError,
    429: errors.BudgetExhaustedError,
}


def error_message(response: httpx.Response) -> str:
    """The hub's error message (Beacon error body, genomesh error body, or FastAPI detail)."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            return str(err.get("errorMessage") or err)
        if isinstance(body.get("message"), str):
            return str(body["message"])
        if "detail" in body:
            return json.dumps(body["detail"])
    return str(body)[:300]


def _ref(dataset: str | DatasetRef | dict[str, str]) -> dict[str, str]:
    if isinstance(dataset, DatasetRef):
        return dataset.model_dump(exclude_none=True)
    if isinstance(dataset, dict):
        return dataset
    return DatasetRef.parse(dataset).model_dump(exclude_none=True)


class DacClient:
    """A session with one hub's DAC (bearer token kept on the client)."""

    def __init__(
        self,
        hub: str,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.hub = hub.rstrip("/")
        self.token = token
        self._http = httpx.Client(base_url=self.hub, timeout=timeout, transport=transport)

    def __enter__(self) -> DacClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(
        self, method: str, path: str, *, json_body: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        """One call; an error answer raises the matching GenomeshError."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        query = {
            k: (str(v).lower() if isinstance(v, bool) else v) for k, v in (params or {}).items()
        }
        try:
            response = self._http.request(
                method,
                path,
                json=json_body,
                params={k: v for k, v in query.items() if v is not None},
                headers=headers,
            )
        except httpx.HTTPError as exc:
            raise UpstreamError(f"cannot reach the hub at {self.hub}: {exc}") from exc
        if response.status_code >= 400:
            cls = STATUS_ERRORS.get(response.status_code, UpstreamError)
            raise cls(f"hub answered {response.status_code}: {error_message(response)}")
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    # -- accounts -------------------------------------------------------------------------
    def register(self, username: str, password: str, **fields: Any) -> dict[str, Any]:
        return self.request(
            "POST",
            "/dac/register",
            json_body={"username": username, "password": password, **fields},
        )

    def login(self, username: str, password: str) -> dict[str, Any]:
        """Log in; the client keeps the session token."""
        out = self.request(
            "POST", "/dac/login", json_body={"username": username, "password": password}
        )
        self.token = out["token"]
        return out

    def logout(self) -> None:
        self.request("POST", "/dac/logout")
        self.token = None

    def me(self) -> dict[str, Any]:
        return self.request("GET", "/dac/me")

    def accept_terms(self) -> dict[str, Any]:
        return self.request("POST", "/dac/me/terms")

    def verify(self, username: str, *, days: int = 365) -> dict[str, Any]:
        return self.request("POST", f"/dac/researchers/{username}/verify", json_body={"days": days})

    def add_member(
        self,
        username: str,
        *,
        dataset: str | DatasetRef | None = None,
        committee: str | None = None,
    ) -> dict[str, Any]:
        body = {
            "username": username,
            "dataset": _ref(dataset) if dataset is not None else None,
            "committee": committee,
        }
        return self.request("POST", "/dac/members", json_body=body)

    def add_dataset(self, node: str, dataset_id: str, **fields: Any) -> dict[str, Any]:
        body = {"node": node, "dataset_id": dataset_id, **fields}
        return self.request("PUT", "/dac/datasets", json_body=body)

    def node_secret(self, node: str) -> str:
        return str(self.request("POST", f"/dac/nodes/{node}/secret")["secret"])

    # -- applications ---------------------------------------------------------------------
    def apply(
        self,
        *,
        title: str,
        datasets: Sequence[str | DatasetRef | dict[str, str]],
        purpose: dict[str, Any],
        summary: str = "",
        documents: Sequence[dict[str, str]] = (),
        accepted_terms: bool = False,
        submit: bool = True,
    ) -> dict[str, Any]:
        body = {
            "title": title,
            "summary": summary,
            "datasets": [_ref(d) for d in datasets],
            "purpose": purpose,
            "documents": list(documents),
            "accepted_terms": accepted_terms,
            "submit": submit,
        }
        return self.request("POST", "/dac/applications", json_body=body)

    def submit(self, application: int, *, comment: str = "") -> dict[str, Any]:
        return self.request(
            "POST", f"/dac/applications/{application}/submit", json_body={"comment": comment}
        )

    def edit(self, application: int, **changes: Any) -> dict[str, Any]:
        if "datasets" in changes:
            changes["datasets"] = [_ref(d) for d in changes["datasets"]]
        return self.request("PATCH", f"/dac/applications/{application}", json_body=changes)

    def show(self, application: int) -> dict[str, Any]:
        return self.request("GET", f"/dac/applications/{application}")

    def applications(self, *, state: str | None = None, mine: bool = False) -> list[dict[str, Any]]:
        return self.request("GET", "/dac/applications", params={"state": state, "mine": mine})

    def decide(
        self, application: int, decision: str, *, until: str | None = None, comment: str = ""
    ) -> dict[str, Any]:
        body = {"decision": decision, "until": until, "comment": comment}
        return self.request("POST", f"/dac/applications/{application}/decision", json_body=body)

    def revoke(self, application: int, *, reason: str) -> dict[str, Any]:
        return self.request(
            "POST", f"/dac/applications/{application}/revoke", json_body={"reason": reason}
        )

    def renew(self, application: int, *, comment: str = "") -> dict[str, Any]:
        return self.request(
            "POST", f"/dac/applications/{application}/renew", json_body={"comment": comment}
        )

    # -- passport and notifications -------------------------------------------------------
    def passport(
        self, *, application: int | None = None, audience: str | None = None
    ) -> dict[str, Any]:
        """`{"passport": JWT, "expires_at": ..., "visas": [...]}`."""
        return self.request(
            "GET", "/dac/passport", params={"application": application, "audience": audience}
        )

    def notifications(
        self, *, unread: bool = False, mark_read: bool = False
    ) -> list[dict[str, Any]]:
        return self.request(
            "GET", "/dac/me/notifications", params={"unread": unread, "mark_read": mark_read}
        )


__all__ = ["STATUS_ERRORS", "DacClient", "error_message"]
