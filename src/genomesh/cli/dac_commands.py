"""`genomesh dac ...`: accounts, applications, decisions, passports and notifications.

Every command except `create-admin` talks to the hub over HTTP (`--hub URL`, env
`GENOMESH_HUB_URL`) through genomesh.cli.dac_session: `login` caches the session token per
hub in `$XDG_CONFIG_HOME/genomesh/dac-tokens.json` (default ~/.config, mode 0600); `--token`
(env `GENOMESH_DAC_TOKEN`) overrides it. `create-admin` works on the hub's database
directly, for bootstrapping a hub that has no admin yet.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from genomesh.cli.apps import dac_app
from genomesh.cli.dac_session import call, console, print_json, save_token, session_token
from genomesh.cli.layout import print_rows
from genomesh.cli.passwords import read_password
from genomesh.cli.query_commands import escape
from genomesh.core import errors
from genomesh.core.errors import InvalidInputError


def utc_text(value: Any) -> str:
    """A time as ISO 8601 UTC with its zone (`2026-11-23T08:03:00Z`), from epoch seconds or
    an ISO string; "-" for none. Every time the DAC CLI prints goes through this."""
    if value is None or value == "":
        return "-"
    if isinstance(value, int | float):
        moment = datetime.fromtimestamp(value, UTC)
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return str(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


DEFAULT_HUB = "http://127.0.0.1:8000"
HubOpt = Annotated[str, typer.Option("--hub", envvar="GENOMESH_HUB_URL", help="hub base URL")]
TokenOpt = Annotated[
    str | None, typer.Option("--token", envvar="GENOMESH_DAC_TOKEN", help="session token")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print the raw JSON")]
PasswordOpt = Annotated[
    str | None,
    typer.Option(
        envvar="GENOMESH_DAC_PASSWORD",
        help="the password (else asked on the terminal, else read from standard input)",
    ),
]


# -- rendering -----------------------------------------------------------------------------
def _print_applications(apps: list[dict[str, Any]]) -> None:
    print_rows(
        console,
        ["id", "state", "applicant", "title", "datasets", "pre-check", "until"],
        [
            [
                str(app["id"]),
                app["state"],
                app["applicant"],
                app["title"],
                "\n".join(app["datasets"]),
                (app.get("precheck") or {}).get("decision", "-"),
                utc_text(app.get("approved_until")),
            ]
            for app in apps
        ],
        title="applications",
        keep=["id", "state", "applicant", "datasets", "pre-check", "until"],
    )


def _show_application(app: dict[str, Any]) -> None:
    console.print(
        f"[bold]application {app['id']}[/]: {escape(app['title'])}  [bold]{app['state']}[/]"
    )
    console.print(escape(f"applicant {app['applicant']} ({app['applicant_subject']})"))
    purpose = {k: v for k, v in app["purpose"].items() if v not in (None, False, [], ())}
    console.print(escape(f"purpose {json.dumps(purpose)}"))
    if app.get("approved_until"):
        console.print(f"approved until {app['approved_until']}")
    if app.get("review_route"):
        console.print(escape(f"review: {app['review_route']}"))
        for reason in app.get("review_reasons") or []:
            console.print(escape(f"  - {reason}"))
    for decision in app.get("communities") or []:
        console.print(escape(f"community {decision['community']}: {decision['state']}"))
    precheck = app.get("precheck")
    if precheck:
        rows = []
        for result in precheck["datasets"]:
            reasons = result["reasons"] or [{"term": "-", "decision": "-", "reason": "-"}]
            for i, reason in enumerate(reasons):
                term = reason["term"]
                term_text = term.get("id", str(term)) if isinstance(term, dict) else str(term)
                rows.append(
                    [
                        result["dataset"] if i == 0 else "",
                        result["decision"] if i == 0 else "",
                        term_text,
                        reason["decision"],
                        reason["reason"],
                    ]
                )
        print_rows(
            console,
            ["dataset", "decision", "term", "term decision", "reason"],
            rows,
            title=f"automatic pre-check: {precheck['decision']}",
            keep=["dataset", "decision", "term", "term decision"],
        )
    print_rows(
        console,
        ["when", "who", "action", "state", "comment"],
        [
            [
                utc_text(event["at"]),
                event["actor"],
                event["action"],
                f"{event['from_state'] or '-'} → {event['to_state']}",
                event["comment"],
            ]
            for event in app["events"]
        ],
        title="history",
        keep=["when", "who", "action", "state"],
    )
    if app.get("visas"):
        print_rows(  # a visa's value is an id (a dataset URL): whole, never cut
            console,
            ["type", "value", "expires", "revoked"],
            [
                [v["type"], v["value"], utc_text(v["expires_at"]), str(v["revoked"])]
                for v in app["visas"]
            ],
            title="visas",
            keep=["type", "value", "expires", "revoked"],
        )


# -- commands ----------------------------------------------------------------------------
@dac_app.command("register")
def register(
    username: str,
    hub: HubOpt = DEFAULT_HUB,
    password: PasswordOpt = None,
    full_name: str = "",
    email: str = "",
    institution: str = "",
    role: Annotated[str, typer.Option(help="faculty, student, member or ns.role")] = "member",
    country: Annotated[str | None, typer.Option(help="ISO 3166-1 alpha-2")] = None,
    accept_terms: Annotated[
        bool, typer.Option(help="accept the GA4GH Registered Access terms (registered tier)")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a researcher account at the hub.

    The password: --password or $GENOMESH_DAC_PASSWORD, else asked on the terminal (twice),
    else one line of standard input. At least 12 characters, at least 5 different ones, not a
    common password, not containing the username."""
    password = read_password(password, new=True, username=username)
    body = {
        "username": username, "password": password, "full_name": full_name, "email": email,
        "institution": institution, "affiliation_role": role, "country": country,
        "accept_terms": accept_terms,
    }  # fmt: skip
    account = call(hub, "POST", "/dac/register", json_body=body)
    if as_json:
        print_json(account)
    else:
        console.print(f"registered [bold]{escape(account['username'])}[/] ({account['subject']})")


@dac_app.command("login")
def login(
    username: str,
    hub: HubOpt = DEFAULT_HUB,
    password: PasswordOpt = None,
) -> None:
    """Log in; the session token is cached for later commands."""
    password = read_password(password)
    out = call(hub, "POST", "/dac/login", json_body={"username": username, "password": password})
    save_token(hub, out["token"])
    console.print(
        f"logged in as [bold]{escape(out['username'])}[/] ({out['role']}) until "
        f"{utc_text(out['expires_at'])}"
    )


@dac_app.command("passwd")
def passwd(
    hub: HubOpt = DEFAULT_HUB,
    token: TokenOpt = None,
    current: Annotated[str | None, typer.Option(envvar="GENOMESH_DAC_PASSWORD")] = None,
    new: Annotated[str | None, typer.Option(envvar="GENOMESH_DAC_NEW_PASSWORD")] = None,
) -> None:
    """Change your password (all your sessions end; log in again)."""
    current = read_password(current, option="--current", prompt="current password")
    new = read_password(
        new, option="--new", env="GENOMESH_DAC_NEW_PASSWORD", prompt="new password", new=True
    )
    call(
        hub, "POST", "/dac/me/password", token=session_token(hub, token),
        json_body={"current": current, "new": new},
    )  # fmt: skip
    save_token(hub, None)
    console.print("password changed; log in again")


@dac_app.command("logout")
def logout(hub: HubOpt = DEFAULT_HUB, token: TokenOpt = None) -> None:
    """End the session and forget the cached token."""
    call(hub, "POST", "/dac/logout", token=session_token(hub, token))
    save_token(hub, None)
    console.print("logged out")


def _purpose(
    category: str,
    diseases: list[str],
    purpose_file: Path | None,
    extra: dict[str, Any],
) -> dict[str, Any]:
    if purpose_file is not None:
        try:
            data = json.loads(purpose_file.read_text())
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"cannot read purpose: {exc}", file=str(purpose_file)) from exc
        if not isinstance(data, dict):
            raise InvalidInputError("purpose file must hold a JSON object", file=str(purpose_file))
        return data
    purpose: dict[str, Any] = {"category": category, "diseases": diseases}
    purpose.update({k: v for k, v in extra.items() if v is not None})
    return purpose


def _documents(items: list[str]) -> list[dict[str, str]]:
    docs = []
    for item in items:
        kind, sep, ref = item.partition("=")
        if not sep or not kind or not ref:
            raise InvalidInputError(f"document {item!r}: use KIND=REFERENCE", field="document")
        docs.append({"kind": kind, "reference": ref})
    return docs


def _ask_will_publish(given: bool | None) -> bool:
    """A commitment the DAC checks (DUO publication terms): stated, never assumed."""
    import sys

    if given is not None:
        return given
    if sys.stdin is not None and sys.stdin.isatty():
        return typer.confirm(
            "Will you publish the results of this work? (some datasets require it)"
        )
    raise InvalidInputError(
        "say whether you will publish the results: --will-publish or --no-will-publish "
        "(some datasets require publication; it is recorded in your application)",
        field="--will-publish",
    )


@dac_app.command("apply")
def apply(
    title: Annotated[str, typer.Option(help="project title")],
    dataset: Annotated[list[str], typer.Option(help="NODE/DATASET_ID or dataset URL; repeat")],
    hub: HubOpt = DEFAULT_HUB,
    token: TokenOpt = None,
    summary: str = "",
    lay_summary: Annotated[
        str, typer.Option(help="the project in plain language (public data-use register)")
    ] = "",
    aggregates_only: Annotated[
        bool,
        typer.Option(help="only aggregates wanted (may be auto-approved; nodes cap at counts)"),
    ] = False,
    category: Annotated[
        str,
        typer.Option(
            help="general, health_medical, disease_specific, population_ancestry, methods_development"
        ),
    ] = "health_medical",
    disease: Annotated[
        list[str] | None, typer.Option(help="disease id (MONDO:...); repeat")
    ] = None,
    purpose_file: Annotated[Path | None, typer.Option(help="ResearchPurpose as JSON")] = None,
    commercial: bool = False,
    ethics: Annotated[str | None, typer.Option(help="ethics approval reference")] = None,
    project: Annotated[str | None, typer.Option(help="project id")] = None,
    institution: str | None = None,
    country: str | None = None,
    document: Annotated[list[str] | None, typer.Option(help="KIND=REFERENCE; repeat")] = None,
    accept_terms: Annotated[bool, typer.Option(help="accept the datasets' terms of use")] = False,
    draft: Annotated[bool, typer.Option(help="keep as a draft instead of submitting")] = False,
    will_publish: Annotated[
        bool | None,
        typer.Option(
            "--will-publish/--no-will-publish",
            help="whether you will publish the results (some datasets require it, DUO:0000019; "
            "asked on a terminal when not given)",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Apply for access to datasets with a structured research purpose."""
    from genomesh.hub.dac.datasets import DatasetRef

    refs = [DatasetRef.parse(d).model_dump(exclude_none=True) for d in dataset]
    extra = {
        "commercial": commercial or None, "ethics_approval": ethics, "project_id": project,
        "institution": institution, "country": country, "aggregates_only": aggregates_only or None,
    }  # fmt: skip
    purpose = _purpose(category, list(disease or []), purpose_file, extra)
    if "will_publish" not in purpose or will_publish is not None:
        purpose["will_publish"] = _ask_will_publish(will_publish)
    body = {
        "title": title,
        "summary": summary,
        "lay_summary": lay_summary,
        "datasets": refs,
        "purpose": purpose,
        "documents": _documents(list(document or [])),
        "accepted_terms": accept_terms,
        "submit": not draft,
    }
    app = call(hub, "POST", "/dac/applications", token=session_token(hub, token), json_body=body)
    if as_json:
        print_json(app)
    else:
        _show_application(app)


@dac_app.command("submit")
def submit(
    application: int, hub: HubOpt = DEFAULT_HUB, token: TokenOpt = None, comment: str = ""
) -> None:
    """Submit a draft (or an application sent back for changes)."""
    app = call(
        hub, "POST", f"/dac/applications/{application}/submit",
        token=session_token(hub, token), json_body={"comment": comment},
    )  # fmt: skip
    _show_application(app)


@dac_app.command("show")
def show(
    application: int, hub: HubOpt = DEFAULT_HUB, token: TokenOpt = None, as_json: JsonOpt = False
) -> None:
    """An application with its pre-check, full history and visas."""
    app = call(hub, "GET", f"/dac/applications/{application}", token=session_token(hub, token))
    if as_json:
        print_json(app)
    else:
        _show_application(app)


@dac_app.command("list")
def list_applications(
    hub: HubOpt = DEFAULT_HUB,
    token: TokenOpt = None,
    state: Annotated[str | None, typer.Option(help="only this state")] = None,
    mine: Annotated[bool, typer.Option(help="only my own applications")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Applications you may see (own; to decide as DAC member; all as admin)."""
    apps = call(
        hub, "GET", "/dac/applications", token=session_token(hub, token),
        params={"state": state, "mine": str(mine).lower()},
    )  # fmt: skip
    if as_json:
        print_json(apps)
    else:
        _print_applications(apps)


@dac_app.command("decide")
def decide(
    application: int,
    decision: Annotated[str, typer.Argument(help="approve, reject or request_changes")],
    hub: HubOpt = DEFAULT_HUB,
    token: TokenOpt = None,
    until: Annotated[
        str | None, typer.Option(help="approval end: YYYY-MM-DD or ISO datetime")
    ] = None,
    comment: Annotated[
        str, typer.Option(help="reason (required to reject / ask for changes)")
    ] = "",
    as_json: JsonOpt = False,
) -> None:
    """Decide an application as a DAC member of its datasets."""
    decision = decision.replace("-", "_")
    if decision not in ("approve", "reject", "request_changes"):
        raise InvalidInputError(
            f"decision {decision!r}: use approve, reject or request_changes", field="decision"
        )
    if until is not None:
        try:
            date.fromisoformat(until) if len(until) == 10 else None
        except ValueError as exc:
            raise InvalidInputError(f"bad date {until!r}", field="until") from exc
    body = {"decision": decision, "comment": comment, "until": until}
    app = call(
        hub, "POST", f"/dac/applications/{application}/decision",
        token=session_token(hub, token), json_body=body,
    )  # fmt: skip
    if as_json:
        print_json(app)
    else:
        _show_application(app)


@dac_app.command("revoke")
def revoke(
    application: int,
    reason: Annotated[str, typer.Option(help="why access is withdrawn")],
    hub: HubOpt = DEFAULT_HUB,
    token: TokenOpt = None,
) -> None:
    """Revoke an approval; its visas go on the revocation list."""
    app = call(
        hub, "POST", f"/dac/applications/{application}/revoke",
        token=session_token(hub, token), json_body={"reason": reason},
    )  # fmt: skip
    console.print(f"application {app['id']} is now [bold]{app['state']}[/]")


@dac_app.command("renew")
def renew(
    application: int, hub: HubOpt = DEFAULT_HUB, token: TokenOpt = None, comment: str = ""
) -> None:
    """Ask for a renewal (a new application with the same datasets and purpose)."""
    app = call(
        hub, "POST", f"/dac/applications/{application}/renew",
        token=session_token(hub, token), json_body={"comment": comment},
    )  # fmt: skip
    console.print(f"renewal submitted as application [bold]{app['id']}[/] ({app['state']})")


def node_passport_audience(hub: str, node: str) -> str:
    """The audience a registered node expects of passports (`GET /nodes/{node}`)."""
    listed = call(hub, "GET", f"/nodes/{node}")
    audience = listed.get("passport_audience") if isinstance(listed, dict) else None
    if not isinstance(audience, str) or not audience:
        raise errors.UpstreamError(f"the hub at {hub} does not say node {node!r}'s audience")
    return audience


@dac_app.command("passport")
def passport(
    hub: HubOpt = DEFAULT_HUB,
    token: TokenOpt = None,
    application: Annotated[int | None, typer.Option(help="only this application's visas")] = None,
    audience: Annotated[
        str | None, typer.Option(help="the `aud` to ask for (default: the hub's own)")
    ] = None,
    node: Annotated[
        str | None,
        typer.Option(
            "--node", help="a passport for this registered node only, to query it directly"
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write the JWT here")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Get a signed GA4GH passport with your current visas (prints the JWT).

    By default it is for the hub (`genomesh query ...`: the hub sends each node a passport of
    its own). With --node NAME it is for that node alone (its audience as the hub's registry
    gives it), to talk to the node directly (curl, scripts); no other node accepts it."""
    if node is not None:
        if audience is not None:
            raise errors.InvalidInputError("give --node or --audience, not both", field="--node")
        audience = node_passport_audience(hub, node)
    out = call(
        hub, "GET", "/dac/passport", token=session_token(hub, token),
        params={"application": application, "audience": audience},
    )  # fmt: skip
    if output is not None:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(out["passport"])
    if as_json:
        print_json(out)
    elif output is not None:
        print_rows(
            console,
            ["type", "value", "expires"],
            [[v["type"], v["value"], utc_text(v.get("exp"))] for v in out["visas"]],
            title=f"passport written to {output} (expires {utc_text(out['expires_at'])})",
            keep=["type", "value", "expires"],
        )
    else:
        print(out["passport"])


@dac_app.command("notifications")
def notifications(
    hub: HubOpt = DEFAULT_HUB,
    token: TokenOpt = None,
    unread: Annotated[bool, typer.Option(help="only unread ones")] = False,
    mark_read: Annotated[bool, typer.Option(help="mark them read")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Withdrawal notifications from nodes addressed to you."""
    rows = call(
        hub, "GET", "/dac/me/notifications", token=session_token(hub, token),
        params={"unread": str(unread).lower(), "mark_read": str(mark_read).lower()},
    )  # fmt: skip
    if as_json:
        print_json(rows)
        return
    print_rows(  # one block per notice at 80 columns: the message is the point
        console,
        ["participant", "node", "dataset", "withdrawn", "received", "read", "message"],
        [
            [
                row["individual_pseudonym"],
                row["node"],
                row["dataset_id"],
                utc_text(row["withdrawn_at"]),
                utc_text(row["received_at"]),
                "yes" if row["read"] else "no",
                row["message"],
            ]
            for row in rows
        ],
        title=f"withdrawal notifications ({len(rows)})",
        keep=["participant", "node", "dataset", "withdrawn", "received", "read"],
    )


@dac_app.command("add-member")
def add_member(
    username: str,
    hub: HubOpt = DEFAULT_HUB,
    token: TokenOpt = None,
    dataset: Annotated[str | None, typer.Option(help="NODE/DATASET_ID or dataset URL")] = None,
    committee: Annotated[str | None, typer.Option(help="committee name")] = None,
) -> None:
    """Hub admin: make an account a DAC member of a dataset or a committee."""
    from genomesh.hub.dac.datasets import DatasetRef

    body = {
        "username": username,
        "dataset": DatasetRef.parse(dataset).model_dump(exclude_none=True) if dataset else None,
        "committee": committee,
    }
    out = call(hub, "POST", "/dac/members", token=session_token(hub, token), json_body=body)
    # committee names and dataset URLs are other people's text: printed literally (QA F28)
    console.print(escape(f"{out['username']} is a DAC member of: " + ", ".join(
        m["dataset"] or f"committee {m['committee']}" for m in out["memberships"]
    )))  # fmt: skip


@dac_app.command("accept-terms")
def accept_terms(hub: HubOpt = DEFAULT_HUB, token: TokenOpt = None) -> None:
    """Accept the GA4GH Registered Access terms (needed for the registered tier)."""
    out = call(hub, "POST", "/dac/me/terms", token=session_token(hub, token))
    console.print(
        escape(
            f"{out['username']} accepted the Registered Access terms at {out['accepted_terms_at']}"
        )
    )


@dac_app.command("verify")
def verify(
    username: str,
    hub: HubOpt = DEFAULT_HUB,
    token: TokenOpt = None,
    days: Annotated[int, typer.Option(help="how long the status is vouched for")] = 365,
) -> None:
    """Hub admin: vouch for a bona fide researcher (ResearcherStatus visa, registered tier)."""
    out = call(
        hub, "POST", f"/dac/researchers/{username}/verify", token=session_token(hub, token),
        json_body={"days": days},
    )  # fmt: skip
    console.print(
        escape(f"{out['username']} verified by {out['verified_by']} at {out['verified_at']}")
    )


@dac_app.command("add-dataset")
def add_dataset(
    node: str,
    dataset_id: str,
    hub: HubOpt = DEFAULT_HUB,
    token: TokenOpt = None,
    base_url: Annotated[str | None, typer.Option(help="the node's base URL")] = None,
    url: Annotated[
        str | None, typer.Option(help="the dataset URL (default base/datasets/id)")
    ] = None,
    duo: Annotated[Path | None, typer.Option(help="JSON list of DataUseTerm")] = None,
    terms_url: str | None = None,
    committee: str | None = None,
    jurisdiction: Annotated[str | None, typer.Option(help="ISO country of the node")] = None,
    review_policy: Annotated[
        Path | None, typer.Option(help='JSON review policy, e.g. {"automatic": {...}}')
    ] = None,
) -> None:
    """Hub admin: register a dataset (URL, DUO terms, committee, review policy) with the DAC."""
    policy = None
    if review_policy is not None:
        try:
            policy = json.loads(review_policy.read_text())
        except (OSError, ValueError) as exc:
            raise InvalidInputError(
                f"cannot read the review policy: {exc}", file=str(review_policy)
            ) from exc
    terms: list[Any] = []
    if duo is not None:
        try:
            terms = json.loads(duo.read_text())
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"cannot read DUO terms: {exc}", file=str(duo)) from exc
    body = {
        "node": node, "dataset_id": dataset_id, "base_url": base_url, "url": url, "duo": terms,
        "terms_url": terms_url, "committee": committee, "jurisdiction": jurisdiction,
        "review_policy": policy,
    }  # fmt: skip
    out = call(hub, "PUT", "/dac/datasets", token=session_token(hub, token), json_body=body)
    console.print(escape(f"dataset {out['url']} registered ({len(out['duo'])} DUO terms)"))


@dac_app.command("node-secret")
def node_secret(node: str, hub: HubOpt = DEFAULT_HUB, token: TokenOpt = None) -> None:
    """Hub admin: issue the shared secret a node uses to send withdrawal notifications."""
    out = call(hub, "POST", f"/dac/nodes/{node}/secret", token=session_token(hub, token))
    console.print(escape(f"secret for node {out['node']} (shown once):"))
    print(out["secret"])


@dac_app.command("create-admin")
def create_admin(
    username: Annotated[str, typer.Option(help="admin username")] = "admin",
    hub_dir: Annotated[Path, typer.Option("--hub-dir", "--dir", help="the hub folder")] = Path(
        "hub"
    ),
    state_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL of the hub database")
    ] = None,
    password: PasswordOpt = None,
) -> None:
    """Create the hub admin account directly in the hub database (bootstrap)."""
    from genomesh.core.settings import HubSettings
    from genomesh.hub.dac.service import DacService

    password = read_password(password, prompt="admin password", new=True, username=username)
    settings = HubSettings(hub_dir=hub_dir, state_url=state_url, admin_password=None)
    account = DacService(settings).ensure_admin(username, password)
    console.print(f"admin account [bold]{escape(account.username)}[/] ready")
